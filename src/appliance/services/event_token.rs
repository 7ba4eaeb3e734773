//! The `accessToken` an event's first argument may carry (seed 003 sends one
//! with each call), as the JSON decoder reads it: whatever the spelling on
//! the wire (`"acc\u0065ssToken"` is `accessToken`), whatever the type of
//! the value. A filter on the raw text would miss escaped keys and numbers.
//!
//! Only the key and its value are kept: the rest of the argument is skipped
//! by the decoder without building a tree, so an event without a token
//! costs one scan of its text and no allocation.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// The keys that carry the token: seed 003 spells it both ways.
const KEYS: [&str; 2] = ["accessToken", "AccessToken"];

/// What an event's first argument says about its token.
#[derive(Debug, PartialEq, Eq)]
pub enum EventToken {
    /// No token key, or `null` (as at CONNECT, a null token is no token).
    Absent,
    /// A text token, to verify.
    Text(String),
    /// A number, object, list or boolean where the token should be.
    NotText,
    /// The key twice (or both spellings): which one a handler reads is not
    /// ours to guess.
    Repeated,
    /// Text the decoder refuses (the parser has already checked the JSON,
    /// so this is not expected).
    Malformed,
}

/// The token of the first argument of `args`, the JSON array of an event's
/// arguments.
pub fn event_token(args: &str) -> EventToken {
    let mut de = serde_json::Deserializer::from_str(args);
    de.deserialize_seq(FirstArgument)
        .unwrap_or(EventToken::Malformed)
}

/// The arguments' array: reads the first, skips the others.
struct FirstArgument;

impl<'de> Visitor<'de> for FirstArgument {
    type Value = EventToken;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of event arguments")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EventToken, A::Error> {
        let token = seq
            .next_element_seed(Argument)?
            .unwrap_or(EventToken::Absent);
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(token)
    }
}

/// One argument: an object may carry the token; anything else does not.
struct Argument;

impl<'de> DeserializeSeed<'de> for Argument {
    type Value = EventToken;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<EventToken, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Argument {
    type Value = EventToken;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event argument")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventToken, A::Error> {
        let (mut token, mut seen) = (EventToken::Absent, false);
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
                Key::Token if seen => {
                    map.next_value::<IgnoredAny>()?;
                    token = EventToken::Repeated;
                }
                Key::Token => {
                    seen = true;
                    token = match map.next_value::<Value>()? {
                        Value::String(text) => EventToken::Text(text),
                        Value::Null => EventToken::Absent,
                        _ => EventToken::NotText,
                    };
                }
            }
        }
        Ok(token)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EventToken, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(EventToken::Absent)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<EventToken, E> {
        Ok(EventToken::Absent)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<EventToken, E> {
        Ok(EventToken::Absent)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<EventToken, E> {
        Ok(EventToken::Absent)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<EventToken, E> {
        Ok(EventToken::Absent)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<EventToken, E> {
        Ok(EventToken::Absent)
    }

    fn visit_unit<E: de::Error>(self) -> Result<EventToken, E> {
        Ok(EventToken::Absent)
    }
}

/// A key of the argument, compared once unescaped.
enum Key {
    Token,
    Other,
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match KEYS.contains(&key) {
                    true => Key::Token,
                    false => Key::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(token: &str) -> EventToken {
        EventToken::Text(token.into())
    }

    #[test]
    fn the_key_as_the_decoder_reads_it() {
        for args in [
            r#"[{"accessToken":"t","chatId":1}]"#,
            r#"[{"chatId":1,"AccessToken":"t"}]"#,
            r#"[{"acc\u0065ssToken":"t"}]"#,
            r#"[{"\u0061ccessToken":"\u0074"}, 2]"#,
            r#"[ { "accessToken" : "t" } ]"#,
        ] {
            assert_eq!(event_token(args), text("t"), "{args}");
        }
    }

    #[test]
    fn a_token_that_is_not_text_is_not_text() {
        for args in [
            r#"[{"accessToken":42}]"#,
            r#"[{"acc\u0065ssToken":1.5}]"#,
            r#"[{"accessToken":{"token":"t"}}]"#,
            r#"[{"accessToken":["t"]}]"#,
            r#"[{"accessToken":true}]"#,
        ] {
            assert_eq!(event_token(args), EventToken::NotText, "{args}");
        }
    }

    #[test]
    fn a_repeated_key_is_refused_whatever_the_spelling() {
        for args in [
            r#"[{"accessToken":"a","accessToken":"b"}]"#,
            r#"[{"accessToken":"a","AccessToken":"a"}]"#,
            r#"[{"accessToken":null,"acc\u0065ssToken":"b"}]"#,
        ] {
            assert_eq!(event_token(args), EventToken::Repeated, "{args}");
        }
    }

    #[test]
    fn no_token_in_the_first_argument_is_absent() {
        for args in [
            r#"[]"#,
            r#"[{"chatId":1}]"#,
            r#"[{"accessToken":null}]"#,
            r#"["accessToken"]"#,
            r#"[["accessToken","t"]]"#,
            r#"[1,{"accessToken":"t"}]"#,
            r#"[{"nested":{"accessToken":"t"}}]"#,
            r#"[null]"#,
        ] {
            assert_eq!(event_token(args), EventToken::Absent, "{args}");
        }
        assert_eq!(event_token("[{"), EventToken::Malformed);
    }
}
