//! Workflow replies (`wait_for_reply`): what a workflow may and may not make hookgate answer.

use bytes::Bytes;
use serde_json::Value;

/// Largest reply body hookgate sends back.
pub const MAX_REPLY_BODY: usize = 256 * 1024;
const ALLOWED_CONTENT_TYPES: [&str; 5] = [
    "application/json",
    "application/xml",
    "text/plain",
    "text/xml",
    "text/csv",
];
/// Security headers hookgate sets itself, and framing headers hyper computes.
const FIXED_HEADERS: [&str; 8] = [
    "x-content-type-options",
    "content-security-policy",
    "x-xss-protection",
    "content-type",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
];

/// The reply a workflow asked for, already made safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowReply {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// The `replyId` of a record on the reply topic, when it has one.
pub fn reply_id(value: &Value) -> Option<&str> {
    value.get("replyId")?.as_str()
}

/// Turns `{"replyId", "statusCode", "headers", "body"}` into a reply; `None` when the
/// message cannot be answered with (bad status, oversized body). A 1xx status is interim
/// in HTTP and cannot be a final answer, so it counts as bad.
pub fn to_reply(value: &Value) -> Option<WorkflowReply> {
    let status = match value.get("statusCode") {
        None | Some(Value::Null) => 200,
        Some(code) => u16::try_from(code.as_u64()?)
            .ok()
            .filter(|c| (200..=599).contains(c))?,
    };
    let mut content_type = "application/json";
    let mut headers = Vec::new();
    if let Some(Value::Object(map)) = value.get("headers") {
        for (name, header_value) in map {
            let text = match header_value {
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) => header_value.to_string(),
                _ => continue,
            };
            let lower = name.to_ascii_lowercase();
            if lower == "content-type" {
                let essence = crate::body::media_type(Some(&text));
                if let Some(allowed) = ALLOWED_CONTENT_TYPES.iter().find(|t| **t == essence) {
                    content_type = allowed;
                }
            } else if !FIXED_HEADERS.contains(&lower.as_str()) {
                headers.push((lower, text));
            }
        }
    }
    let body = match value.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(s)) => Bytes::from(s.clone()),
        Some(other) => Bytes::from(other.to_string()),
    };
    if body.len() > MAX_REPLY_BODY {
        return None;
    }
    Some(WorkflowReply {
        status,
        content_type,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn safe_reply_from_a_workflow_message() {
        let reply = to_reply(&json!({
            "replyId": "r1",
            "statusCode": 201,
            "headers": {"Content-Type": "text/csv; charset=utf-8", "X-Custom": "1", "X-Content-Type-Options": "off", "Content-Security-Policy": "none"},
            "body": "a,b"
        }))
        .unwrap();
        assert_eq!(reply.status, 201);
        assert_eq!(reply.content_type, "text/csv");
        assert_eq!(reply.headers, vec![("x-custom".to_owned(), "1".to_owned())]);
        assert_eq!(reply.body.as_ref(), b"a,b");
    }

    #[test]
    fn disallowed_content_types_fall_back_to_json_and_json_bodies_are_serialised() {
        let reply = to_reply(&json!({"replyId": "r", "headers": {"content-type": "text/html"}, "body": {"ok": true}})).unwrap();
        assert_eq!(reply.content_type, "application/json");
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body.as_ref(), br#"{"ok":true}"#);
    }

    #[test]
    fn bad_status_and_oversized_bodies_are_refused() {
        assert!(to_reply(&json!({"statusCode": 42})).is_none());
        assert!(to_reply(&json!({"statusCode": 101})).is_none());
        assert!(to_reply(&json!({"body": "x".repeat(MAX_REPLY_BODY + 1)})).is_none());
        assert_eq!(reply_id(&json!({"replyId": "abc"})), Some("abc"));
        assert_eq!(reply_id(&json!({"replyId": 1})), None);
    }
}
