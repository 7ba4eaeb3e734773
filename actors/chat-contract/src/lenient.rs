//! A client event's payload read into a typed request
//! (`#[derive(Deserialize)]`) under the seed's lenient rules, so a
//! handler gets fields, not a JSON object to walk:
//!
//! - field names in any case (`ChatHeaderId`, `SkipCount`), the exact
//!   spelling winning, `null` counting as absent ([`crate::input::field`]), in nested objects too;
//! - ids as numbers or numeric strings, a blank id as absent ([`id`]);
//! - a refusal that names the key as the client sent it (`invalid
//!   ChatHeaderId`) or, for a missing one, the name the contract expects
//!   (`chatHeaderId is required`);
//! - alternative names for one field, as `#[serde(rename =
//!   "userIds|participantIds|memberIds")]`: the first present wins (an
//!   exact spelling before any case), the first is the contract's name.
//!
//! How: the request struct's fields are asked for one by one, in the
//! order it declares them, each present or absent, so its helpers
//! (`#[serde(deserialize_with = "...")]`) see absence too and refuse in
//! declaration order, as the hand-written checks did. A helper's
//! visitor says in `expecting` what the refusal reads, with [`KEY`] and
//! [`NAME`] standing for the two spellings of the field.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Unexpected, Visitor};
use serde_json::{Map, Value};

use crate::error::Refusal;
use crate::input::{self, Input};

/// In a refusal's text: the key as the client spelled it.
const KEY: &str = "{key}";
/// In a refusal's text: the field's name in the contract.
const NAME: &str = "{name}";

/// Why a field does not fit, in the client's words once named.
#[derive(Debug)]
pub struct Problem(String);

impl Problem {
    fn named(self, key: &str, name: &str) -> Problem {
        Problem(self.0.replace(KEY, key).replace(NAME, name))
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Problem {}

impl de::Error for Problem {
    fn custom<T: fmt::Display>(msg: T) -> Problem {
        Problem(msg.to_string())
    }

    /// The visitor's `expecting` is the refusal: the client learns what
    /// the field should be, not serde's account of what it got.
    fn invalid_type(_: Unexpected<'_>, expected: &dyn de::Expected) -> Problem {
        Problem(expected.to_string())
    }

    fn invalid_value(_: Unexpected<'_>, expected: &dyn de::Expected) -> Problem {
        Problem(expected.to_string())
    }
}

impl From<Problem> for Refusal {
    fn from(problem: Problem) -> Refusal {
        Refusal::Invalid(problem.0)
    }
}

/// Reads `input` into the request `T`.
pub fn read<'de, T: Deserialize<'de>>(input: &'de Input) -> Result<T, Refusal> {
    Ok(T::deserialize(Request(input.map()))?)
}

/// The payload, as a struct of the fields `T` names.
struct Request<'de>(&'de Map<String, Value>);

impl<'de> Deserializer<'de> for Request<'de> {
    type Error = Problem;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Problem> {
        Err(Problem("a request is read as a struct".into()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Problem> {
        visitor.visit_map(Fields {
            map: self.0,
            fields: fields.iter(),
            next: None,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// Every field the struct declares, in its order, present or absent.
struct Fields<'de> {
    map: &'de Map<String, Value>,
    fields: std::slice::Iter<'static, &'static str>,
    next: Option<Field<'de>>,
}

/// One field: its contract name, and the key and value the client sent.
#[derive(Clone, Copy)]
struct Field<'de> {
    name: &'static str,
    sent: Option<(&'de str, &'de Value)>,
}

impl<'de> MapAccess<'de> for Fields<'de> {
    type Error = Problem;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Problem> {
        let Some(name) = self.fields.next() else {
            return Ok(None);
        };
        let names: Vec<&str> = name.split('|').collect();
        self.next = Some(Field {
            name: names[0],
            sent: input::field(self.map, &names),
        });
        seed.deserialize(de::value::BorrowedStrDeserializer::new(name))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Problem> {
        let field = self
            .next
            .take()
            .ok_or_else(|| Problem("a value before its key".into()))?;
        // A helper's own refusal (a required field missing) is named
        // here; what the field's reading refused was named already.
        let key = field.sent.map_or(field.name, |(key, _)| key);
        seed.deserialize(field)
            .map_err(|p| p.named(key, field.name))
    }
}

impl<'de> Deserializer<'de> for Field<'de> {
    type Error = Problem;

    /// Absent reads as `none`; present, as its JSON kind. A refusal is
    /// named here, so a helper that keeps one for later keeps its words.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        let Some((key, value)) = self.sent else {
            return visitor
                .visit_none()
                .map_err(|p: Problem| p.named(self.name, self.name));
        };
        visit(value, self.name, visitor).map_err(|p| p.named(key, self.name))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

fn visit<'de, V: Visitor<'de>>(
    value: &'de Value,
    name: &'static str,
    visitor: V,
) -> Result<V::Value, Problem> {
    match value {
        Value::Null => visitor.visit_none(),
        Value::Bool(b) => visitor.visit_bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => visitor.visit_u64(u),
            (None, Some(i), _) => visitor.visit_i64(i),
            (None, None, Some(f)) => visitor.visit_f64(f),
            (None, None, None) => Err(de::Error::invalid_type(
                Unexpected::Other("number"),
                &visitor,
            )),
        },
        Value::String(s) => visitor.visit_borrowed_str(s),
        Value::Array(items) => visitor.visit_seq(Items {
            items: items.iter(),
            name,
        }),
        Value::Object(_) => Err(de::Error::invalid_type(Unexpected::Map, &visitor)),
    }
}

/// The items of an array field, each read as the field itself is.
struct Items<'de> {
    items: std::slice::Iter<'de, Value>,
    name: &'static str,
}

impl<'de> SeqAccess<'de> for Items<'de> {
    type Error = Problem;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Problem> {
        self.items
            .next()
            .map(|value| {
                seed.deserialize(Item {
                    value,
                    name: self.name,
                })
            })
            .transpose()
    }
}

struct Item<'de> {
    value: &'de Value,
    name: &'static str,
}

