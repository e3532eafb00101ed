//! What the client prints: aligned tables for people, proto3 JSON for scripts.

use super::fields::verification_type_flag;
use anyhow::Context;
use hookgate_proto::v1 as pb;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use std::io::Write;

pub struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    pub fn webhook(&self, webhook: &pb::Webhook) -> anyhow::Result<()> {
        if self.json {
            return print_json(&to_json("hookgate.v1.Webhook", webhook)?);
        }
        print(&key_values(&webhook_rows(webhook)))
    }

    pub fn webhooks(&self, webhooks: &[pb::Webhook]) -> anyhow::Result<()> {
        if self.json {
            let list = webhooks
                .iter()
                .map(|webhook| to_json("hookgate.v1.Webhook", webhook))
                .collect::<anyhow::Result<Vec<_>>>()?;
            return print_json(&serde_json::Value::Array(list));
        }
        if webhooks.is_empty() {
            return print("no webhooks\n");
        }
        let mut rows = vec![["NAME", "DISPLAY NAME", "VERIFICATION", "DISABLED", "URL"]
            .map(str::to_owned)
            .to_vec()];
        rows.extend(webhooks.iter().map(|webhook| {
            vec![
                webhook.name.clone(),
                webhook.display_name.clone(),
                verification(webhook.verification_type),
                yes_no(webhook.disabled).to_owned(),
                webhook.url.clone(),
            ]
        }));
        print(&columns(&rows))
    }

    pub fn deleted(&self, name: &str) -> anyhow::Result<()> {
        if self.json {
            // google.protobuf.Empty.
            return print_json(&serde_json::json!({}));
        }
        print(&format!("deleted {name}\n"))
    }

    pub fn test(&self, response: &pb::TestWebhookResponse) -> anyhow::Result<()> {
        if self.json {
            return print_json(&to_json("hookgate.v1.TestWebhookResponse", response)?);
        }
        let mut rows = vec![("status", response.status_code.to_string())];
        if response.event_id.is_empty() {
            rows.push(("published", "no".to_owned()));
        } else {
            rows.push(("event id", response.event_id.clone()));
            rows.push((
                "published to",
                format!(
                    "{} partition {} offset {}",
                    response.topic, response.partition, response.offset
                ),
            ));
        }
        let mut headers: Vec<_> = response.headers.iter().collect();
        headers.sort();
        for (name, value) in headers {
            rows.push(("header", format!("{name}: {value}")));
        }
        rows.push(("body", response.body.clone()));
        print(&key_values(&rows))
    }

    pub fn providers(&self, providers: &[pb::VerificationProvider]) -> anyhow::Result<()> {
        if self.json {
            let list = providers
                .iter()
                .map(|provider| to_json("hookgate.v1.VerificationProvider", provider))
                .collect::<anyhow::Result<Vec<_>>>()?;
            return print_json(&serde_json::Value::Array(list));
        }
        let mut rows = vec![[
            "ID",
            "NAME",
            "HANDSHAKE",
            "DEDUPLICATION KEY",
            "SIGNING SECRET",
        ]
        .map(str::to_owned)
        .to_vec()];
        rows.extend(providers.iter().map(|provider| {
            vec![
                provider.id.clone(),
                provider.display_name.clone(),
                yes_no(provider.handshake).to_owned(),
                provider.deduplication_key.clone(),
                provider.secret_description.clone(),
            ]
        }));
        print(&columns(&rows))
    }
}

