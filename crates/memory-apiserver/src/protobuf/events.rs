//! Events, core/v1 and events.k8s.io/v1. Every field is destructured
//! without `..`, so none is dropped unnoticed.

use k8s_pb::{
    api::{core::v1 as core, events::v1 as events},
    apimachinery::pkg::apis::meta::v1::Time,
};
use serde_json::{Value, json};

use super::{J, micro_time};

pub fn core_event(e: core::Event) -> J {
    let core::Event {
        metadata: _,
        involved_object,
        reason,
        message,
        source,
        first_timestamp,
        last_timestamp,
        count,
        r#type,
        event_time,
        series,
        action,
        related,
        reporting_component,
        reporting_instance,
    } = e;
    J::new()
        .value("involvedObject", involved_object.map(reference))
        .str("reason", reason)
        .str("message", message)
        .value("source", source.map(event_source))
        .value("firstTimestamp", first_timestamp.map(time))
        .value("lastTimestamp", last_timestamp.map(time))
        .nonzero("count", count.map(i64::from))
        .str("type", r#type)
        .value("eventTime", event_time.map(micro_time))
        .value(
            "series",
            series.map(|core::EventSeries { count, last_observed_time }| {
                J::new()
                    .int("count", count.map(i64::from))
                    .value("lastObservedTime", last_observed_time.map(micro_time))
                    .done()
            }),
        )
        .str("action", action)
        .value("related", related.map(reference))
        .str("reportingComponent", reporting_component)
        .str("reportingInstance", reporting_instance)
}

pub fn event(e: events::Event) -> J {
    let events::Event {
        metadata: _,
        event_time,
        series,
        reporting_controller,
        reporting_instance,
        action,
        reason,
        regarding,
        related,
        note,
        r#type,
        deprecated_source,
        deprecated_first_timestamp,
        deprecated_last_timestamp,
        deprecated_count,
    } = e;
    J::new()
        .value("eventTime", event_time.map(micro_time))
        .value(
            "series",
            series.map(|events::EventSeries { count, last_observed_time }| {
                J::new()
                    .int("count", count.map(i64::from))
                    .value("lastObservedTime", last_observed_time.map(micro_time))
                    .done()
            }),
        )
        .str("reportingController", reporting_controller)
        .str("reportingInstance", reporting_instance)
        .str("action", action)
        .str("reason", reason)
        .value("regarding", regarding.map(reference))
        .value("related", related.map(reference))
        .str("note", note)
        .str("type", r#type)
        .value("deprecatedSource", deprecated_source.map(event_source))
        .value("deprecatedFirstTimestamp", deprecated_first_timestamp.map(time))
        .value("deprecatedLastTimestamp", deprecated_last_timestamp.map(time))
        .nonzero("deprecatedCount", deprecated_count.map(i64::from))
}

fn reference(r: core::ObjectReference) -> Value {
    let core::ObjectReference { kind, namespace, name, uid, api_version, resource_version, field_path } = r;
    J::new()
        .str("kind", kind)
        .str("namespace", namespace)
        .str("name", name)
        .str("uid", uid)
        .str("apiVersion", api_version)
        .str("resourceVersion", resource_version)
        .str("fieldPath", field_path)
        .done()
}

fn event_source(s: core::EventSource) -> Value {
    let core::EventSource { component, host } = s;
    J::new().str("component", component).str("host", host).done()
}

/// A `Time` as the RFC 3339 text (whole seconds) JSON carries.
fn time(t: Time) -> Value {
    match jiff::Timestamp::from_second(t.seconds.unwrap_or_default()) {
        Ok(at) => json!(at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
        Err(_) => Value::Null,
    }
}
