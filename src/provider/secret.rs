//! Types holding secret material. Their Debug/Display never print the value.

use std::fmt;

/// A string that must never be logged. `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret value. Call only where it is needed (signing, request bodies).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// An access key pair (plus the Huawei project id, which is not secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// SecretId (Tencent), AccessKeyId (Alibaba), AK (Huawei). Not secret, but identifying.
    pub access_key_id: String,
    /// SecretKey / AccessKeySecret / SK.
    pub secret: SecretString,
    /// Huawei project id (required there, ignored elsewhere).
    pub project_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let c = Credentials {
            access_key_id: "AKIDexample".into(),
            secret: SecretString::new("super-secret-value"),
            project_id: None,
        };
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("super-secret-value"), "{dbg}");
        assert!(dbg.contains("AKIDexample"));
        assert_eq!(format!("{}", c.secret), "***");
        assert_eq!(c.secret.expose(), "super-secret-value");
    }
}
