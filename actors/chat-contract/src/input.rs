//! A client event's first argument, read leniently as the seed's clients
//! send it: ids as numbers or numeric strings (`chatHeaderId: '123'`),
//! field names in either case (`LastMessageId`, `SkipCount`), a missing
//! argument as an empty object. What does not fit is refused by name.
//! Handlers read it as a typed request through [`crate::lenient`].

use serde_json::{Map, Value};

use super::error::Refusal;
use confab_engine::Payload;

/// The fields of one event's payload.
pub struct Input(Map<String, Value>);

impl Input {
    pub fn from_payload(payload: &Payload) -> Result<Input, Refusal> {
        match payload.json().into_iter().next() {
            None | Some(Value::Null) => Ok(Input(Map::new())),
            Some(Value::Object(map)) => Ok(Input(map)),
            Some(_) => Err(Refusal::invalid("payload must be an object")),
        }
    }

    #[cfg(test)]
    pub fn from_value(value: Value) -> Input {
        match value {
            Value::Object(map) => Input(map),
            _ => Input(Map::new()),
        }
    }

    /// The payload's fields, for [`crate::lenient`] to read.
    pub(crate) fn map(&self) -> &Map<String, Value> {
        &self.0
    }
}

/// The first of `names` present in `map` (exact name first, then any
/// case), `null` counting as absent.
pub(crate) fn field<'a>(
    map: &'a Map<String, Value>,
    names: &[&str],
) -> Option<(&'a str, &'a Value)> {
    let exact = names
        .iter()
        .find_map(|n| map.get_key_value(*n))
        .filter(|(_, v)| !v.is_null());
    exact
        .or_else(|| {
            map.iter()
                .find(|(k, v)| !v.is_null() && names.iter().any(|n| k.eq_ignore_ascii_case(n)))
        })
        .map(|(k, v)| (k.as_str(), v))
}

/// A positive id from a number or a numeric string.
pub fn parse_id(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|id| *id > 0)
}
