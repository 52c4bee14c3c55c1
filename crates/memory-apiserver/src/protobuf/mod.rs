//! The protobuf request bodies kubectl's typed clients send.
//!
//! kubectl encodes built-in kinds as `application/vnd.kubernetes.protobuf`
//! and, unlike CBOR, never falls back to JSON on 415, so `kubectl auth can-i`,
//! `kubectl auth whoami`, `kubectl create namespace|serviceaccount|configmap|
//! secret|role|clusterrole|rolebinding|clusterrolebinding|token` need the
//! server to read protobuf. Bodies are decoded with `k8s-pb`'s prost types
//! and mapped to the JSON the rest of the fake stores. Kinds kubectl only
//! sends as JSON (everything `create -f`/`apply` writes) are also read when
//! typed clients (client-go controllers) send them: events and admission
//! policies.

mod admission;
mod events;
mod pods;

use std::collections::BTreeMap;

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use k8s_pb::{
    api::{
        apps::v1 as apps, authentication::v1 as authn, authorization::v1 as authz, batch::v1 as batch,
        coordination::v1 as coordination, core::v1 as core, rbac::v1 as rbac,
    },
    apimachinery::pkg::{apis::meta::v1::ObjectMeta, runtime::Unknown},
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
    let whole = |metadata: Option<ObjectMeta>, fields: J| {
        let mut object = fields.0;
        object.insert("apiVersion".into(), json!(api_version));
        object.insert("kind".into(), json!(kind));
        object.insert("metadata".into(), meta(metadata));
        Ok(Value::Object(object))
    };
    let raw = raw.as_slice();
    match (api_version.as_str(), kind.as_str()) {
        ("v1", "Namespace") => {
            let o = core::Namespace::decode(raw).map_err(bad)?;
            let spec = J::new().strings("finalizers", o.spec.map(|s| s.finalizers).unwrap_or_default());
            return whole(o.metadata, J::new().object("spec", spec));
        }
        ("v1", "ServiceAccount") => {
            let o = core::ServiceAccount::decode(raw).map_err(bad)?;
            let secrets = o.secrets.into_iter().map(|r| {
                J::new()
                    .str("kind", r.kind)
                    .str("namespace", r.namespace)
                    .str("name", r.name)
                    .str("uid", r.uid)
                    .str("apiVersion", r.api_version)
                    .done()
            });
            let pulls = o.image_pull_secrets.into_iter().map(|r| J::new().str("name", r.name).done());
            return whole(
                o.metadata,
                J::new()
                    .list("secrets", secrets)
                    .list("imagePullSecrets", pulls)
                    .bool("automountServiceAccountToken", o.automount_service_account_token),
            );
        }
        ("v1", "ConfigMap") => {
            let o = core::ConfigMap::decode(raw).map_err(bad)?;
            return whole(
                o.metadata,
                J::new().map("data", o.data).bytes("binaryData", o.binary_data).bool("immutable", o.immutable),
            );
        }
        ("v1", "Secret") => {
            let o = core::Secret::decode(raw).map_err(bad)?;
            return whole(
                o.metadata,
                J::new()
                    .bytes("data", o.data)
                    .map("stringData", o.string_data)
                    .str("type", o.r#type)
                    .bool("immutable", o.immutable),
            );
        }
        ("rbac.authorization.k8s.io/v1", "Role") => {
            let o = rbac::Role::decode(raw).map_err(bad)?;
            return whole(o.metadata, J::new().list("rules", o.rules.into_iter().map(rule)));
        }
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => {
            let o = rbac::ClusterRole::decode(raw).map_err(bad)?;
            let aggregation = o.aggregation_rule.map(|a| {
                J::new().list("clusterRoleSelectors", a.cluster_role_selectors.into_iter().map(selector)).done()
            });
            return whole(
                o.metadata,
                J::new().list("rules", o.rules.into_iter().map(rule)).value("aggregationRule", aggregation),
            );
        }
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => {
            let o = rbac::RoleBinding::decode(raw).map_err(bad)?;
            return whole(o.metadata, binding(o.subjects, o.role_ref));
        }
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
            let o = rbac::ClusterRoleBinding::decode(raw).map_err(bad)?;
            return whole(o.metadata, binding(o.subjects, o.role_ref));
        }
        ("v1", "Pod") => {
            let o = core::Pod::decode(raw).map_err(bad)?;
            return whole(o.metadata, pods::pod(o.spec)?);
        }
        ("apps/v1", "Deployment") => {
            let o = apps::Deployment::decode(raw).map_err(bad)?;
            return whole(o.metadata, pods::deployment(o.spec)?);
        }
        ("batch/v1", "Job") => {
            let o = batch::Job::decode(raw).map_err(bad)?;
            return whole(o.metadata, pods::job(o.spec)?);
        }
        ("batch/v1", "CronJob") => {
            let o = batch::CronJob::decode(raw).map_err(bad)?;
            return whole(o.metadata, pods::cron_job(o.spec)?);
        }
        ("v1", "Event") => {
            let o = core::Event::decode(raw).map_err(bad)?;
            return whole(o.metadata.clone(), events::core_event(o));
        }
        ("events.k8s.io/v1", "Event") => {
            let o = k8s_pb::api::events::v1::Event::decode(raw).map_err(bad)?;
            return whole(o.metadata.clone(), events::event(o));
        }
        ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy") => {
            let o = k8s_pb::api::admissionregistration::v1::ValidatingAdmissionPolicy::decode(raw).map_err(bad)?;
            return whole(o.metadata, admission::policy(o.spec));
        }
        ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding") => {
            let o =
                k8s_pb::api::admissionregistration::v1::ValidatingAdmissionPolicyBinding::decode(raw).map_err(bad)?;
            return whole(o.metadata, admission::binding(o.spec));
        }
        ("coordination.k8s.io/v1", "Lease") => {
            let o = coordination::Lease::decode(raw).map_err(bad)?;
            let s = o.spec.unwrap_or_default();
            let spec = J::new()
                .str("holderIdentity", s.holder_identity)
                .int("leaseDurationSeconds", s.lease_duration_seconds.map(i64::from))
                .value("acquireTime", s.acquire_time.map(micro_time))
                .value("renewTime", s.renew_time.map(micro_time))
                .int("leaseTransitions", s.lease_transitions.map(i64::from))
                .str("strategy", s.strategy)
                .str("preferredHolder", s.preferred_holder);
            return whole(o.metadata, J::new().object("spec", spec));
        }
        ("authentication.k8s.io/v1", "TokenRequest") => {
            let o = authn::TokenRequest::decode(raw).map_err(bad)?;
            let spec = o.spec.unwrap_or_default();
            let bound = spec.bound_object_ref.map(|b| {
                J::new()
                    .str("kind", b.kind)
                    .str("apiVersion", b.api_version)
                    .str("name", b.name)
                    .str("uid", b.u_id)
                    .done()
            });
            let spec = J::new()
                .strings("audiences", spec.audiences)
                .int("expirationSeconds", spec.expiration_seconds)
                .value("boundObjectRef", bound);
            return whole(o.metadata, J::new().object("spec", spec));
        }
        _ => {}
    }
    let (metadata, spec) = match (api_version.as_str(), kind.as_str()) {
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview") => {
            let review = authz::SelfSubjectAccessReview::decode(raw).map_err(bad)?;
            let spec = review.spec.unwrap_or_default();
            (review.metadata, attributes(spec.resource_attributes, spec.non_resource_attributes))
        }
        ("authorization.k8s.io/v1", "SubjectAccessReview") => {
            let review = authz::SubjectAccessReview::decode(raw).map_err(bad)?;
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
            let review = authn::SelfSubjectReview::decode(raw).map_err(bad)?;
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

/// The metadata a client may set on create; the server sets the rest.
fn meta(metadata: Option<ObjectMeta>) -> Value {
    let Some(m) = metadata else { return json!({}) };
    let owners = m.owner_references.into_iter().map(|o| {
        J::new()
            .str("apiVersion", o.api_version)
            .str("kind", o.kind)
            .str("name", o.name)
            .str("uid", o.uid)
            .bool("controller", o.controller)
            .bool("blockOwnerDeletion", o.block_owner_deletion)
            .done()
    });
    J::new()
        .str("name", m.name)
        .str("generateName", m.generate_name)
        .str("namespace", m.namespace)
        .map("labels", m.labels)
        .map("annotations", m.annotations)
        .list("ownerReferences", owners)
        .strings("finalizers", m.finalizers)
        .done()
}

/// A `MicroTime` as the RFC 3339 text with microseconds JSON carries.
fn micro_time(t: k8s_pb::apimachinery::pkg::apis::meta::v1::MicroTime) -> Value {
    let at = jiff::Timestamp::new(t.seconds.unwrap_or_default(), t.nanos.unwrap_or_default() / 1000 * 1000);
    match at {
        Ok(at) => json!(at.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()),
        Err(_) => Value::Null,
    }
}

fn rule(r: rbac::PolicyRule) -> Value {
    J::new()
        .strings("verbs", r.verbs)
        .strings("apiGroups", r.api_groups)
        .strings("resources", r.resources)
        .strings("resourceNames", r.resource_names)
        .strings("nonResourceURLs", r.non_resource_ur_ls)
        .done()
}

fn selector(s: k8s_pb::apimachinery::pkg::apis::meta::v1::LabelSelector) -> Value {
    let expressions = s
        .match_expressions
        .into_iter()
        .map(|e| J::new().str("key", e.key).str("operator", e.operator).strings("values", e.values).done());
    J::new().map("matchLabels", s.match_labels).list("matchExpressions", expressions).done()
}

fn binding(subjects: Vec<rbac::Subject>, role_ref: Option<rbac::RoleRef>) -> J {
    let subjects = subjects.into_iter().map(|s| {
        J::new()
            .str("kind", s.kind)
            .str("apiGroup", s.api_group)
            .str("name", s.name)
            .str("namespace", s.namespace)
            .done()
    });
    let role_ref =
        role_ref.map(|r| J::new().str("apiGroup", r.api_group).str("kind", r.kind).str("name", r.name).done());
    J::new().list("subjects", subjects).value("roleRef", role_ref)
}

/// A JSON object built from protobuf fields: unset and empty fields are
/// left out, as the API server's JSON encoding leaves them out.
struct J(Map<String, Value>);

impl J {
    fn new() -> Self {
        Self(Map::new())
    }
    fn value(mut self, key: &str, value: Option<Value>) -> Self {
        put(&mut self.0, key, value);
        self
    }
    /// Go leaves empty strings out of JSON (`omitempty`) but writes them in protobuf.
    fn str(self, key: &str, value: Option<String>) -> Self {
        self.value(key, value.filter(|v| !v.is_empty()).map(Value::from))
    }
    fn bool(self, key: &str, value: Option<bool>) -> Self {
        self.value(key, value.map(Value::from))
    }
    /// A Go `bool` with `omitempty`: protobuf always writes it, JSON only when true.
    fn flag(self, key: &str, value: Option<bool>) -> Self {
        self.bool(key, value.filter(|v| *v))
    }
    /// A Go integer with `omitempty`: protobuf always writes it, JSON only when not zero.
    fn nonzero(self, key: &str, value: Option<i64>) -> Self {
        self.int(key, value.filter(|v| *v != 0))
    }
    fn int(self, key: &str, value: Option<i64>) -> Self {
        self.value(key, value.map(Value::from))
    }
    fn object(self, key: &str, value: J) -> Self {
        let value = (!value.0.is_empty()).then(|| value.done());
        self.value(key, value)
    }
    fn list(self, key: &str, items: impl Iterator<Item = Value>) -> Self {
        let items: Vec<Value> = items.collect();
        let value = (!items.is_empty()).then_some(Value::Array(items));
        self.value(key, value)
    }
    fn strings(self, key: &str, items: Vec<String>) -> Self {
        self.list(key, items.into_iter().map(Value::from))
    }
    fn map(self, key: &str, map: BTreeMap<String, String>) -> Self {
        let value = (!map.is_empty()).then(|| json!(map));
        self.value(key, value)
    }
    /// Byte values travel base64-encoded in JSON.
    fn bytes(self, key: &str, map: BTreeMap<String, Vec<u8>>) -> Self {
        let encoded: BTreeMap<String, String> = map.into_iter().map(|(k, v)| (k, BASE64.encode(v))).collect();
        self.map(key, encoded)
    }
    fn done(self) -> Value {
        Value::Object(self.0)
    }
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.into(), v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_pb::{
        api::admissionregistration::v1 as adm,
        apimachinery::pkg::{apis::meta::v1::Time, runtime::TypeMeta},
    };

    fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
        let unknown = Unknown {
            type_meta: Some(TypeMeta { api_version: Some(api_version.into()), kind: Some(kind.into()) }),
            raw: Some(raw),
            ..Default::default()
        };
        [MAGIC, unknown.encode_to_vec().as_slice()].concat()
    }

    /// What a typed client sends decodes to JSON the built-in type reads
    /// whole: no field unknown to it, none lost.
    fn decodes_whole(api_version: &str, kind: &str, raw: Vec<u8>) -> Value {
        let json = decode(&envelope(api_version, kind, raw), "application/vnd.kubernetes.protobuf").unwrap();
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        let typed = crate::builtin::round_trip(group, kind, &json).unwrap().unwrap();
        assert!(crate::builtin::unknown(&json, &typed).is_empty(), "{json}");
        json
    }

    #[test]
    fn admission_policies_and_events_decode() {
        let s = |v: &str| Some(v.to_string());
        let rule = adm::NamedRuleWithOperations {
            resource_names: vec!["x".into()],
            rule_with_operations: Some(adm::RuleWithOperations {
                operations: vec!["CREATE".into()],
                rule: Some(adm::Rule {
                    api_groups: vec!["k8s.kudo.dev".into()],
                    api_versions: vec!["*".into()],
                    resources: vec!["escalations".into()],
                    scope: s("*"),
                }),
            }),
        };
        let vap = adm::ValidatingAdmissionPolicy {
            metadata: Some(ObjectMeta { name: s("p"), ..Default::default() }),
            spec: Some(adm::ValidatingAdmissionPolicySpec {
                match_constraints: Some(adm::MatchResources { resource_rules: vec![rule], ..Default::default() }),
                validations: vec![adm::Validation { expression: s("true"), message: s("m"), ..Default::default() }],
                failure_policy: s("Fail"),
                variables: vec![adm::Variable { name: s("v"), expression: s("1") }],
                ..Default::default()
            }),
            status: None,
        };
        let json = decodes_whole("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", vap.encode_to_vec());
        let rule = &json["spec"]["matchConstraints"]["resourceRules"][0];
        assert_eq!((rule["operations"][0].as_str(), rule["scope"].as_str()), (Some("CREATE"), Some("*")));
        assert_eq!(json["spec"]["validations"][0]["expression"], "true");

        let binding = adm::ValidatingAdmissionPolicyBinding {
            metadata: Some(ObjectMeta { name: s("b"), ..Default::default() }),
            spec: Some(adm::ValidatingAdmissionPolicyBindingSpec {
                policy_name: s("p"),
                validation_actions: vec!["Deny".into()],
                ..Default::default()
            }),
        };
        let json = decodes_whole(
            "admissionregistration.k8s.io/v1",
            "ValidatingAdmissionPolicyBinding",
            binding.encode_to_vec(),
        );
        assert_eq!(json["spec"]["validationActions"][0], "Deny");

        let event = core::Event {
            metadata: Some(ObjectMeta { name: s("e"), namespace: s("app"), ..Default::default() }),
            involved_object: Some(core::ObjectReference { kind: s("Pod"), name: s("web"), ..Default::default() }),
            reason: s("Started"),
            first_timestamp: Some(Time { seconds: Some(1_795_000_000), nanos: Some(0) }),
            count: Some(1),
            r#type: s("Normal"),
            ..Default::default()
        };
        let json = decodes_whole("v1", "Event", event.encode_to_vec());
        assert_eq!(json["involvedObject"]["name"], "web");
        assert_eq!(json["firstTimestamp"], "2026-11-18T11:06:40Z");
    }
}