impl<'de> Deserializer<'de> for Item<'de> {
    type Error = Problem;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        visit(self.value, self.name, visitor)
    }

    /// An object in a list is a request of its own, read by the same rules.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Problem> {
        match self.value {
            Value::Object(map) => Request(map).deserialize_struct(name, fields, visitor),
            _ => self.deserialize_any(visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// A positive id from a number or a numeric string; blank is absent.
/// Holds its refusal: a field's names the key as sent, a listed id's
/// the list's contract name (`invalid ids`).
struct IdVisitor(&'static str);

impl<'de> Visitor<'de> for IdVisitor {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<u64>, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Option<u64>, E> {
        match n {
            0 => Err(E::invalid_value(Unexpected::Unsigned(0), &self)),
            n => Ok(Some(n)),
        }
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Option<u64>, E> {
        match s.trim() {
            "" => Ok(None),
            digits => match digits.parse() {
                Ok(n) => self.visit_u64(n),
                Err(_) => Err(E::invalid_value(Unexpected::Str(s), &self)),
            },
        }
    }
}

/// A field an event cannot go without is missing (or blank).
fn required<E: de::Error>() -> E {
    E::custom(format!("{NAME} is required"))
}

/// `Option<u64>`: an id, absent when missing or blank.
pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    d.deserialize_any(IdVisitor("invalid {key}"))
}

/// `u64`: an id the event cannot go without.
pub fn required_id<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    id(d)?.ok_or_else(required)
}

/// `Result<Option<u64>, String>`: an id whose refusal waits until the
/// handler knows it needs it (`id` when `ids` did not win).
pub fn id_if_needed<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Result<Option<u64>, String>, D::Error> {
    Ok(id(d).map_err(|e| e.to_string()))
}

/// A count (skip, page size): a non-negative integer, as a number or a
/// numeric string; blank is refused, as the seed did.
struct CountVisitor;

impl<'de> Visitor<'de> for CountVisitor {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {KEY}")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<u64>, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Option<u64>, E> {
        Ok(Some(n))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Option<u64>, E> {
        s.trim()
            .parse()
            .map(Some)
            .map_err(|_| E::invalid_value(Unexpected::Str(s), &self))
    }
}

/// `Option<u64>`: a count.
pub fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    d.deserialize_any(CountVisitor)
}

/// Any string, blank included (the handler judges blank text).
struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{KEY} must be a string")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Option<String>, E> {
        Ok(Some(s.to_owned()))
    }
}

/// `Option<String>`: text.
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(TextVisitor)
}

/// One id of a list: blank is no id there, so it is refused, by the
/// list's contract name.
#[derive(Clone, Copy)]
struct ListedId;

