//! AWS-style API errors.

use std::fmt::Write as _;

use crate::xml::escape_into;

/// An error as AWS reports it in a Query-protocol `<ErrorResponse>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} ({status}): {message}")]
pub struct ApiError {
    /// AWS error code, e.g. `NoSuchEntity`, `ValidationError`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// HTTP status code.
    pub status: u16,
    /// `true` → `<Type>Sender</Type>`, `false` → `<Type>Receiver</Type>`.
    pub sender_fault: bool,
}

/// One modeled error of a service (from the model's `error` trait).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeledError {
    /// Shape name in the model, e.g. `NoSuchEntityException`.
    pub shape: &'static str,
    /// Wire code, e.g. `NoSuchEntity`.
    pub code: &'static str,
    /// HTTP status code.
    pub status: u16,
    /// Whether the client is at fault (`Sender`).
    pub sender_fault: bool,
}

impl ModeledError {
    /// Builds an [`ApiError`] of this kind with `message`.
    pub fn with_message(&self, message: impl Into<String>) -> ApiError {
        ApiError {
            code: self.code.to_owned(),
            message: message.into(),
            status: self.status,
            sender_fault: self.sender_fault,
        }
    }
}

impl ApiError {
    /// A new error.
    pub fn new(
        code: impl Into<String>,
        message: impl Into<String>,
        status: u16,
        sender_fault: bool,
    ) -> Self {
        ApiError {
            code: code.into(),
            message: message.into(),
            status,
            sender_fault,
        }
    }

    /// `ValidationError` (400) from constraint-violation descriptions, using
    /// AWS's `N validation error(s) detected: a; b` form.
    pub fn validation(violations: &[String]) -> Self {
        let n = violations.len();
        let mut message =
            String::with_capacity(64 + violations.iter().map(|v| v.len() + 2).sum::<usize>());
        let _ = write!(
            message,
            "{n} validation error{} detected: ",
            if n == 1 { "" } else { "s" }
        );
        message.push_str(&violations.join("; "));
        ApiError::new("ValidationError", message, 400, true)
    }

    /// `InvalidAction` (400): the `Action` names no operation of this service.
    pub fn invalid_action(action: &str, version: &str) -> Self {
        ApiError::new(
            "InvalidAction",
            format!("Could not find operation {action} for version {version}"),
            400,
            true,
        )
    }

    /// `MissingParameter` (400): a parameter every Query request needs (`Version`)
    /// is absent.
    pub fn missing_parameter(name: &str) -> Self {
        ApiError::new(
            "MissingParameter",
            format!("The request must contain the parameter {name}"),
            400,
            true,
        )
    }

    /// `MissingAction` (400): no `Action` parameter.
    pub fn missing_action() -> Self {
        ApiError::new("MissingAction", "Missing Action", 400, true)
    }

    /// `MalformedQueryString` (400): the parameters cannot be read at all
    /// (bad percent-encoding, invalid UTF-8, repeated names, broken list indices).
    pub fn malformed(message: impl Into<String>) -> Self {
        ApiError::new("MalformedQueryString", message, 400, true)
    }

    /// `InvalidParameterValue` (400): a value cannot be converted to its type
    /// (integer, boolean, timestamp, base64 blob).
    pub fn invalid_parameter_value(message: impl Into<String>) -> Self {
        ApiError::new("InvalidParameterValue", message, 400, true)
    }

    /// `ServiceFailure`-style internal error (500, Receiver).
    pub fn internal(code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::new(code, message, 500, false)
    }

    /// Writes the Query-protocol error document:
    /// `<ErrorResponse xmlns=…><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
    pub fn write_xml(&self, xmlns: &str, request_id: &str, out: &mut String) {
        out.reserve(192 + self.message.len() + self.code.len());
        out.push_str("<ErrorResponse xmlns=\"");
        escape_into(out, xmlns);
        out.push_str("\"><Error><Type>");
        out.push_str(if self.sender_fault {
            "Sender"
        } else {
            "Receiver"
        });
        out.push_str("</Type><Code>");
        escape_into(out, &self.code);
        out.push_str("</Code><Message>");
        escape_into(out, &self.message);
        out.push_str("</Message></Error><RequestId>");
        escape_into(out, request_id);
        out.push_str("</RequestId></ErrorResponse>");
    }

    /// [`ApiError::write_xml`] into a new `String`.
    pub fn to_xml(&self, xmlns: &str, request_id: &str) -> String {
        let mut s = String::new();
        self.write_xml(xmlns, request_id, &mut s);
        s
    }
}
