//! Dangerous-role lint (DESIGN §5).

use k8s_openapi::api::rbac::v1::PolicyRule;
use kudo::engine::lint::{Reach, lint};

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(groups.iter().map(|s| s.to_string()).collect()),
        resources: Some(resources.iter().map(|s| s.to_string()).collect()),
        verbs: verbs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn ns(list: &[&str]) -> Reach {
    Reach::Namespaces(list.iter().map(|s| s.to_string()).collect())
}

fn whys(rules: &[PolicyRule], reach: &Reach) -> Vec<String> {
    lint(rules, reach, "kudo-system").into_iter().map(|f| f.why).collect()
}

#[test]
fn harmless_roles_pass() {
    let port_forward = [rule(&[""], &["pods/portforward"], &["create"])];
    assert!(whys(&port_forward, &Reach::Cluster).is_empty());
    let view = [rule(&["", "apps"], &["pods", "deployments", "configmaps"], &["get", "list", "watch"])];
    assert!(whys(&view, &Reach::Cluster).is_empty());
    let rbac_read = [rule(&["rbac.authorization.k8s.io"], &["*"], &["get", "list"])];
    assert!(whys(&rbac_read, &Reach::Cluster).is_empty());
    let edit_app = [rule(&[""], &["configmaps", "services", "secrets"], &["*"])];
    assert!(whys(&edit_app, &ns(&["application-a"])).is_empty(), "app namespaces are not kudo's");
    let debug = [rule(&[""], &["pods", "pods/log"], &["get", "list", "delete"])];
    assert!(whys(&debug, &ns(&["application-a"])).is_empty());
}

/// Issue 10 item 13: what lets a holder keep access after expiry, anywhere.
#[test]
fn persistence_beyond_expiry_is_flagged() {
    let cases = [
        (
            rule(&["certificates.k8s.io"], &["certificatesigningrequests/approval"], &["update"]),
            Reach::Cluster,
            "certificate",
        ),
        (rule(&["certificates.k8s.io"], &["signers"], &["approve"]), Reach::Cluster, "certificate"),
        (
            rule(&["admissionregistration.k8s.io"], &["mutatingwebhookconfigurations"], &["create"]),
            Reach::Cluster,
            "webhooks",
        ),
        (
            rule(&["admissionregistration.k8s.io"], &["validatingwebhookconfigurations"], &["patch"]),
            Reach::Cluster,
            "webhooks",
        ),
        (rule(&[""], &["serviceaccounts/token"], &["create"]), ns(&["application-a"]), "ServiceAccount tokens"),
        (rule(&[""], &["pods"], &["create"]), ns(&["application-a"]), "create pods"),
        (rule(&["", "apps"], &["pods", "deployments"], &["*"]), ns(&["application-a"]), "create pods"),
    ];
    for (r, reach, expected) in cases {
        let found = whys(std::slice::from_ref(&r), &reach);
        assert!(found.iter().any(|w| w.contains(expected)), "{r:?} in {reach:?}: {found:?}");
    }
    // A RoleBinding cannot reach cluster-scoped CSRs or webhooks.
    let csr = [rule(&["certificates.k8s.io"], &["signers"], &["approve"])];
    assert!(whys(&csr, &ns(&["application-a"])).is_empty());
}