impl<'de> DeserializeSeed<'de> for ListedId {
    type Value = u64;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        const REFUSAL: &str = "invalid {name}";
        d.deserialize_any(IdVisitor(REFUSAL))?
            .ok_or_else(|| de::Error::custom(REFUSAL))
    }
}

/// `Option<Vec<u64>>`: an array of ids.
pub fn ids<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u64>>, D::Error> {
    d.deserialize_any(ListVisitor(ListedId))
}

/// A user id: a non-blank string (trimmed) or a number (its digits);
/// blank is absent. Holds its refusal, as [`IdVisitor`] does.
struct UserVisitor(&'static str);

impl<'de> Visitor<'de> for UserVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Option<String>, E> {
        Ok(Some(n.to_string()))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Option<String>, E> {
        Ok(Some(n.to_string()))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Option<String>, E> {
        Ok(Some(n.to_string()))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Option<String>, E> {
        Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty()))
    }
}

/// `Option<String>`: a user.
pub fn user<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(UserVisitor("invalid {key}"))
}

/// `String`: a user the event cannot go without.
pub fn required_user<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    user(d)?.ok_or_else(required)
}

/// `Result<Option<String>, String>`: a user whose refusal waits until
/// the handler knows it needs it (`otherUserId` when no chat is named).
pub fn user_if_needed<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Result<Option<String>, String>, D::Error> {
    Ok(user(d).map_err(|e| e.to_string()))
}

/// One user of a list: blank is refused, by the list's contract name.
#[derive(Clone, Copy)]
struct ListedUser;

impl<'de> DeserializeSeed<'de> for ListedUser {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        const REFUSAL: &str = "invalid {name}";
        d.deserialize_any(UserVisitor(REFUSAL))?
            .ok_or_else(|| de::Error::custom(REFUSAL))
    }
}

/// `Vec<String>`: users the event cannot go without.
pub fn required_users<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    d.deserialize_any(ListVisitor(ListedUser))?
        .ok_or_else(required)
}

/// A boolean, as JSON's `true` or `false`.
struct FlagVisitor;

impl<'de> Visitor<'de> for FlagVisitor {
    type Value = Option<bool>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{KEY} must be a boolean")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<bool>, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Option<bool>, E> {
        Ok(Some(b))
    }
}

/// `bool`: a flag the event cannot go without.
pub fn required_flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    d.deserialize_any(FlagVisitor)?.ok_or_else(required)
}

/// An array, each item read by the seed `S` (an id, a user, a request
/// of its own).
struct ListVisitor<S>(S);

impl<'de, S: DeserializeSeed<'de> + Copy> Visitor<'de> for ListVisitor<S> {
    type Value = Option<Vec<S::Value>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{KEY} must be an array")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Self::Value, A::Error> {
        let mut list = Vec::with_capacity(items.size_hint().unwrap_or(0));
        while let Some(item) = items.next_element_seed(self.0)? {
            list.push(item);
        }
        Ok(Some(list))
    }
}

/// An object of a list, a request of its own; whatever does not fit is
/// refused by the list's contract name.
struct Listed<T>(std::marker::PhantomData<T>);

impl<T> Clone for Listed<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Listed<T> {}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Listed<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        T::deserialize(d).map_err(|_| de::Error::custom(format!("invalid {NAME}")))
    }
}

