//! Per-object rate limit of re-creations (`recreatePolicy: OnCloudDeletion`): a cloud that
//! keeps losing or failing instances must not make the controller create one after another.
//! In memory: after a restart the first re-creation of an object is not delayed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Recreations(Mutex<HashMap<String, Instant>>);

impl Recreations {
    /// How long `uid` must still wait before its next re-creation, if at all.
    pub fn wait(&self, uid: &str, interval: Duration) -> Option<Duration> {
        let m = self.0.lock().ok()?;
        let last = m.get(uid)?;
        interval
            .checked_sub(last.elapsed())
            .filter(|d| !d.is_zero())
    }

    /// A re-creation of `uid` happens now.
    pub fn record(&self, uid: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.retain(|_, t| t.elapsed() < Duration::from_secs(3600));
            m.insert(uid.to_owned(), Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_recreation_waits_for_the_interval() {
        let r = Recreations::default();
        let i = Duration::from_secs(60);
        assert_eq!(r.wait("a", i), None);
        r.record("a");
        let w = r.wait("a", i).expect("must wait");
        assert!(w > Duration::from_secs(59) && w <= i, "{w:?}");
        assert_eq!(r.wait("b", i), None, "per object");
        assert_eq!(r.wait("a", Duration::ZERO), None);
    }
}
