//! The two encodings on the adapter's channels, and the small vocabulary
//! shared by its messages: a message whose first byte is `{` is JSON,
//! anything else is msgpack (the Node adapter's own rule); rooms may be
//! numbers on the wire (`io.to(42)`); selections are `{rooms, except}`.

use rmpv::Value;

use crate::data::{DataError, MAX_DEPTH};

/// Why a message from Redis was not understood. The node logs it and drops
/// the message, as the Node adapter does.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("malformed JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("malformed msgpack: {0}")]
    Msgpack(#[from] rmpv::decode::Error),
    #[error("bytes after the message")]
    Trailing,
    #[error("unknown request type {0}")]
    UnknownType(u64),
    #[error("{0} lacks {1}")]
    Missing(&'static str, &'static str),
    #[error("not an event packet (type {0})")]
    NotAnEvent(u64),
    #[error(transparent)]
    Data(#[from] DataError),
}

/// Decodes a message in either encoding into one value tree.
pub fn decode(bytes: &[u8]) -> Result<Value, WireError> {
    if bytes.first() == Some(&b'{') {
        return Ok(serde_json::from_slice(bytes)?);
    }
    let mut rest = bytes;
    let value = rmpv::decode::read_value_with_max_depth(&mut rest, MAX_DEPTH)?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(WireError::Trailing)
    }
}

/// Encodes a value tree as msgpack (what notepack.io writes for it).
pub fn encode_msgpack(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    // Writing to a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, value);
    out
}

/// Encodes a value tree as JSON text (what `JSON.stringify` writes for it).
pub fn encode_json(value: &Value) -> Vec<u8> {
    crate::data::json_text(value).into_bytes()
}

/// A map in the given key order.
pub fn map<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Map(
        pairs
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect(),
    )
}

/// The value under `key` in a map.
pub fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value
        .as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// A room name: a string, or a number written as its digits.
pub fn room_name(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => s.as_str().map(str::to_owned),
        Value::Integer(n) => Some(n.to_string()),
        Value::F64(f) => Some(f.to_string()),
        _ => None,
    }
}

/// A choice of sockets: those in any of `rooms` (all when empty), minus
/// those in any of `except`. Socket ids count as rooms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub rooms: Vec<String>,
    pub except: Vec<String>,
}

impl Selection {
    pub(crate) fn to_value(&self) -> Value {
        map([
            ("rooms", strings(&self.rooms)),
            ("except", strings(&self.except)),
        ])
    }

    /// Reads `{rooms, except}`; an absent list is empty.
    pub(crate) fn from_value(value: &Value) -> Selection {
        Selection {
            rooms: room_list(get(value, "rooms")),
            except: room_list(get(value, "except")),
        }
    }
}

/// A list of rooms; entries that are not names are skipped.
pub(crate) fn room_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(room_name).collect())
        .unwrap_or_default()
}

pub(crate) fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| Value::from(s.as_str())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_msgpack_are_told_apart_by_the_first_byte() {
        assert_eq!(
            get(&decode(br#"{"a":1}"#).unwrap(), "a"),
            Some(&Value::from(1))
        );
        let packed = encode_msgpack(&map([("a", Value::from(1))]));
        assert_eq!(packed, [0x81, 0xa1, b'a', 0x01]);
        assert_eq!(decode(&packed).unwrap(), map([("a", Value::from(1))]));
        assert!(matches!(decode(b"{oops"), Err(WireError::Json(_))));
        assert!(matches!(decode(&[0x92, 0x01]), Err(WireError::Msgpack(_))));
        assert!(matches!(decode(&[0x01, 0x02]), Err(WireError::Trailing)));
    }

    #[test]
    fn msgpack_nested_past_the_limit_is_refused() {
        let mut deep = vec![0x91; MAX_DEPTH + 2];
        deep.push(0xc0);
        assert!(matches!(decode(&deep), Err(WireError::Msgpack(_))));
    }

    #[test]
    fn numeric_rooms_become_their_digits() {
        let sel = Selection::from_value(&decode(br#"{"rooms":[42,"a"]}"#).unwrap());
        assert_eq!(sel.rooms, ["42", "a"]);
        assert!(sel.except.is_empty());
    }
}
