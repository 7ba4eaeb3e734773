//! A server event as the chat sends it: its name, its arguments encoded
//! once (however many sockets get it), who gets it.

use serde::Serialize;

use confab_engine::{Args, EncodeError};

/// Who gets a chat's server event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The chat's room and every member's user room (a socket in both
    /// gets one copy).
    Members,
    /// The chat's room only.
    Room,
    /// The chat's room, but not the acting user's own sockets.
    OthersViewing,
}

/// One server event: its name, its arguments (encoded once, however many
/// sockets get it), who gets it.
#[derive(Debug, Clone, PartialEq)]
pub struct Emit {
    pub name: &'static str,
    pub args: Args,
    pub audience: Audience,
}

impl Emit {
    /// `data` as the arguments: a tuple is several, anything else one.
    pub(super) fn new(
        name: &'static str,
        data: &impl Serialize,
        audience: Audience,
    ) -> Result<Emit, EncodeError> {
        Ok(Emit {
            name,
            args: Args::new(data)?,
            audience,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Checks `emits` against `expected`: each event's name, its
    /// arguments' JSON text (key order included) and its audience.
    pub(crate) fn check(
        emits: Result<Vec<Emit>, EncodeError>,
        expected: &[(&str, &str, Audience)],
    ) {
        let emits = emits.unwrap();
        let emitted: Vec<_> = emits
            .iter()
            .map(|e| (e.name, e.args.json(), e.audience))
            .collect();
        assert_eq!(emitted, expected);
    }
}
