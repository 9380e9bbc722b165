//! The error a service answers with, and its rendering in each protocol's envelope.

use std::fmt;

/// An AWS error as a client sees it: a code, a message and an HTTP status.
///
/// Services build these; the protocol layer renders them in the envelope of the service's
/// protocol. The status defaults to what the service model declares for the code (400 when the
/// model is silent), so services only set it where AWS deviates from its own model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    pub status: Option<u16>,
    /// Extra JSON members for rest-json/json error bodies (e.g. `RestApiStatusCode`).
    pub extra: Vec<(String, serde_json::Value)>,
}

impl ApiError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            code: code.into(),
            message: message.into(),
            status: None,
            extra: Vec::new(),
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Adds a member to the error body (S3's `<BucketName>`, a rest-json error's extra member).
    pub fn with_extra(mut self, key: &str, value: serde_json::Value) -> Self {
        self.extra.push((key.to_string(), value));
        self
    }

    /// `InternalError`/`InternalFailure`: something went wrong on Airlock's side.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new("InternalError", message).with_status(500)
    }

    /// AWS's generic "this value is not valid" error of the query/ec2 protocols.
    pub fn invalid_parameter_value(message: impl Into<String>) -> Self {
        ApiError::new("InvalidParameterValue", message)
    }

    pub fn missing_parameter(message: impl Into<String>) -> Self {
        ApiError::new("MissingParameter", message)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;
