//! Who calls the chat's HTTP endpoints: a bearer token checked by whoever
//! mounts them. The chat contract does not verify tokens itself (that is the
//! identity layer's job, above it); it asks this trait, so that it depends on
//! nothing above the engine.

/// The user a verified token names, with the profile the chat records.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub user_id: String,
    pub name: Option<String>,
    pub avatar: Option<String>,
}

/// Checks the token of an HTTP request (the appliance's `Verifier`
/// implements it).
pub trait CallerCheck: Send + Sync + 'static {
    /// The caller `token` names, or the message to refuse it with (401).
    fn caller(&self, token: &str) -> Result<Caller, String>;

    /// The message for a request without any token (401).
    fn missing_token(&self) -> String;
}
