//! The protobuf request bodies kubectl's typed clients send.
//!
//! kubectl encodes built-in kinds as `application/vnd.kubernetes.protobuf`
//! and, unlike CBOR, never falls back to JSON on 415, so `kubectl auth can-i`
//! and `kubectl auth whoami` need the server to read protobuf. Only the review
//! kinds are decoded (that is all kubectl sends this way for the resources the
//! fake serves with typed clients); any other protobuf body answers 415, which
//! is what a real server says for kinds without a protobuf encoding.

use k8s_pb::{
    api::authorization::v1 as authz, apimachinery::pkg::apis::meta::v1::ObjectMeta, apimachinery::pkg::runtime::Unknown,
};
use prost::Message;
use serde_json::{Map, Value, json};

use crate::errors::{ApiError, ApiResult};

/// The four-byte prefix of every Kubernetes protobuf envelope.
const MAGIC: &[u8] = b"k8s\0";

pub fn decode(body: &[u8], content_type: &str) -> ApiResult<Value> {
    let unsupported = || ApiError::unsupported_media_type("application/json, application/yaml", content_type);
    let envelope =
        body.strip_prefix(MAGIC).ok_or_else(|| ApiError::bad_request("protobuf body without the k8s envelope"))?;
    let unknown =
        Unknown::decode(envelope).map_err(|e| ApiError::bad_request(format!("invalid protobuf envelope: {e}")))?;
    let type_meta = unknown.type_meta.unwrap_or_default();
    let api_version = type_meta.api_version.unwrap_or_default();
    let kind = type_meta.kind.unwrap_or_default();
    let raw = unknown.raw.unwrap_or_default();
    let bad = |e: prost::DecodeError| ApiError::bad_request(format!("invalid protobuf {kind}: {e}"));
    let (metadata, spec) = match (api_version.as_str(), kind.as_str()) {
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview") => {
            let review = authz::SelfSubjectAccessReview::decode(raw.as_slice()).map_err(bad)?;
            let spec = review.spec.unwrap_or_default();
            (review.metadata, attributes(spec.resource_attributes, spec.non_resource_attributes))
        }
        ("authorization.k8s.io/v1", "SubjectAccessReview") => {
            let review = authz::SubjectAccessReview::decode(raw.as_slice()).map_err(bad)?;
            let spec = review.spec.unwrap_or_default();
            let mut out = attributes(spec.resource_attributes, spec.non_resource_attributes);
            put(&mut out, "user", spec.user.map(Value::from));
            put(&mut out, "uid", spec.uid.map(Value::from));
            if !spec.groups.is_empty() {
                out.insert("groups".into(), json!(spec.groups));
            }
            (review.metadata, out)
        }
        ("authentication.k8s.io/v1", "SelfSubjectReview") => {
            let review = k8s_pb::api::authentication::v1::SelfSubjectReview::decode(raw.as_slice()).map_err(bad)?;
            (review.metadata, Map::new())
        }
        _ => return Err(unsupported()),
    };
    let mut object = json!({"apiVersion": api_version, "kind": kind, "metadata": meta(metadata)});
    if kind != "SelfSubjectReview" {
        object["spec"] = Value::Object(spec);
    }
    Ok(object)
}

fn attributes(
    resource: Option<authz::ResourceAttributes>,
    non_resource: Option<authz::NonResourceAttributes>,
) -> Map<String, Value> {
    let mut spec = Map::new();
    if let Some(r) = resource {
        let mut attrs = Map::new();
        for (key, value) in [
            ("namespace", r.namespace),
            ("verb", r.verb),
            ("group", r.group),
            ("version", r.version),
            ("resource", r.resource),
            ("subresource", r.subresource),
            ("name", r.name),
        ] {
            put(&mut attrs, key, value.map(Value::from));
        }
        spec.insert("resourceAttributes".into(), Value::Object(attrs));
    }
    if let Some(n) = non_resource {
        let mut attrs = Map::new();
        put(&mut attrs, "path", n.path.map(Value::from));
        put(&mut attrs, "verb", n.verb.map(Value::from));
        spec.insert("nonResourceAttributes".into(), Value::Object(attrs));
    }
    spec
}

fn meta(metadata: Option<ObjectMeta>) -> Value {
    let mut out = Map::new();
    if let Some(m) = metadata {
        put(&mut out, "name", m.name.map(Value::from));
        put(&mut out, "generateName", m.generate_name.map(Value::from));
    }
    Value::Object(out)
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.into(), v);
    }
}