fn webhook_rows(webhook: &pb::Webhook) -> Vec<(&'static str, String)> {
    let optional = |value: &str| match value {
        "" => "-".to_owned(),
        value => value.to_owned(),
    };
    vec![
        ("name", webhook.name.clone()),
        ("display name", webhook.display_name.clone()),
        ("description", optional(&webhook.description)),
        ("url", webhook.url.clone()),
        ("disabled", yes_no(webhook.disabled).to_owned()),
        ("verification", verification(webhook.verification_type)),
        ("provider", optional(&webhook.verification_provider)),
        ("verification code", optional(&webhook.verification_code)),
        ("signing secret", set_or_not(webhook.has_signing_secret)),
        (
            "previous secret until",
            timestamp(webhook.previous_secret_expire_time.as_ref()),
        ),
        (
            "response code",
            match webhook.response_code {
                0 => "200".to_owned(),
                code => code.to_string(),
            },
        ),
        ("wait for reply", yes_no(webhook.wait_for_reply).to_owned()),
        (
            "reply timeout",
            webhook
                .reply_timeout
                .as_ref()
                .map_or_else(|| "-".to_owned(), ToString::to_string),
        ),
        ("basic auth user", optional(&webhook.basic_auth_username)),
        (
            "basic auth password",
            set_or_not(webhook.has_basic_auth_password),
        ),
        ("created", timestamp(webhook.create_time.as_ref())),
        ("updated", timestamp(webhook.update_time.as_ref())),
        ("etag", webhook.etag.clone()),
    ]
}

fn verification(value: i32) -> String {
    match pb::VerificationType::try_from(value) {
        Ok(pb::VerificationType::Unspecified) => "none".to_owned(),
        Ok(kind) => verification_type_flag(kind),
        Err(_) => value.to_string(),
    }
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

fn set_or_not(value: bool) -> String {
    if value { "set" } else { "not set" }.to_owned()
}

fn timestamp(value: Option<&prost_types::Timestamp>) -> String {
    value.map_or_else(|| "-".to_owned(), ToString::to_string)
}

/// Two columns, the first padded; a value's later lines are indented under its first.
fn key_values(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (key, value) in rows {
        let indent = format!("\n{:width$}  ", "");
        out.push_str(&format!(
            "{key:width$}  {}\n",
            value.trim_end().replace('\n', &indent)
        ));
    }
    out
}

/// Rows padded into columns; the last column is not padded.
fn columns(rows: &[Vec<String>]) -> String {
    let count = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..count)
        .map(|i| {
            rows.iter()
                .map(|row| row.get(i).map_or(0, |cell| cell.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, cell)| match i + 1 == count {
                true => cell.clone(),
                false => format!("{cell:width$}", width = widths[i]),
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// A message in proto3's JSON mapping, through its descriptor, with the field names of the
/// .proto files (which every proto3 JSON parser also accepts).
fn to_json(full_name: &str, message: &impl prost::Message) -> anyhow::Result<serde_json::Value> {
    let pool =
        DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).context("reading the API's descriptors")?;
    let descriptor = pool
        .get_message_by_name(full_name)
        .with_context(|| format!("{full_name} is not in the API's descriptors"))?;
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .with_context(|| format!("re-reading a {full_name}"))?;
    let options = SerializeOptions::new().use_proto_field_name(true);
    dynamic
        .serialize_with_options(serde_json::value::Serializer, &options)
        .with_context(|| format!("writing a {full_name} as JSON"))
}

fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    print(&text)
}

/// Writes to stdout; a closed pipe (`| head`) is an error rather than a panic.
fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("writing to stdout")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_follows_the_proto3_mapping() {
        let webhook = pb::Webhook {
            name: "applications/a/webhooks/w".into(),
            verification_type: pb::VerificationType::Github as i32,
            reply_timeout: Some(prost_types::Duration {
                seconds: 90,
                nanos: 0,
            }),
            create_time: Some(prost_types::Timestamp {
                seconds: 1_795_000_000,
                nanos: 0,
            }),
            ..Default::default()
        };
        let json = to_json("hookgate.v1.Webhook", &webhook).unwrap();
        assert_eq!(json["name"], "applications/a/webhooks/w");
        assert_eq!(json["verification_type"], "VERIFICATION_TYPE_GITHUB");
        assert_eq!(json["reply_timeout"], "90s");
        assert_eq!(json["create_time"], "2026-11-18T11:06:40Z");
        assert!(json.get("disabled").is_none(), "defaults are omitted");
    }

    #[test]
    fn columns_line_up() {
        let rows = vec![
            vec!["A".to_owned(), "B".to_owned()],
            vec!["long".to_owned(), "x".to_owned()],
        ];
        assert_eq!(columns(&rows), "A     B\nlong  x\n");
        assert_eq!(
            key_values(&[("k", "one\ntwo".to_owned()), ("key", "v".to_owned())]),
            "k    one\n     two\nkey  v\n"
        );
    }
}