/// `Option<Vec<T>>`: a list of objects.
pub fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Vec<T>>, D::Error> {
    d.deserialize_any(ListVisitor(Listed(std::marker::PhantomData)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Deserialize, Debug)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        #[serde(deserialize_with = "required_id")]
        chat_header_id: u64,
        #[serde(deserialize_with = "id")]
        last_message_id: Option<u64>,
        #[serde(deserialize_with = "count")]
        skip_count: Option<u64>,
        #[serde(deserialize_with = "text")]
        message: Option<String>,
        #[serde(deserialize_with = "ids")]
        ids: Option<Vec<u64>>,
        #[serde(deserialize_with = "id_if_needed")]
        id: Result<Option<u64>, String>,
    }

    fn probe(value: serde_json::Value) -> Result<Probe, String> {
        let input = Input::from_value(value);
        read::<Probe>(&input).map_err(|refusal| refusal.to_string())
    }

    #[test]
    fn names_match_in_any_case_the_exact_one_first() {
        let p = probe(json!({"ChatHeaderId": "12", "LASTMESSAGEID": 7, "skipcount": "3"})).unwrap();
        assert_eq!(
            (p.chat_header_id, p.last_message_id, p.skip_count),
            (12, Some(7), Some(3))
        );
        let p = probe(json!({"ChatHeaderId": 1, "chatHeaderId": 2})).unwrap();
        assert_eq!(p.chat_header_id, 2);
        let p = probe(json!({"chatHeaderId": null, "CHATHEADERID": 4})).unwrap();
        assert_eq!(p.chat_header_id, 4, "null counts as absent");
    }

    #[test]
    fn ids_are_positive_numbers_or_numeric_strings() {
        let p = probe(json!({"chatHeaderId": " 9 ", "lastMessageId": ""})).unwrap();
        assert_eq!(
            (p.chat_header_id, p.last_message_id),
            (9, None),
            "blank is absent"
        );
        for bad in [
            json!("x"),
            json!(-1),
            json!(0),
            json!(1.5),
            json!(true),
            json!({}),
            json!([1]),
        ] {
            let err = probe(json!({"chatHeaderId": 1, "LastMessageId": bad})).unwrap_err();
            assert_eq!(err, "invalid LastMessageId", "the key as sent");
        }
    }

    #[test]
    fn a_missing_or_blank_required_id_is_named_as_the_contract_spells_it() {
        assert_eq!(probe(json!({})).unwrap_err(), "chatHeaderId is required");
        assert_eq!(
            probe(json!({"CHATHEADERID": "  "})).unwrap_err(),
            "chatHeaderId is required"
        );
        assert_eq!(
            probe(json!({"ChatHeaderId": "a"})).unwrap_err(),
            "invalid ChatHeaderId"
        );
    }

    #[test]
    fn fields_are_refused_in_declaration_order() {
        let err = probe(json!({"skipCount": "x", "lastMessageId": "y"})).unwrap_err();
        assert_eq!(err, "chatHeaderId is required");
        let err =
            probe(json!({"chatHeaderId": 1, "skipCount": "x", "lastMessageId": "y"})).unwrap_err();
        assert_eq!(err, "invalid lastMessageId");
    }

    #[test]
    fn counts_texts_and_arrays_say_what_they_must_be() {
        let err = probe(json!({"chatHeaderId": 1, "SkipCount": ""})).unwrap_err();
        assert_eq!(err, "invalid SkipCount", "a blank count is refused");
        assert_eq!(
            probe(json!({"chatHeaderId": 1, "skipCount": 0}))
                .unwrap()
                .skip_count,
            Some(0)
        );
        let err = probe(json!({"chatHeaderId": 1, "Message": 5})).unwrap_err();
        assert_eq!(err, "Message must be a string");
        assert_eq!(
            probe(json!({"chatHeaderId": 1, "message": " "}))
                .unwrap()
                .message
                .as_deref(),
            Some(" ")
        );
        let err = probe(json!({"chatHeaderId": 1, "IDS": "1"})).unwrap_err();
        assert_eq!(err, "IDS must be an array");
        let err = probe(json!({"chatHeaderId": 1, "IDS": [1, ""]})).unwrap_err();
        assert_eq!(
            err, "invalid ids",
            "a listed id is refused by the list's name"
        );
        assert_eq!(
            probe(json!({"chatHeaderId": 1, "ids": ["2", 3]}))
                .unwrap()
                .ids,
            Some(vec![2, 3])
        );
    }

    #[test]
    fn a_deferred_id_keeps_its_refusal_for_the_handler() {
        let p = probe(json!({"chatHeaderId": 1, "ids": [2], "Id": "x"})).unwrap();
        assert_eq!(p.id, Err("invalid Id".to_owned()));
        assert_eq!(
            probe(json!({"chatHeaderId": 1, "id": 5})).unwrap().id,
            Ok(Some(5))
        );
    }

    #[derive(Deserialize, Debug)]
    #[serde(rename_all = "camelCase")]
    struct People {
        #[serde(deserialize_with = "required_user")]
        other_user_id: String,
        #[serde(deserialize_with = "required_flag")]
        is_typing: bool,
        #[serde(deserialize_with = "user_if_needed")]
        participant_id: Result<Option<String>, String>,
    }

    fn people(value: serde_json::Value) -> Result<People, String> {
        let input = Input::from_value(value);
        read::<People>(&input).map_err(|refusal| refusal.to_string())
    }

    #[test]
    fn users_are_trimmed_strings_or_numbers_and_flags_booleans() {
        let p =
            people(json!({"OtherUserId": " u1 ", "isTyping": false, "participantId": 7})).unwrap();
        assert_eq!((p.other_user_id.as_str(), p.is_typing), ("u1", false));
        assert_eq!(p.participant_id, Ok(Some("7".to_owned())));
        let err = people(json!({"otherUserId": " ", "isTyping": true})).unwrap_err();
        assert_eq!(err, "otherUserId is required", "a blank user is absent");
        let err = people(json!({"OtherUserId": ["u1"], "isTyping": true})).unwrap_err();
        assert_eq!(err, "invalid OtherUserId");
        let err = people(json!({"otherUserId": "u1"})).unwrap_err();
        assert_eq!(err, "isTyping is required");
        let err = people(json!({"otherUserId": "u1", "IsTyping": "yes"})).unwrap_err();
        assert_eq!(err, "IsTyping must be a boolean");
        let p =
            people(json!({"otherUserId": "u1", "isTyping": true, "ParticipantId": {}})).unwrap();
        assert_eq!(p.participant_id, Err("invalid ParticipantId".to_owned()));
    }

    #[derive(Deserialize, Debug)]
    struct Group {
        #[serde(rename = "userIds|participantIds", deserialize_with = "required_users")]
        users: Vec<String>,
    }

    fn group(value: serde_json::Value) -> Result<Vec<String>, String> {
        let input = Input::from_value(value);
        read::<Group>(&input)
            .map(|group| group.users)
            .map_err(|refusal| refusal.to_string())
    }

    #[test]
    fn alternative_names_read_one_field_named_by_the_first() {
        assert_eq!(
            group(json!({"participantIds": [" a ", 2]})).unwrap(),
            ["a", "2"]
        );
        assert_eq!(
            group(json!({"PARTICIPANTIDS": ["b"], "participantIds": null})).unwrap(),
            ["b"]
        );
        let exact_first = json!({"UserIds": ["x"], "participantIds": ["y"]});
        assert_eq!(group(exact_first).unwrap(), ["y"]);
        assert_eq!(group(json!({})).unwrap_err(), "userIds is required");
        assert_eq!(
            group(json!({"ParticipantIds": "a"})).unwrap_err(),
            "ParticipantIds must be an array"
        );
        assert_eq!(
            group(json!({"participantIds": ["a", " "]})).unwrap_err(),
            "invalid userIds"
        );
        assert_eq!(
            group(json!({"participantIds": [true]})).unwrap_err(),
            "invalid userIds"
        );
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Room {
        #[serde(deserialize_with = "required_id")]
        chat_header_id: u64,
        #[serde(deserialize_with = "count")]
        last_message_id: Option<u64>,
    }

    #[derive(Deserialize, Debug)]
    #[serde(rename_all = "PascalCase")]
    struct Rooms {
        #[serde(deserialize_with = "rooms")]
        rooms: Option<Vec<Room>>,
    }

    fn rooms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Room>>, D::Error> {
        list(d)
    }

    #[test]
    fn objects_in_a_list_are_read_by_the_same_rules_and_refused_by_the_list() {
        let input = Input::from_value(
            json!({"rooms": [{"chatHeaderId": "3"}, {"CHATHEADERID": 4, "lastMessageId": 9}]}),
        );
        let rooms = read::<Rooms>(&input).unwrap().rooms.unwrap();
        let room = |chat_header_id, last_message_id| Room {
            chat_header_id,
            last_message_id,
        };
        assert_eq!(rooms, [room(3, None), room(4, Some(9))]);
        for bad in [
            json!([{"lastMessageId": 1}]),
            json!([null]),
            json!([5]),
            json!([{"ChatHeaderId": 1, "LastMessageId": "x"}]),
        ] {
            let input = Input::from_value(json!({"ROOMS": bad}));
            assert_eq!(
                read::<Rooms>(&input).unwrap_err().to_string(),
                "invalid Rooms"
            );
        }
        let input = Input::from_value(json!({"ROOMS": {}}));
        assert_eq!(
            read::<Rooms>(&input).unwrap_err().to_string(),
            "ROOMS must be an array"
        );
    }

    #[test]
    fn a_request_is_a_struct() {
        let input = Input::from_value(json!({"chatHeaderId": 1}));
        let err = read::<u64>(&input).unwrap_err();
        assert_eq!(err.to_string(), "a request is read as a struct");
    }
}
