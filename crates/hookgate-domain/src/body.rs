//! Turning a request body into the trigger record's `body` value.

use base64::Engine;
use bytes::Bytes;
use serde::Serialize;
use serde_json::{value::RawValue, Map, Value};
use std::borrow::Cow;

/// The record's `body`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum BodyValue<'a> {
    /// A JSON body, embedded as sent: key order, number precision and duplicate keys are
    /// the sender's, which a round trip through `Value` would not keep. Borrowed from the
    /// request, so it is checked but never copied.
    Json(&'a RawValue),
    Parsed(Value),
}

/// The parsed body, and `Some("base64")` when it had to be encoded.
pub struct ParsedBody<'a> {
    pub value: BodyValue<'a>,
    pub encoding: Option<&'static str>,
}

impl ParsedBody<'_> {
    fn plain(value: Value) -> Self {
        Self {
            value: BodyValue::Parsed(value),
            encoding: None,
        }
    }

    fn base64(body: &[u8]) -> Self {
        Self {
            value: BodyValue::Parsed(Value::String(
                base64::engine::general_purpose::STANDARD.encode(body),
            )),
            encoding: Some("base64"),
        }
    }

    /// A body whose claimed structure did not parse: kept as text, or base64 when not UTF-8.
    fn verbatim(body: &[u8]) -> Self {
        match std::str::from_utf8(body) {
            Ok(text) => Self::plain(Value::String(text.to_owned())),
            Err(_) => Self::base64(body),
        }
    }
}

/// The media type without parameters, lowercased: `application/json`. Borrowed when the
/// sender already wrote it in lowercase, as nearly every sender does.
pub fn media_type(content_type: Option<&str>) -> Cow<'_, str> {
    let essence = content_type
        .and_then(|ct| ct.split(';').next())
        .map_or("", str::trim);
    match essence.bytes().any(|b| b.is_ascii_uppercase()) {
        true => Cow::Owned(essence.to_ascii_lowercase()),
        false => Cow::Borrowed(essence),
    }
}

/// The deepest nesting of arrays and objects a body keeps as JSON. The record wraps the
/// body in two more levels (the value and its `data`), and serde_json, the strictest of
/// the common parsers, refuses a 128th level: so 125, and every record parses everywhere.
pub const MAX_JSON_DEPTH: usize = 125;

