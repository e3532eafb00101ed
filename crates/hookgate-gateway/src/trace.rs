//! W3C trace context: continue the caller's trace and hand it on to the Kafka record.

use hookgate_domain::trigger::is_valid_traceparent;
use opentelemetry::propagation::{Extractor, Injector};
use std::collections::HashMap;
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

/// Makes `span` a child of the trace named by the request's `traceparent`, when tracing
/// export is on.
pub(crate) fn continue_trace(span: &tracing::Span, headers: &http::HeaderMap) {
    let parent =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
    let _ = span.set_parent(parent);
}

/// The `traceparent` for the record: the current span when spans are exported, otherwise
/// the caller's own (valid) header, so the trace survives either way.
pub(crate) fn traceparent(headers: &http::HeaderMap) -> Option<String> {
    let context = tracing::Span::current().context();
    let mut injector = MapInjector(HashMap::new());
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&context, &mut injector));
    injector
        .0
        .remove("traceparent")
        .or_else(|| {
            headers
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .filter(|v| is_valid_traceparent(v))
}
