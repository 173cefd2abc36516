//! Temporary (STS) credentials: a temporary key needs its session token in `X-TC-Token`;
//! without it, or with another one, `AuthFailure.TokenFailure` (CVM API reference "Common
//! Params" `Token` and "Common Error Codes"; see `tencent/mod.rs::check_session_token`).

use super::*;
use crate::config::{TENCENT_DEMO_TEMP_KEY_ID, TENCENT_DEMO_TEMP_SECRET, TENCENT_DEMO_TEMP_TOKEN};

fn temp<'a>(token: Option<&'a str>) -> Call<'a> {
    Call {
        secret_id: TENCENT_DEMO_TEMP_KEY_ID,
        secret_key: TENCENT_DEMO_TEMP_SECRET,
        token,
        ..Call::new("DescribeRegions", json!({}))
    }
}

#[tokio::test]
async fn temporary_key_needs_its_session_token() {
    let h = Harness::new(0, false);
    let r = h.send(temp(Some(TENCENT_DEMO_TEMP_TOKEN))).await;
    assert!(r["Error"].is_null(), "{r}");
    assert!(r["RegionSet"].is_array(), "{r}");

    let r = h.send(temp(None)).await;
    assert_eq!(code(&r), "AuthFailure.TokenFailure", "{r}");
    let r = h.send(temp(Some("another-token"))).await;
    assert_eq!(code(&r), "AuthFailure.TokenFailure", "{r}");
    assert!(
        !r["Error"]["Message"]
            .as_str()
            .unwrap()
            .contains(TENCENT_DEMO_TEMP_TOKEN),
        "the expected token is never echoed: {r}"
    );
    // A bad signature is still a signature failure, token or not.
    let bad = Call {
        secret_key: "wrong",
        ..temp(Some(TENCENT_DEMO_TEMP_TOKEN))
    };
    assert_eq!(code(&h.send(bad).await), "AuthFailure.SignatureFailure");
    // A permanent key needs no token.
    assert!(h.call("DescribeRegions", json!({})).await["Error"].is_null());
}

#[test]
fn accounts_file_marks_temporary_keys() {
    let a = crate::config::Accounts::from_yaml(
        "- {provider: tencent, key_id: AKIDT, secret: s, session_token: tok}\n\
         - {provider: tencent, key_id: AKIDP, secret: s}\n",
    )
    .unwrap();
    use crate::config::Provider;
    assert_eq!(a.session_token(Provider::Tencent, "AKIDT"), Some("tok"));
    assert_eq!(a.session_token(Provider::Tencent, "AKIDP"), None);
    assert_eq!(a.all().len(), 2);
}
