//! Built-in kinds checked against `k8s-openapi`'s types, as the real API
//! server checks them against its Go types: a field the type does not have
//! is unknown (refused with `fieldValidation=Strict`, warned about with
//! `Warn`), and a value of the wrong type cannot be decoded at all.

use k8s_openapi::{
    Resource,
    api::{
        admissionregistration::v1 as admission, apps::v1 as apps, authentication::v1 as authn,
        authorization::v1 as authz, batch::v1 as batch, coordination::v1 as coordination, core::v1 as core,
        events::v1 as events, networking::v1 as networking, rbac::v1 as rbac,
    },
    schemars::JsonSchema,
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

/// What can be done with one built-in kind's type.
pub trait Visit {
    fn kind<T: Resource + JsonSchema + DeserializeOwned + Serialize>(&mut self);
}

/// Every built-in kind the fake serves with a body, once; the one list both
/// validation and the OpenAPI documents are made from.
pub fn each_kind(v: &mut impl Visit) {
    v.kind::<core::Namespace>();
    v.kind::<core::ServiceAccount>();
    v.kind::<core::ConfigMap>();
    v.kind::<core::Secret>();
    v.kind::<core::Pod>();
    v.kind::<core::Event>();
    v.kind::<events::Event>();
    v.kind::<apps::Deployment>();
    v.kind::<batch::CronJob>();
    v.kind::<batch::Job>();
    v.kind::<coordination::Lease>();
    v.kind::<networking::NetworkPolicy>();
    v.kind::<rbac::Role>();
    v.kind::<rbac::ClusterRole>();
    v.kind::<rbac::RoleBinding>();
    v.kind::<rbac::ClusterRoleBinding>();
    v.kind::<admission::ValidatingAdmissionPolicy>();
    v.kind::<admission::ValidatingAdmissionPolicyBinding>();
    v.kind::<authz::SubjectAccessReview>();
    v.kind::<authz::SelfSubjectAccessReview>();
    v.kind::<authn::SelfSubjectReview>();
}

/// The decoded-and-encoded form of `obj` for a built-in `kind`, or why it
/// cannot be decoded; `None` for kinds without a type here.
pub fn round_trip(group: &str, kind: &str, obj: &Value) -> Option<Result<Value, String>> {
    struct RoundTrip<'a> {
        group: &'a str,
        kind: &'a str,
        obj: &'a Value,
        out: Option<Result<Value, String>>,
    }
    impl Visit for RoundTrip<'_> {
        fn kind<T: Resource + JsonSchema + DeserializeOwned + Serialize>(&mut self) {
            if self.out.is_none() && T::GROUP == self.group && T::KIND == self.kind {
                let typed = serde_json::from_value::<T>(self.obj.clone()).map_err(|e| e.to_string());
                self.out = Some(typed.and_then(|t| serde_json::to_value(t).map_err(|e| e.to_string())));
            }
        }
    }
    let mut rt = RoundTrip { group, kind, obj, out: None };
    each_kind(&mut rt);
    rt.out
}

/// Paths (`.spec.bogus`, `.subjects[0].nme`) present in `sent` but not in
/// `decoded`: the fields the type does not know. Nulls are no field.
pub fn unknown(sent: &Value, decoded: &Value) -> Vec<String> {
    fn walk(sent: &Value, decoded: &Value, path: &str, out: &mut Vec<String>) {
        match (sent, decoded) {
            (Value::Object(s), Value::Object(d)) => {
                for (k, v) in s {
                    if v.is_null() {
                        continue;
                    }
                    match d.get(k) {
                        Some(dv) => walk(v, dv, &format!("{path}.{k}"), out),
                        // The type's `apiVersion`/`kind` are written from constants.
                        None if path.is_empty() && (k == "apiVersion" || k == "kind") => {}
                        None => out.push(format!("{path}.{k}").trim_start_matches('.').to_string()),
                    }
                }
            }
            (Value::Array(s), Value::Array(d)) => {
                for (i, (v, dv)) in s.iter().zip(d).enumerate() {
                    walk(v, dv, &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(sent, decoded, "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_fields_the_type_does_not_have() {
        let sent = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "r", "labels": {"a": "b"}, "bogus": 1, "namespace": null},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "User", "name": "u", "nme": "x"}],
            "extra": true,
        });
        let decoded = round_trip("rbac.authorization.k8s.io", "RoleBinding", &sent).unwrap().unwrap();
        assert_eq!(unknown(&sent, &decoded), ["extra", "metadata.bogus", "subjects[0].nme"]);
        let wrong = json!({"metadata": {"name": 3}, "roleRef": {"kind": "ClusterRole", "name": "v", "apiGroup": ""}});
        assert!(round_trip("rbac.authorization.k8s.io", "RoleBinding", &wrong).unwrap().is_err());
    }
}
