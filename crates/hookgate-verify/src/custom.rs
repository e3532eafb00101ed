//! `VERIFICATION_TYPE_HMAC`: a user's scheme, turned into the same [`SignatureSpec`] the
//! catalogue uses.

use crate::catalogue::{
    Algorithm, Encoding, KeyFormat, Location, Part, Separator, SignatureSpec, TimeUnit,
    TimestampSource, TimestampSpec,
};
use hookgate_domain::{FieldViolation, HmacAlgorithm, HmacScheme, SignatureEncoding};

/// The parts of `signed_content`, or a description of what is wrong with it.
pub fn parse_template(template: &str) -> Result<Vec<Part<'_>>, String> {
    let template = if template.is_empty() {
        "{body}"
    } else {
        template
    };
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(Part::Literal(&rest[..open]));
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("unclosed placeholder at {:?}", &rest[open..]))?;
        let name = &after[..close];
        parts.push(match name {
            "body" => Part::Body,
            "timestamp" => Part::Timestamp,
            "url" => Part::Url,
            "method" => Part::Method,
            other => match other.strip_prefix("header:") {
                Some(header) if http::HeaderName::from_bytes(header.as_bytes()).is_ok() => {
                    Part::Header(header)
                }
                Some(header) => return Err(format!("{header:?} is not a header name")),
                None => {
                    return Err(format!(
                    "unknown placeholder {{{other}}}; use {{body}}, {{timestamp}}, {{url}}, {{method}} or {{header:NAME}}"
                ))
                }
            },
        });
        rest = &after[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Literal(rest));
    }
    Ok(parts)
}

/// The scheme's rule violations, each under `{prefix}.hmac.{field}`.
pub fn violations(scheme: &HmacScheme, prefix: &str) -> Vec<FieldViolation> {
    let mut violations = Vec::new();
    let mut bad = |field: &str, description: String| {
        violations.push(FieldViolation::new(
            format!("{prefix}.hmac.{field}"),
            description,
        ))
    };
    if scheme.header.trim().is_empty() {
        bad("header", "is required".into());
    } else if http::HeaderName::from_bytes(scheme.header.as_bytes()).is_err() {
        bad(
            "header",
            format!("{:?} is not a header name", scheme.header),
        );
    }
    match parse_template(&scheme.signed_content) {
        Err(description) => bad("signed_content", description),
        Ok(parts) if parts.contains(&Part::Timestamp) && scheme.timestamp_header.is_empty() => bad(
            "timestamp_header",
            "is required when signed_content uses {timestamp}".into(),
        ),
        Ok(_) => {}
    }
    if !scheme.timestamp_header.is_empty()
        && http::HeaderName::from_bytes(scheme.timestamp_header.as_bytes()).is_err()
    {
        bad(
            "timestamp_header",
            format!("{:?} is not a header name", scheme.timestamp_header),
        );
    }
    if scheme.tolerance.is_zero() {
        bad("tolerance", "must be positive".into());
    }
    violations
}

/// The engine's description of `scheme`, over `parts` from [`parse_template`].
pub fn signature_spec<'a>(scheme: &'a HmacScheme, parts: &'a [Part<'a>]) -> SignatureSpec<'a> {
    SignatureSpec {
        algorithm: match scheme.algorithm {
            HmacAlgorithm::Sha1 => Algorithm::HmacSha1,
            HmacAlgorithm::Sha256 => Algorithm::HmacSha256,
            HmacAlgorithm::Sha512 => Algorithm::HmacSha512,
        },
        key: KeyFormat::Raw,
        location: Location::Header(&scheme.header),
        encoding: match scheme.encoding {
            SignatureEncoding::Hex => Encoding::Hex,
            SignatureEncoding::Base64 => Encoding::Base64,
        },
        prefix: &scheme.prefix,
        separator: Separator::CommaOrWhitespace,
        signed: parts,
        timestamp: (!scheme.timestamp_header.is_empty()).then_some(TimestampSpec {
            source: TimestampSource::Header(&scheme.timestamp_header),
            unit: TimeUnit::Seconds,
            tolerance_secs: scheme.tolerance.as_secs().max(1),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_become_parts() {
        assert_eq!(parse_template("").unwrap(), vec![Part::Body]);
        assert_eq!(
            parse_template("v0:{timestamp}:{body}").unwrap(),
            vec![
                Part::Literal("v0:"),
                Part::Timestamp,
                Part::Literal(":"),
                Part::Body
            ]
        );
        assert_eq!(
            parse_template("{method}{url}{header:X-Id}.").unwrap(),
            vec![
                Part::Method,
                Part::Url,
                Part::Header("X-Id"),
                Part::Literal(".")
            ]
        );
        assert!(parse_template("{bodyy}").unwrap_err().contains("{bodyy}"));
        assert!(parse_template("{body").unwrap_err().contains("unclosed"));
        assert!(parse_template("{header:a b}").is_err());
    }

    #[test]
    fn each_broken_rule_names_its_field() {
        let fields = |scheme: HmacScheme| -> Vec<String> {
            violations(&scheme, "webhook")
                .into_iter()
                .map(|v| v.field)
                .collect()
        };
        assert_eq!(fields(HmacScheme::default()), vec!["webhook.hmac.header"]);
        let base = HmacScheme {
            header: "X-Sig".into(),
            ..HmacScheme::default()
        };
        assert!(fields(base.clone()).is_empty());
        let unknown = HmacScheme {
            signed_content: "{nope}".into(),
            ..base.clone()
        };
        assert_eq!(fields(unknown), vec!["webhook.hmac.signed_content"]);
        let no_ts = HmacScheme {
            signed_content: "{timestamp}.{body}".into(),
            ..base
        };
        assert_eq!(fields(no_ts), vec!["webhook.hmac.timestamp_header"]);
    }
}