#[test]
fn rbac_writers_binders_and_impersonators_are_flagged() {
    let cases = [
        (rule(&["rbac.authorization.k8s.io"], &["rolebindings"], &["create"]), "RBAC roles and bindings"),
        (rule(&["rbac.authorization.k8s.io"], &["clusterrolebindings"], &["patch"]), "RBAC roles and bindings"),
        (rule(&["*"], &["*"], &["*"]), "RBAC roles and bindings"),
        (rule(&["rbac.authorization.k8s.io"], &["clusterroles"], &["bind"]), "bind or escalate"),
        (rule(&["rbac.authorization.k8s.io"], &["roles"], &["escalate"]), "bind or escalate"),
        (rule(&[""], &["users", "groups"], &["impersonate"]), "impersonate"),
        (rule(&["k8s.kudo.dev"], &["escalations"], &["delete"]), "kudo's own resources"),
        (rule(&["k8s.kudo.dev"], &["escalations/status"], &["patch"]), "kudo's own resources"),
        (
            rule(&["admissionregistration.k8s.io"], &["validatingadmissionpolicybindings"], &["delete"]),
            "admission policies",
        ),
        (rule(&["apiextensions.k8s.io"], &["customresourcedefinitions"], &["update"]), "CustomResourceDefinitions"),
        (rule(&["apps"], &["deployments"], &["patch"]), "controller Deployment"),
        (rule(&[""], &["secrets"], &["get"]), "secrets"),
        (rule(&[""], &["pods/*"], &["create"]), "pods, exec"),
        (rule(&["coordination.k8s.io"], &["leases"], &["update"]), "Lease"),
    ];
    for (r, want) in cases {
        let found = whys(std::slice::from_ref(&r), &Reach::Cluster);
        assert!(found.iter().any(|w| w.contains(want)), "{r:?}: {found:?}");
    }
    let all = whys(&[rule(&["*"], &["*"], &["*"])], &Reach::Cluster);
    assert!(all.len() >= 8, "cluster-admin trips every wire: {all:?}");
}

#[test]
fn namespaced_grants_only_reach_namespaced_dangers() {
    // A RoleBinding cannot reach cluster-scoped objects such as CRDs or escalations...
    let crd = [rule(&["apiextensions.k8s.io"], &["customresourcedefinitions"], &["*"])];
    assert!(whys(&crd, &ns(&["application-a"])).is_empty());
    let kudo = [rule(&["k8s.kudo.dev"], &["*"], &["*"])];
    assert!(whys(&kudo, &ns(&["application-a"])).is_empty());
    // ...but rolebindings in its namespace make it permanent there.
    let rb = [rule(&["rbac.authorization.k8s.io"], &["rolebindings"], &["create"])];
    assert_eq!(whys(&rb, &ns(&["application-a"])).len(), 1);
    // And kudo's own namespace is special.
    let deploy = [rule(&["apps"], &["deployments"], &["update"])];
    assert!(whys(&deploy, &ns(&["application-a"])).is_empty());
    assert_eq!(whys(&deploy, &ns(&["application-a", "kudo-system"])).len(), 1);
}

#[test]
fn findings_name_the_rule() {
    let rules = [rule(&[""], &["pods"], &["get"]), rule(&["rbac.authorization.k8s.io"], &["roles"], &["bind"])];
    let f = lint(&rules, &Reach::Cluster, "kudo-system");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rule, 1);
}

/// Issue 17, item 15: Kubernetes 1.36 constrained impersonation (KEP-5284).
#[test]
fn constrained_impersonation_verbs_are_flagged() {
    for (resources, verb) in [
        (&["users", "groups"][..], "impersonate:user-info"),
        (&["serviceaccounts"][..], "impersonate:serviceaccount"),
        (&["nodes"][..], "impersonate:arbitrary-node"),
        (&["nodes"][..], "impersonate:associated-node"),
    ] {
        let found = whys(&[rule(&[""], resources, &[verb])], &ns(&["application-a"]));
        assert!(found.iter().any(|w| w.contains("constrained impersonation")), "{verb}: {found:?}");
    }
    let found =
        whys(&[rule(&["apps"], &["deployments"], &["impersonate-on:user-info:update"])], &ns(&["application-a"]));
    assert!(found.iter().any(|w| w.contains("impersonate-on")), "{found:?}");
    let harmless = whys(&[rule(&[""], &["pods"], &["impersonated", "get"])], &ns(&["application-a"]));
    assert!(harmless.is_empty(), "a prefix match needs the colon: {harmless:?}");
}
