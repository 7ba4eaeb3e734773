//! Reading requests: a JSON body and a query string into typed structs,
//! with a 400 `{error}` that says what is wrong; ids that may be strings or
//! numbers; targets that may be one or a list.

use std::future::{Ready, ready};
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::HttpError;

/// A JSON body, whatever its Content-Type says, within the payload limit.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = HttpError;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<Body<T>, HttpError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = bytes.await.map_err(|err| {
                HttpError::new(
                    err.as_response_error().status_code(),
                    format!("cannot read the body: {err}"),
                )
            })?;
            parse_body(&bytes).map(Body)
        })
    }
}

/// Parses a JSON body into `T`.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, HttpError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(HttpError::bad_request("a JSON body is required"));
    }
    serde_json::from_slice(bytes)
        .map_err(|err| HttpError::bad_request(format!("invalid body: {err}")))
}

/// A query string.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = HttpError;
    type Future = Ready<Result<Query<T>, HttpError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map(Query))
    }
}

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, HttpError> {
    serde_urlencoded::from_str(query)
        .map_err(|err| HttpError::bad_request(format!("invalid query: {err}")))
}

/// An id that JSON may carry as a string or a whole number (SEAM's
/// `idUser` is a number): kept as text, never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Id(pub String);

fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() && s.len() <= 512 => Some(s.trim().to_owned()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

impl Id {
    /// An id from a URL path: the same rules as in a body.
    pub fn from_path(text: &str) -> Result<Id, HttpError> {
        id_text(&Value::String(text.to_owned()))
            .map(Id)
            .ok_or_else(|| HttpError::bad_request("the id in the path is blank or too long"))
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
        let value = Value::deserialize(d)?;
        id_text(&value).map(Id).ok_or_else(|| {
            D::Error::custom(format!(
                "expected a non-empty string or a whole number, found {value}"
            ))
        })
    }
}

/// One name or a list of them (rooms, users, socket ids); absent or `null`
/// is none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct List(pub Vec<String>);

impl<'de> Deserialize<'de> for List {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<List, D::Error> {
        let value = Value::deserialize(d)?;
        let items = match value {
            Value::Null => return Ok(List::default()),
            Value::Array(items) => items,
            one => vec![one],
        };
        if items.len() > 10_000 {
            return Err(D::Error::custom("more than 10000 names"));
        }
        items
            .iter()
            .map(|item| {
                id_text(item).ok_or_else(|| {
                    D::Error::custom(format!(
                        "expected non-empty strings or whole numbers, found {item}"
                    ))
                })
            })
            .collect::<Result<_, _>>()
            .map(List)
    }
}

/// For `Option<Value>` (or `Option<Box<RawValue>>`) fields where `null` is
/// a value: absent is `None`, `null` is `Some(null)`.
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        #[serde(default)]
        rooms: List,
        user: Option<Id>,
        #[serde(default, deserialize_with = "present")]
        data: Option<Value>,
    }

    fn parse(v: Value) -> Result<Sample, HttpError> {
        parse_body(v.to_string().as_bytes())
    }

    #[test]
    fn lists_take_one_or_many() {
        assert_eq!(parse(json!({"rooms": "a"})).unwrap().rooms.0, ["a"]);
        assert_eq!(
            parse(json!({"rooms": ["a", 7]})).unwrap().rooms.0,
            ["a", "7"]
        );
        assert_eq!(
            parse(json!({"rooms": null})).unwrap().rooms.0,
            Vec::<String>::new()
        );
        assert!(parse(json!({"rooms": [""]})).is_err());
        assert!(parse(json!({"rooms": [{"a": 1}]})).is_err());
        assert!(parse(json!({"rooms": [1.5]})).is_err());
    }

    #[test]
    fn ids_are_strings_or_whole_numbers() {
        assert_eq!(
            parse(json!({"user": 42})).unwrap().user,
            Some(Id("42".into()))
        );
        assert_eq!(
            parse(json!({"user": " u1 "})).unwrap().user,
            Some(Id("u1".into()))
        );
        assert!(parse(json!({"user": ""})).is_err());
        assert!(parse(json!({"user": true})).is_err());
    }

    #[test]
    fn data_null_is_not_absent() {
        assert_eq!(parse(json!({})).unwrap().data, None);
        assert_eq!(
            parse(json!({"data": null})).unwrap().data,
            Some(Value::Null)
        );
    }

    #[test]
    fn bad_bodies_say_why() {
        let err = parse(json!({"room": "typo"})).unwrap_err();
        assert_eq!(err.status(), actix_web::http::StatusCode::BAD_REQUEST);
        assert!(
            err.message().contains("unknown field `room`"),
            "{}",
            err.message()
        );
        let err = parse_body::<Sample>(b"").unwrap_err();
        assert_eq!(err.message(), "a JSON body is required");
        assert!(
            parse_body::<Sample>(b"{")
                .unwrap_err()
                .message()
                .starts_with("invalid body")
        );
    }

    #[test]
    fn queries_say_why() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Q {
            limit: Option<usize>,
        }
        assert!(parse_query::<Q>("limit=5").is_ok());
        assert!(
            parse_query::<Q>("limit=x")
                .unwrap_err()
                .message()
                .starts_with("invalid query")
        );
    }
}
