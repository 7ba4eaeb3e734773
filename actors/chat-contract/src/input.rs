//! A client event's first argument, read leniently as the seed's clients
//! send it: ids as numbers or numeric strings (`chatHeaderId: '123'`),
//! field names in either case (`LastMessageId`, `SkipCount`), a missing
//! argument as an empty object. What does not fit is refused by name.
//! Handlers read it as a typed request through [`crate::lenient`]; the
//! lookups left here serve `findAllChatHeaders` and the forged-user check.

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

    /// The first of `names` present (exact name first, then any case),
    /// `null` counting as absent.
    pub(crate) fn field(&self, names: &[&str]) -> Option<(&str, &Value)> {
        let exact = names
            .iter()
            .find_map(|n| self.0.get_key_value(*n))
            .filter(|(_, v)| !v.is_null());
        exact
            .or_else(|| {
                self.0
                    .iter()
                    .find(|(k, v)| !v.is_null() && names.iter().any(|n| k.eq_ignore_ascii_case(n)))
            })
            .map(|(k, v)| (k.as_str(), v))
    }

    /// A count (skip, page size): a non-negative integer.
    pub fn count(&self, names: &[&str]) -> Result<Option<u64>, Refusal> {
        let Some((name, value)) = self.field(names) else {
            return Ok(None);
        };
        match value {
            Value::Number(n) => n.as_u64().map(Some),
            Value::String(s) => s.trim().parse().ok().map(Some),
            _ => None,
        }
        .ok_or_else(|| Refusal::invalid(format!("invalid {name}")))
    }

    /// A user id: a non-empty string (or a number, as its digits).
    pub fn user(&self, names: &[&str]) -> Result<Option<String>, Refusal> {
        let Some((name, value)) = self.field(names) else {
            return Ok(None);
        };
        match value {
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => Ok(Some(s.trim().to_owned())),
            Value::Number(n) => Ok(Some(n.to_string())),
            _ => Err(Refusal::invalid(format!("invalid {name}"))),
        }
    }

    pub fn array(&self, names: &[&str]) -> Result<Option<&Vec<Value>>, Refusal> {
        match self.field(names) {
            None => Ok(None),
            Some((_, Value::Array(items))) => Ok(Some(items)),
            Some((name, _)) => Err(Refusal::invalid(format!("{name} must be an array"))),
        }
    }

    /// Refuses a payload that names a user other than the connection's:
    /// who acts is always the socket's user, never what a payload says.
    pub fn check_claimed_user(&self, user: &str) -> Result<(), Refusal> {
        match self.user(&["userId"]) {
            Ok(Some(claimed)) if claimed != user => Err(Refusal::ForgedUser),
            Ok(_) => Ok(()),
            Err(_) => Err(Refusal::ForgedUser),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_claimed_user_must_be_the_connection() {
        let ok = Input::from_value(json!({"UserId": "u1"}));
        assert!(ok.check_claimed_user("u1").is_ok());
        let none = Input::from_value(json!({"userId": ""}));
        assert!(none.check_claimed_user("u1").is_ok());
        let forged = Input::from_value(json!({"userId": "u2"}));
        assert!(matches!(
            forged.check_claimed_user("u1"),
            Err(Refusal::ForgedUser)
        ));
        let odd = Input::from_value(json!({"UserId": {"id": "u1"}}));
        assert!(odd.check_claimed_user("u1").is_err());
    }
}
