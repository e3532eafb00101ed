//! The librdkafka that hookgate builds (vendor/rdkafka-sys) counts an idempotent
//! producer's in-flight window in batches, as the broker's de-duplication window does.
//! Stock librdkafka counts records there: once one batch of five records is out, no
//! further request may leave for that partition until it is acknowledged, which is what
//! made the broker thread spin with no linger. The mock cluster's round-trip time makes
//! the difference a whole round trip wide.

use rdkafka::{
    config::ClientConfig,
    mocking::MockCluster,
    producer::{FutureProducer, FutureRecord},
    util::Timeout,
};
use std::time::{Duration, Instant};

const ROUND_TRIP: Duration = Duration::from_millis(1_000);
const LINGER_MS: u64 = 50;

fn record(payload: &str) -> FutureRecord<'_, str, str> {
    FutureRecord::to("window").payload(payload).key("k")
}

#[tokio::test]
async fn a_batch_of_five_records_does_not_hold_back_the_next_one() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic("window", 1, 1).expect("topic");
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("enable.idempotence", "true")
        .set("max.in.flight.requests.per.connection", "5")
        .set("linger.ms", LINGER_MS.to_string())
        .create()
        .expect("producer");
    // Connected, with a producer id, before the round trip grows.
    producer
        .send(record("warm-up"), Timeout::After(Duration::from_secs(10)))
        .await
        .expect("warm-up record");
    cluster
        .broker_round_trip_time(1, ROUND_TRIP)
        .expect("round-trip time");

    let five: Vec<_> = (0..5)
        .map(|i| {
            producer
                .send_result(record(&format!("batch {i}")))
                .expect("enqueued")
        })
        .collect();
    // The five leave together after the linger; the sixth comes while they are out.
    tokio::time::sleep(Duration::from_millis(3 * LINGER_MS)).await;
    let sixth_sent = Instant::now();
    let sixth = producer.send_result(record("sixth")).expect("enqueued");

    let delivered = sixth.await.expect("delivery report").expect("acknowledged");
    let waited = sixth_sent.elapsed();
    for first in five {
        first.await.expect("delivery report").expect("acknowledged");
    }
    assert_eq!(delivered.partition, 0, "one partition");
    // Its own round trip plus the linger, not the first batch's remaining round trip
    // before it: stock librdkafka takes about 1.9 s here.
    assert!(
        waited < ROUND_TRIP + ROUND_TRIP / 2,
        "the sixth record waited {waited:?}: its request was held back by the first batch"
    );
}
