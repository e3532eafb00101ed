//! W3C trace context: continue the caller's trace and hand it on to the Kafka record.

use hookgate_domain::{trigger::is_valid_traceparent, WebhookName};
use opentelemetry::propagation::{Extractor, Injector};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct MapInjector(HashMap<String, String>);

impl Injector for MapInjector {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

/// Whether spans leave the process; set once, by whoever installs the exporter.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Gives each ingress request a span of its own, continuing the caller's trace. Called
/// when spans are exported: a span that only the logs would see cost about a tenth of a
/// request's CPU in the ingress benchmark, and a request's log events name their webhook
/// themselves.
pub fn export_request_spans() {
    EXPORTING.store(true, Ordering::Relaxed);
}

/// The request's span, a child of the trace its `traceparent` names; none when spans are
/// not exported.
pub(crate) fn request_span(
    webhook: &WebhookName,
    method: &http::Method,
    headers: &http::HeaderMap,
) -> tracing::Span {
    if !EXPORTING.load(Ordering::Relaxed) {
        return tracing::Span::none();
    }
    let span = tracing::info_span!(
        "webhook.request",
        webhook = %webhook,
        method = %method,
        otel.kind = "server",
    );
    let parent =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
    let _ = span.set_parent(parent);
    span
}

/// The `traceparent` for the record: the current span when spans are exported, otherwise
/// the caller's own (valid) header, so the trace survives either way.
pub(crate) fn traceparent(headers: &http::HeaderMap) -> Option<String> {
    let callers = || {
        headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .filter(|v| is_valid_traceparent(v))
            .map(str::to_owned)
    };
    if !EXPORTING.load(Ordering::Relaxed) {
        return callers();
    }
    let context = tracing::Span::current().context();
    let mut injector = MapInjector(HashMap::new());
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&context, &mut injector));
    injector
        .0
        .remove("traceparent")
        .filter(|v| is_valid_traceparent(v))
        .or_else(callers)
}
