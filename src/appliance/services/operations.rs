//! SEAM's operation progress: a backend reports `start`, `processing`,
//! `success` and `error` of an operation a client asked for over HTTP; each
//! report becomes `operation:progress` to the socket that asked (or the
//! user's room), and the success of a mutating operation `data:changed` to
//! everyone.
//!
//! This module holds the rules and the payloads; the sending is
//! [`crate::Appliance::report_progress`] (and the [`crate::Operation`]
//! extractor, and `POST /api/operations`).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::appliance::list_setting::list_or_csv;

/// `[operations]` in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OperationsConfig {
    /// The event each report becomes.
    pub progress_event: String,
    /// The event everyone gets when a mutating operation succeeds.
    pub changed_event: String,
    /// Operations ending in one of these only read: their success is not
    /// broadcast (a list, or `a,b` in the environment).
    #[serde(deserialize_with = "list_or_csv")]
    pub read_only_suffixes: Vec<String>,
    /// Operations named exactly so only read too.
    #[serde(deserialize_with = "list_or_csv")]
    pub read_only: Vec<String>,
}

impl Default for OperationsConfig {
    fn default() -> Self {
        OperationsConfig {
            progress_event: "operation:progress".into(),
            changed_event: "data:changed".into(),
            read_only_suffixes: [":fetchAll", ":fetchOne", ":fetchByRole", ":fetchByUri"]
                .map(String::from)
                .to_vec(),
            read_only: vec!["auth:login".into()],
        }
    }
}

impl OperationsConfig {
    /// Whether `operation` only reads data (its success changes nothing).
    pub fn is_read_only(&self, operation: &str) -> bool {
        self.read_only.iter().any(|op| op == operation)
            || self
                .read_only_suffixes
                .iter()
                .any(|suffix| !suffix.is_empty() && operation.ends_with(suffix.as_str()))
    }
}

/// Where an operation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The operation begins.
    Start,
    /// An intermediate step.
    Processing,
    /// Done; the data is the result.
    Success,
    /// Failed; the message says why.
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Start => "start",
            Status::Processing => "processing",
            Status::Success => "success",
            Status::Error => "error",
        }
    }
}

/// One report on an operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// `<resource>:<verb>`, e.g. `users:create`.
    pub operation: String,
    pub status: Status,
    /// What the client shows (a loader text, a notification).
    pub message: String,
    /// The result (on success), or `null`.
    pub data: Value,
}

impl Progress {
    pub fn new(operation: impl Into<String>, status: Status, message: impl Into<String>) -> Self {
        Progress {
            operation: operation.into(),
            status,
            message: message.into(),
            data: Value::Null,
        }
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.data = data;
        self
    }

    /// The `operation:progress` payload: `{operation, status, message,
    /// data, timestamp}`, the time in ISO 8601.
    pub fn progress_payload(&self, timestamp: &str) -> Value {
        json!({
            "operation": self.operation,
            "status": self.status,
            "message": self.message,
            "data": self.data,
            "timestamp": timestamp,
        })
    }

    /// The `data:changed` payload: `{operation, message, data,
    /// initiatorSocketId}`.
    pub fn changed_payload(&self, initiator: Option<&str>) -> Value {
        json!({
            "operation": self.operation,
            "message": self.message,
            "data": self.data,
            "initiatorSocketId": initiator,
        })
    }

    /// Whether this report is broadcast as `data:changed` too.
    pub fn broadcasts(&self, config: &OperationsConfig) -> bool {
        self.status == Status::Success && !config.is_read_only(&self.operation)
    }
}

/// Checks an operation name: not empty, no control characters, at most
/// 200 bytes.
pub fn check_operation(operation: &str) -> Result<(), String> {
    if operation.trim().is_empty() {
        return Err("`operation` must not be empty".into());
    }
    if operation.len() > 200 {
        return Err("`operation` is longer than 200 bytes".into());
    }
    if operation.chars().any(char::is_control) {
        return Err("`operation` contains control characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seam_read_only_operations_never_broadcast() {
        let config = OperationsConfig::default();
        for op in [
            "users:fetchAll",
            "users:fetchOne",
            "roles:fetchByRole",
            "menus:fetchByUri",
            "auth:login",
        ] {
            assert!(config.is_read_only(op), "{op}");
            let success = Progress::new(op, Status::Success, "ok");
            assert!(!success.broadcasts(&config), "{op}");
        }
        for op in [
            "users:create",
            "roles:update",
            "users:delete",
            "roles:assign",
            "auth:logout",
            "auth:login2",
            "users:fetchAllDeleted",
        ] {
            assert!(!config.is_read_only(op), "{op}");
        }
    }

    #[test]
    fn only_success_of_a_mutation_broadcasts() {
        let config = OperationsConfig::default();
        for status in [Status::Start, Status::Processing, Status::Error] {
            assert!(!Progress::new("users:create", status, "").broadcasts(&config));
        }
        assert!(Progress::new("users:create", Status::Success, "").broadcasts(&config));
    }

    #[test]
    fn the_list_is_configurable() {
        let config = OperationsConfig {
            read_only_suffixes: vec![":list".into(), String::new()],
            read_only: vec!["ping".into()],
            ..OperationsConfig::default()
        };
        assert!(config.is_read_only("users:list"));
        assert!(config.is_read_only("ping"));
        assert!(!config.is_read_only("users:fetchAll"));
        assert!(!config.is_read_only("auth:login"));
        // An empty suffix would match everything: it is ignored.
        assert!(!config.is_read_only("users:create"));
    }

    #[test]
    fn payloads_have_the_seed_shape() {
        let p = Progress::new("users:create", Status::Success, "Usuario creado")
            .with_data(json!({"id": 7}));
        assert_eq!(
            p.progress_payload("2025-01-15T10:30:00.000Z"),
            json!({
                "operation": "users:create",
                "status": "success",
                "message": "Usuario creado",
                "data": {"id": 7},
                "timestamp": "2025-01-15T10:30:00.000Z",
            })
        );
        assert_eq!(
            p.changed_payload(Some("abc")),
            json!({"operation": "users:create", "message": "Usuario creado", "data": {"id": 7}, "initiatorSocketId": "abc"})
        );
        assert_eq!(p.changed_payload(None)["initiatorSocketId"], Value::Null);
    }

    #[test]
    fn operation_names_are_checked() {
        assert!(check_operation("users:create").is_ok());
        assert!(check_operation("").is_err());
        assert!(check_operation("  ").is_err());
        assert!(check_operation("a\nb").is_err());
        assert!(check_operation(&"x".repeat(201)).is_err());
    }
}
