//! Panic containment. One object's reconcile (or one poll round) that panics must not take
//! the process down with it: every other namespace would stop being reconciled, and a
//! restart would replay the same input and panic again (a crash loop for everyone).
//! A contained panic becomes an error of that one object, with backoff.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;

/// Run `fut`; a panic inside it is caught and returned as its message.
pub async fn contain<T>(fut: impl Future<Output = T>) -> Result<T, String> {
    AssertUnwindSafe(fut)
        .catch_unwind()
        .await
        .map_err(|p| panic_message(p.as_ref()))
}

fn panic_message(p: &(dyn Any + Send)) -> String {
    let msg = if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-text payload".to_owned()
    };
    crate::text::clip(&msg, 512)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_an_error_and_the_caller_goes_on() {
        let r = contain(async {
            let s = String::from("实例");
            // a byte cut inside a multi-byte character: the panic this module contains
            let cut = 1 + s.len() % 2;
            s[..cut].to_owned()
        })
        .await;
        let e = r.unwrap_err();
        assert!(e.contains("char boundary"), "{e}");
        assert_eq!(contain(async { 7 }).await.unwrap(), 7);
    }
}
