//! Records handed to librdkafka on a topic handle kept per producer, without a copy.
//!
//! rust-rdkafka's `send` names the topic on every record, so librdkafka looks it up under
//! its client-wide write lock, and it always has librdkafka copy the value: on the async
//! worker, an allocation of the record's size and a copy, and the matching free when the
//! report comes back. Here the topic handle is made once per producer, and the record
//! travels with its message as the delivery opaque: librdkafka reads the value where it
//! is, and the delivery report hands the record back.
//!
//! With `reports`, the only unsafe code of the crate.
#![allow(unsafe_code)]

use hookgate_domain::trigger::TriggerRecord;
use rdkafka::{
    bindings as rdsys,
    producer::{BaseProducer, Producer as _, ProducerContext},
    types::{RDKafkaErrorCode, RDKafkaRespErr},
    util::IntoOpaque,
};
use std::{ffi::CString, os::raw::c_void, ptr};

/// The entries given to librdkafka: topic, flags, value, key, headers, opaque.
const ENTRIES: usize = 6;

/// A record in librdkafka's hands, and where its verdict goes once Kafka has decided.
pub(crate) struct InFlight<V> {
    pub(crate) verdict: tokio::sync::oneshot::Sender<V>,
    pub(crate) record: TriggerRecord,
}

/// librdkafka's handle of the one topic a producer writes to.
pub(crate) struct TopicHandle(*mut rdsys::rd_kafka_topic_t);

// SAFETY: librdkafka topic handles are reference counted and may be used from any thread.
unsafe impl Send for TopicHandle {}
// SAFETY: as above; the handle is only passed to librdkafka's own functions.
unsafe impl Sync for TopicHandle {}

impl TopicHandle {
    /// The handle of `topic` on `producer`, with the topic settings of its configuration.
    /// Must be dropped before the producer.
    pub(crate) fn new<C: ProducerContext>(producer: &BaseProducer<C>, topic: &str) -> Option<Self> {
        let name = CString::new(topic).ok()?;
        // SAFETY: the client pointer is valid for `producer`'s life, which outlasts this
        // handle (see `Drop`); librdkafka copies the name.
        let handle = unsafe {
            rdsys::rd_kafka_topic_new(
                producer.client().native_ptr(),
                name.as_ptr(),
                ptr::null_mut(),
            )
        };
        (!handle.is_null()).then_some(Self(handle))
    }
}

impl Drop for TopicHandle {
    fn drop(&mut self) {
        // SAFETY: releases the reference taken in `new`; messages keep their own.
        unsafe { rdsys::rd_kafka_topic_destroy(self.0) }
    }
}

fn entry(
    vtype: rdsys::rd_kafka_vtype_t,
    u: rdsys::rd_kafka_vu_s__bindgen_ty_1,
) -> rdsys::rd_kafka_vu_t {
    rdsys::rd_kafka_vu_t { vtype, u }
}

/// The record's headers as librdkafka's list; the names are copied with their length,
/// as they carry no NUL.
fn headers(record: &TriggerRecord) -> *mut rdsys::rd_kafka_headers_t {
    // SAFETY: a new list, owned by the caller; every name and value is copied.
    unsafe {
        let list = rdsys::rd_kafka_headers_new(record.headers.len());
        for (name, value) in &record.headers {
            rdsys::rd_kafka_header_add(
                list,
                name.as_ptr().cast(),
                name.len() as isize,
                value.as_ptr().cast(),
                value.len() as isize,
            );
        }
        list
    }
}

/// Enqueues `flight`'s record on `topic`. librdkafka keeps the box until the record's
/// delivery report, which gives it back to `C::delivery`; on failure it is returned here.
pub(crate) fn produce<C, V>(
    producer: &BaseProducer<C>,
    topic: &TopicHandle,
    flight: Box<InFlight<V>>,
) -> Result<(), (RDKafkaErrorCode, Box<InFlight<V>>)>
where
    C: ProducerContext<DeliveryOpaque = Box<InFlight<V>>>,
    V: Send + Sync,
{
    use rdsys::rd_kafka_vtype_t::*;
    use rdsys::rd_kafka_vu_s__bindgen_ty_1 as Value;
    let memory = |bytes: &[u8]| Value {
        mem: rdsys::rd_kafka_vu_s__bindgen_ty_1__bindgen_ty_1 {
            ptr: bytes.as_ptr() as *mut c_void,
            size: bytes.len(),
        },
    };
    let (value, key) = (
        memory(&flight.record.value),
        memory(flight.record.key.as_bytes()),
    );
    let headers = headers(&flight.record);
    let opaque = flight.into_ptr();
    let entries: [rdsys::rd_kafka_vu_t; ENTRIES] = [
        entry(RD_KAFKA_VTYPE_RKT, Value { rkt: topic.0 }),
        // No copy, no free: the value stays in the record, which librdkafka holds as the
        // opaque until the delivery report. (The key is always copied.)
        entry(RD_KAFKA_VTYPE_MSGFLAGS, Value { i: 0 }),
        entry(RD_KAFKA_VTYPE_VALUE, value),
        entry(RD_KAFKA_VTYPE_KEY, key),
        entry(RD_KAFKA_VTYPE_HEADERS, Value { headers }),
        entry(RD_KAFKA_VTYPE_OPAQUE, Value { ptr: opaque }),
    ];
    // SAFETY: the value and key point into the record owned by `opaque`, which librdkafka
    // owns from here until the delivery report or, on failure, gives back at once.
    let error = unsafe {
        rdsys::rd_kafka_produceva(producer.client().native_ptr(), entries.as_ptr(), ENTRIES)
    };
    if error.is_null() {
        // The message owns the header list now.
        return Ok(());
    }
    // SAFETY: a failed produce keeps nothing: the header list and the opaque are ours
    // again, each released once; the error is read, then destroyed.
    unsafe {
        rdsys::rd_kafka_headers_destroy(headers);
        let code: RDKafkaRespErr = rdsys::rd_kafka_error_code(error);
        rdsys::rd_kafka_error_destroy(error);
        Err((code.into(), Box::<InFlight<V>>::from_ptr(opaque)))
    }
}
