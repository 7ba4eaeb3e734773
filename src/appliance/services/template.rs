//! Room and event name templates: `user:{id}`, `chat-{chatId}`, `seller-{arg}`.

use serde_json::Value;

/// Fills every `{name}` in `template` from `lookup`; `None` when a name has
/// no value, so a room is never built from a half-filled template.
pub fn render(template: &str, lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}')? + start;
        out.push_str(&rest[..start]);
        out.push_str(&lookup(&rest[start + 1..end])?);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// A JSON scalar as template text: strings as they are, numbers printed.
pub fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Looks a name up in an event's first argument: `{arg}` is the argument
/// itself (a string or number), any other name a field of it.
pub fn from_arg(arg: &Value) -> impl Fn(&str) -> Option<String> + '_ {
    move |name| match name {
        "arg" => scalar(arg),
        field => arg.get(field).and_then(scalar),
    }
}

/// The user room of `user_id` under `template` (`{id}`).
pub fn user_room(template: &str, user_id: &str) -> String {
    render(template, |name| (name == "id").then(|| user_id.to_owned()))
        .unwrap_or_else(|| template.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fills_names_from_an_argument() {
        assert_eq!(
            render("seller-{arg}", from_arg(&json!(42))).as_deref(),
            Some("seller-42")
        );
        assert_eq!(
            render("chat-{chatId}", from_arg(&json!({"chatId": "c1"}))).as_deref(),
            Some("chat-c1")
        );
        assert_eq!(
            render("sellers", from_arg(&json!(1))).as_deref(),
            Some("sellers")
        );
    }

    #[test]
    fn missing_values_give_no_room() {
        assert_eq!(render("chat-{chatId}", from_arg(&json!({}))), None);
        assert_eq!(render("seller-{arg}", from_arg(&json!({"a": 1}))), None);
        assert_eq!(render("seller-{arg}", from_arg(&json!(""))), None);
        assert_eq!(render("broken-{arg", from_arg(&json!(1))), None);
    }

    #[test]
    fn user_rooms_follow_the_template() {
        assert_eq!(user_room("user:{id}", "7"), "user:7");
        assert_eq!(user_room("user-{id}", "7"), "user-7");
    }
}
