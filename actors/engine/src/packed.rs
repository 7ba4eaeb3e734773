//! A JSON value a connection keeps for its whole life but rarely reads,
//! held as its text until it is read.
//!
//! A `serde_json::Value` object is a `BTreeMap`, whose first node takes
//! about 600 bytes however few its keys: the CONNECT `auth` object of every
//! idle socket (`{"token": "…"}`) cost more than the rest of its socket.
//! Its text takes what it says. The value is parsed on first read and kept.

use std::sync::OnceLock;

use serde_json::Value;

pub(crate) struct PackedJson {
    /// Written by `serde_json` from a `Value`, so it parses back to it.
    text: Box<str>,
    value: OnceLock<Value>,
}

impl PackedJson {
    pub(crate) fn pack(value: &Value) -> PackedJson {
        PackedJson {
            text: value.to_string().into_boxed_str(),
            value: OnceLock::new(),
        }
    }

    /// The value, parsed on the first read. Text that would not parse back
    /// (a value nested deeper than the parser's recursion limit, which only
    /// code, not a client's packet, can build) reads as `null`.
    pub(crate) fn get(&self) -> &Value {
        self.value
            .get_or_init(|| serde_json::from_str(&self.text).unwrap_or(Value::Null))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_back_what_was_packed() {
        let auth =
            json!({"token": "t", "n": [1, 2.5, -3], "o": {"x": null, "y": true}, "s": "é\"\\"});
        let packed = PackedJson::pack(&auth);
        assert_eq!(packed.get(), &auth);
        assert_eq!(packed.get(), &auth);
    }

    #[test]
    fn holds_text_not_a_tree() {
        let packed = PackedJson::pack(&json!({"token": "abc"}));
        assert_eq!(&*packed.text, r#"{"token":"abc"}"#);
        assert!(packed.value.get().is_none());
    }

    #[test]
    fn too_deep_to_parse_back_reads_as_null() {
        let mut deep = json!(0);
        for _ in 0..200 {
            deep = json!([deep]);
        }
        assert_eq!(PackedJson::pack(&deep).get(), &Value::Null);
    }
}