/// Whether `json` nests arrays and objects deeper than `limit`, counted on the bytes so a
/// deep body costs no recursion; brackets inside strings do not count. Strings, most of a
/// typical body, are skipped with `memchr` rather than byte by byte.
fn nests_deeper_than(json: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(&byte) = json.get(at) {
        at += 1;
        match byte {
            b'"' => at = past_string(json, at),
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Where the string whose content starts at `at` ends, past its closing quote (the end of
/// `json` when it is not closed).
fn past_string(json: &[u8], mut at: usize) -> usize {
    while let Some(rest) = json.get(at..) {
        match memchr::memchr2(b'"', b'\\', rest) {
            Some(found) if rest[found] == b'\\' => at += found + 2,
            Some(found) => return at + found + 1,
            None => break,
        }
    }
    json.len()
}

fn is_json(media_type: &str) -> bool {
    media_type == "application/json"
        || (media_type.starts_with("application/") && media_type.ends_with("+json"))
}

/// Parses `body` as its `Content-Type` says; never drops a byte.
pub async fn parse<'a>(content_type: Option<&str>, body: &'a Bytes) -> ParsedBody<'a> {
    if body.is_empty() {
        return ParsedBody::plain(Value::Null);
    }
    let media = media_type(content_type);
    if is_json(&media) {
        if nests_deeper_than(body, MAX_JSON_DEPTH) {
            return ParsedBody::verbatim(body);
        }
        return match serde_json::from_slice::<&RawValue>(body) {
            Ok(raw) => ParsedBody {
                value: BodyValue::Json(raw),
                encoding: None,
            },
            Err(_) => ParsedBody::verbatim(body),
        };
    }
    match media.as_ref() {
        "application/x-www-form-urlencoded" => match std::str::from_utf8(body) {
            Ok(_) => ParsedBody::plain(Value::Object(form_pairs(body))),
            Err(_) => ParsedBody::base64(body),
        },
        "multipart/form-data" => {
            // Boxed: multer's state would otherwise size every request's future, and
            // every request moves its future several times on its way to be polled.
            let multipart = parse_multipart(content_type.unwrap_or_default(), body.clone());
            match Box::pin(multipart).await {
                Some(object) => ParsedBody::plain(Value::Object(object)),
                None => ParsedBody::verbatim(body),
            }
        }
        text if text.starts_with("text/") => ParsedBody::verbatim(body),
        _ => ParsedBody::base64(body),
    }
}

/// `a=1&b=2&a=3` → `{"a":["1","3"],"b":"2"}`: repeated keys become arrays.
pub fn form_pairs(input: &[u8]) -> Map<String, Value> {
    let mut object = Map::new();
    for (key, value) in form_urlencoded::parse(input) {
        insert_repeatable(
            &mut object,
            key.into_owned(),
            Value::String(value.into_owned()),
        );
    }
    object
}

fn insert_repeatable(object: &mut Map<String, Value>, key: String, value: Value) {
    match object.get_mut(&key) {
        None => {
            object.insert(key, value);
        }
        Some(Value::Array(values)) => values.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
    }
}

async fn parse_multipart(content_type: &str, body: Bytes) -> Option<Map<String, Value>> {
    let boundary = multer::parse_boundary(content_type).ok()?;
    let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut object = Map::new();
    while let Some(field) = multipart.next_field().await.ok()? {
        let name = field.name().unwrap_or_default().to_owned();
        let value = match field.file_name().map(str::to_owned) {
            Some(filename) => {
                let content_type = field.content_type().map(|m| m.to_string());
                let data = field.bytes().await.ok()?;
                serde_json::json!({
                    "filename": filename,
                    "contentType": content_type,
                    "base64": base64::engine::general_purpose::STANDARD.encode(&data),
                })
            }
            None => Value::String(field.text().await.ok()?),
        };
        insert_repeatable(&mut object, name, value);
    }
    Some(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    async fn parsed(content_type: Option<&str>, body: &[u8]) -> (Value, Option<&'static str>) {
        let body = Bytes::copy_from_slice(body);
        let p = parse(content_type, &body).await;
        (serde_json::to_value(&p.value).unwrap(), p.encoding)
    }

    async fn serialised(content_type: &str, body: &str) -> String {
        let body = Bytes::copy_from_slice(body.as_bytes());
        let p = parse(Some(content_type), &body).await;
        serde_json::to_string(&p.value).unwrap()
    }

    #[test]
    fn media_type_is_the_lowercased_essence_borrowed_when_already_lowercase() {
        let lower = media_type(Some("application/json; charset=utf-8"));
        assert_eq!(lower, "application/json");
        assert!(matches!(lower, Cow::Borrowed(_)));
        let mixed = media_type(Some(" Application/JSON ;charset=UTF-8"));
        assert_eq!(mixed, "application/json");
        assert!(matches!(mixed, Cow::Owned(_)));
        assert_eq!(media_type(None), "");
        assert_eq!(media_type(Some("")), "");
    }

    #[tokio::test]
    async fn json_is_embedded_as_sent() {
        let body = r#"{"z":1,"a":12345678901234567890123,"f":1.10}"#;
        assert_eq!(serialised("application/json", body).await, body);
        assert_eq!(
            serialised("application/json", " [1, 2] \n").await,
            "[1, 2]",
            "surrounding whitespace is not part of the value"
        );
        assert_eq!(
            serialised("application/json", "[1] [2]").await,
            r#""[1] [2]""#,
            "two documents are not JSON: kept as text"
        );
    }

    #[tokio::test]
    async fn json_is_parsed_and_broken_json_kept_as_text() {
        assert_eq!(
            parsed(Some("application/json; charset=utf-8"), br#"{"a":[1]}"#).await,
            (json!({"a":[1]}), None)
        );
        assert_eq!(
            parsed(Some("application/cloudevents+json"), b"1").await,
            (json!(1), None)
        );
        assert_eq!(
            parsed(Some("application/json"), b"{nope").await,
            (json!("{nope"), None)
        );
        assert_eq!(
            parsed(Some("application/json"), &[0xff, 0xfe]).await,
            (json!("//4="), Some("base64"))
        );
    }

    fn nested(depth: usize) -> String {
        format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
    }

    #[tokio::test]
    async fn json_deeper_than_the_limit_is_kept_as_text() {
        let deepest = nested(MAX_JSON_DEPTH);
        let (value, _) = parsed(Some("application/json"), deepest.as_bytes()).await;
        assert!(value.is_object(), "{MAX_JSON_DEPTH} levels stay JSON");
        let deeper = nested(MAX_JSON_DEPTH + 1);
        assert_eq!(
            parsed(Some("application/json"), deeper.as_bytes()).await,
            (json!(deeper), None)
        );
        let arrays = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(
            parsed(Some("application/json"), arrays.as_bytes()).await,
            (json!(arrays), None)
        );
    }

    #[test]
    fn brackets_in_strings_are_not_nesting() {
        let quoted = format!(r#"["{}", "\"{}"]"#, "[".repeat(300), "{".repeat(300));
        assert!(!nests_deeper_than(quoted.as_bytes(), 1));
        assert!(nests_deeper_than(br#"[["x"]]"#, 1));
        assert!(!nests_deeper_than(br#"[["x"]]"#, 2));
        assert!(!nests_deeper_than(br#"[1],[2],[3]"#, 1));
        // An escaped backslash ends before the quote, which then closes the string.
        assert!(nests_deeper_than(br#"["\\", ["x"]]"#, 1));
        assert!(!nests_deeper_than(br#"["\\\"[[", "x"]"#, 1));
        // Unclosed strings and a final backslash end the scan without a panic.
        assert!(!nests_deeper_than(br#"["[[[["#, 1));
        assert!(!nests_deeper_than(br#"["\"#, 1));
    }

    /// The reference: strings cut out first, then the brackets left counted.
    fn nests_deeper_than_slowly(json: &[u8], limit: usize) -> bool {
        let mut outside_strings = Vec::new();
        let mut bytes = json.iter();
        while let Some(&byte) = bytes.next() {
            if byte != b'"' {
                outside_strings.push(byte);
                continue;
            }
            while let Some(&inner) = bytes.next() {
                if inner == b'\\' {
                    bytes.next();
                } else if inner == b'"' {
                    break;
                }
            }
        }
        let mut depth = 0usize;
        outside_strings.iter().any(|&byte| {
            if b"[{".contains(&byte) {
                depth += 1;
            } else if b"]}".contains(&byte) {
                depth = depth.saturating_sub(1);
            }
            depth > limit
        })
    }

    #[test]
    fn the_fast_depth_scan_agrees_with_the_byte_by_byte_one() {
        let alphabet = br#"[]{}"\ax"#;
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut disagreements = Vec::new();
        for case in 0..20_000 {
            let len = case % 40;
            let input: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    alphabet[(state % alphabet.len() as u64) as usize]
                })
                .collect();
            for limit in [0, 1, 2, 3] {
                if nests_deeper_than(&input, limit) != nests_deeper_than_slowly(&input, limit) {
                    disagreements.push((String::from_utf8_lossy(&input).into_owned(), limit));
                }
            }
        }
        assert!(
            disagreements.is_empty(),
            "{:?}",
            &disagreements[..disagreements.len().min(5)]
        );
    }

    #[tokio::test]
    async fn empty_body_is_null() {
        assert_eq!(
            parsed(Some("application/json"), b"").await,
            (Value::Null, None)
        );
    }

    #[tokio::test]
    async fn forms_become_objects_with_arrays_for_repeats() {
        assert_eq!(
            parsed(
                Some("application/x-www-form-urlencoded"),
                b"a=1&b=x+y&a=2&a=3"
            )
            .await,
            (json!({"a":["1","2","3"],"b":"x y"}), None)
        );
    }

    #[tokio::test]
    async fn multipart_fields_and_files() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nvalue\r\n--XyZ\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\nhi\r\n--XyZ--\r\n";
        let (value, encoding) =
            parsed(Some("multipart/form-data; boundary=XyZ"), body.as_bytes()).await;
        assert_eq!(encoding, None);
        assert_eq!(
            value,
            json!({"field":"value","upload":{"filename":"a.bin","contentType":"application/octet-stream","base64":"aGk="}})
        );
    }

    #[tokio::test]
    async fn broken_multipart_is_kept() {
        let (value, _) = parsed(Some("multipart/form-data; boundary=XyZ"), b"garbage").await;
        assert_eq!(value, json!("garbage"));
    }

    #[tokio::test]
    async fn text_is_a_string_and_the_rest_base64() {
        assert_eq!(
            parsed(Some("text/plain"), b"hello").await,
            (json!("hello"), None)
        );
        assert_eq!(
            parsed(Some("application/octet-stream"), b"hi").await,
            (json!("aGk="), Some("base64"))
        );
        assert_eq!(parsed(None, b"hi").await, (json!("aGk="), Some("base64")));
    }
}
