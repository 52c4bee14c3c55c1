//! Built-in kinds checked against `k8s-openapi`'s types, as the real API
//! server checks them against its Go types: a field the type does not have
//! is unknown (refused with `fieldValidation=Strict`, warned about with
//! `Warn`), and a value of the wrong type cannot be decoded at all.

use k8s_openapi::api::{
    admissionregistration::v1 as admission, apps::v1 as apps, batch::v1 as batch, coordination::v1 as coordination,
    core::v1 as core, events::v1 as events, rbac::v1 as rbac,
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

/// The decoded-and-encoded form of `obj` for a built-in `kind`, or why it
/// cannot be decoded; `None` for kinds without a type here.
pub fn round_trip(group: &str, kind: &str, obj: &Value) -> Option<Result<Value, String>> {
    fn rt<T: DeserializeOwned + Serialize>(obj: &Value) -> Result<Value, String> {
        let typed: T = serde_json::from_value(obj.clone()).map_err(|e| e.to_string())?;
        serde_json::to_value(typed).map_err(|e| e.to_string())
    }
    Some(match (group, kind) {
        ("", "Namespace") => rt::<core::Namespace>(obj),
        ("", "ServiceAccount") => rt::<core::ServiceAccount>(obj),
        ("", "ConfigMap") => rt::<core::ConfigMap>(obj),
        ("", "Secret") => rt::<core::Secret>(obj),
        ("", "Pod") => rt::<core::Pod>(obj),
        ("", "Event") => rt::<core::Event>(obj),
        ("events.k8s.io", "Event") => rt::<events::Event>(obj),
        ("apps", "Deployment") => rt::<apps::Deployment>(obj),
        ("batch", "CronJob") => rt::<batch::CronJob>(obj),
        ("batch", "Job") => rt::<batch::Job>(obj),
        ("coordination.k8s.io", "Lease") => rt::<coordination::Lease>(obj),
        ("rbac.authorization.k8s.io", "Role") => rt::<rbac::Role>(obj),
        ("rbac.authorization.k8s.io", "ClusterRole") => rt::<rbac::ClusterRole>(obj),
        ("rbac.authorization.k8s.io", "RoleBinding") => rt::<rbac::RoleBinding>(obj),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => rt::<rbac::ClusterRoleBinding>(obj),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => {
            rt::<admission::ValidatingAdmissionPolicy>(obj)
        }
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding") => {
            rt::<admission::ValidatingAdmissionPolicyBinding>(obj)
        }
        _ => return None,
    })
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
