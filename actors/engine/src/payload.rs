//! What a client sent: an event's name and arguments, or an ack's arguments.

use serde::de::DeserializeOwned;
use socketioxide_core::parser::Parse;
use socketioxide_parser_common::CommonParser;

use crate::protocol::socketio::{Args, Str, Value};

/// Why received arguments do not fit the type a handler asked for.
#[derive(Debug, thiserror::Error)]
#[error("arguments do not match the expected type: {0}")]
pub struct ArgsError(String);

/// The arguments of one received event or ack.
#[derive(Debug, Clone)]
pub struct Payload {
    event: String,
    args: Args,
}

impl Payload {
    /// An event (or, with an empty name, an ack) as received: here from a
    /// client, or from another node of a cluster.
    pub fn new(event: String, args: Args) -> Payload {
        Payload { event, args }
    }

    /// The event name (empty for an ack).
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The arguments as received, ready to be sent on unchanged.
    pub fn args(&self) -> &Args {
        &self.args
    }

    /// The arguments as JSON values; binary parts stay placeholders
    /// (`{"_placeholder":true,"num":n}`) indexing [`Args::attachments`].
    pub fn json(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(self.args.json()).unwrap_or_default()
    }

    /// The first argument (or, for a tuple type, all of them) as `T`;
    /// `bytes::Bytes` fields receive the binary attachments.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ArgsError> {
        let bins = self.args.attachments();
        let mut value = Value::Str(
            Str::from(self.args.json().to_owned()),
            (!bins.is_empty()).then(|| bins.iter().cloned().collect()),
        );
        CommonParser
            .decode_value(&mut value, false)
            .map_err(|e| ArgsError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn decode_takes_first_argument_or_tuple() {
        let payload = Payload::new("e".into(), Args::from_raw(r#"[{"a":1},2]"#.into(), vec![]));
        let first: serde_json::Value = payload.decode().unwrap();
        assert_eq!(first, serde_json::json!({"a": 1}));
        let (_, second): (serde_json::Value, u8) = payload.decode().unwrap();
        assert_eq!(second, 2);
        assert!(payload.decode::<String>().is_err());
    }

    #[test]
    fn decode_fills_binary_from_attachments() {
        let args = Args::from_raw(
            r#"[{"_placeholder":true,"num":0}]"#.into(),
            vec![Bytes::from_static(b"xy")],
        );
        let payload = Payload::new("e".into(), args);
        let data: Bytes = payload.decode().unwrap();
        assert_eq!(&data[..], b"xy");
        assert_eq!(payload.json()[0]["num"], 0);
    }
}
