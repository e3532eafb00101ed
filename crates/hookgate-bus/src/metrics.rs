//! Kafka client metrics. The `client` label is one of a fixed few names (`producer`,
//! `replies`), never a topic or broker address.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ClientLabel {
    pub client: &'static str,
}

/// Shared by every client built from one [`crate::KafkaConfig`]; register it once.
#[derive(Clone, Default)]
pub struct BusMetrics {
    pub(crate) brokers_up: Family<ClientLabel, Gauge>,
    pub(crate) broker_down: Family<ClientLabel, Counter>,
    pub(crate) producer_replaced: Counter,
}

impl std::fmt::Debug for BusMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BusMetrics")
    }
}

impl BusMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "kafka_brokers_up",
            "1 while the client reaches Kafka, 0 during an outage",
            self.brokers_up.clone(),
        );
        registry.register(
            "kafka_broker_down",
            "Outages: times a client lost every broker",
            self.broker_down.clone(),
        );
        registry.register(
            "kafka_producer_replaced",
            "Producers replaced after reaching a fatal state",
            self.producer_replaced.clone(),
        );
    }

    pub(crate) fn set_up(&self, client: &'static str, up: bool) {
        self.brokers_up
            .get_or_create(&ClientLabel { client })
            .set(i64::from(up));
    }

    pub(crate) fn count_outage(&self, client: &'static str) {
        self.broker_down
            .get_or_create(&ClientLabel { client })
            .inc();
    }
}
