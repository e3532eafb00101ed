//! Logs to stderr, and spans to an OTLP collector when `OTEL_EXPORTER_OTLP_ENDPOINT` is set
//! (the standard `OTEL_*` variables configure the exporter).

use crate::Settings;
use anyhow::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider, Resource};
use tracing_subscriber::{
    filter::LevelFilter, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter, Layer,
};

/// Keeps the span exporter alive; `shutdown` flushes it.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            if let Err(error) = provider.shutdown() {
                tracing::warn!(%error, "span exporter did not shut down cleanly");
            }
        }
    }
}

/// Installs the subscriber. Must run inside the async runtime (the exporter uses it).
pub fn init(settings: &Settings) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_new(&settings.log)
        .map_err(|e| anyhow::anyhow!("HOOKGATE_LOG: invalid filter {:?}: {e}", settings.log))?;
    let json = settings.log_format == "json";
    let provider = match std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT") {
        Some(_) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .build()
                .context("OTEL_EXPORTER_OTLP_ENDPOINT: cannot build the OTLP exporter")?;
            let resource = Resource::builder().with_service_name("hookgate").build();
            opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
            Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_resource(resource)
                    .build(),
            )
        }
        None => None,
    };
    // Each layer filters for itself: HOOKGATE_LOG quietening the logs must not switch off
    // the spans that carry the trace context onto Kafka records.
    let logs = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed()
    };
    let spans = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("hookgate"))
            .with_filter(LevelFilter::INFO)
    });
    tracing_subscriber::registry()
        .with(logs)
        .with(spans)
        .try_init()
        .context("installing the tracing subscriber")?;
    if provider.is_some() {
        hookgate_gateway::export_request_spans();
        tracing::info!("exporting spans over OTLP");
    }
    Ok(Telemetry { provider })
}
