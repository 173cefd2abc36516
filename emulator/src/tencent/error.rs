//! Tencent API errors: `{"Response":{"Error":{"Code","Message"},"RequestId"}}`.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn missing(name: &str) -> Self {
        Self::new(
            "MissingParameter",
            format!("The request is missing a required parameter `{name}`."),
        )
    }

    pub fn unknown(name: &str) -> Self {
        Self::new(
            "UnknownParameter",
            format!("The parameter `{name}` is not recognized."),
        )
    }

    pub fn bad_type(name: &str, expected: &str) -> Self {
        Self::new(
            "InvalidParameter",
            format!("The value of parameter `{name}` must be of type {expected}."),
        )
    }

    pub fn invalid_value(name: &str, detail: impl std::fmt::Display) -> Self {
        Self::new(
            "InvalidParameterValue",
            format!("The value of parameter `{name}` is invalid: {detail}"),
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
