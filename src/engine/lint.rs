//! Dangerous-role lint (DESIGN §5): a granted role that can edit RBAC,
//! impersonate, or tamper with kudo itself turns a temporary escalation into
//! a permanent one. Conservative: `resourceNames` restrictions still flag.

use k8s_openapi::api::rbac::v1::PolicyRule;

/// Where a role applies: everywhere (ClusterRoleBinding) or in some namespaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    Cluster,
    Namespaces(Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Index of the offending rule in the role.
    pub rule: usize,
    pub why: String,
}

const WRITE: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];

struct Danger {
    groups: &'static [&'static str],
    resources: &'static [&'static str],
    verbs: &'static [&'static str],
    /// Cluster-scoped resources are out of reach of a RoleBinding.
    cluster_scoped: bool,
    /// Only dangerous when the role reaches kudo's own namespace.
    kudo_namespace_only: bool,
    why: &'static str,
}

const DANGERS: &[Danger] = &[
    Danger {
        groups: &["rbac.authorization.k8s.io"],
        resources: &["roles", "rolebindings"],
        verbs: WRITE,
        cluster_scoped: false,
        kudo_namespace_only: false,
        why: "can create or modify RBAC roles and bindings, so it can make itself permanent",
    },
    Danger {
        groups: &["rbac.authorization.k8s.io"],
        resources: &["clusterroles", "clusterrolebindings"],
        verbs: WRITE,
        cluster_scoped: true,
        kudo_namespace_only: false,
        why: "can create or modify RBAC roles and bindings, so it can make itself permanent",
    },
    Danger {
        groups: &["rbac.authorization.k8s.io"],
        resources: &["roles", "clusterroles"],
        verbs: &["bind", "escalate"],
        cluster_scoped: false,
        kudo_namespace_only: false,
        why: "can bind or escalate roles beyond its own permissions",
    },
    Danger {
        groups: &["", "authentication.k8s.io"],
        resources: &["users", "groups", "serviceaccounts", "uids", "userextras/*"],
        verbs: &["impersonate"],
        cluster_scoped: false,
        kudo_namespace_only: false,
        why: "can impersonate other users, groups or service accounts",
    },
    Danger {
        // Kubernetes 1.36 constrained impersonation (KEP-5284): each mode is
        // its own verb, `impersonate-on:MODE:VERB` says what may be done so.
        groups: &["", "authentication.k8s.io"],
        resources: &["users", "groups", "serviceaccounts", "uids", "userextras/*", "nodes"],
        verbs: &["impersonate:*"],
        cluster_scoped: false,
        kudo_namespace_only: false,
        why: "can impersonate other users, groups, service accounts or nodes (constrained impersonation)",
    },
    Danger {
        // The other half of a constrained impersonation: on any resource.
        groups: &["*"],
        resources: &["*"],
        verbs: &["impersonate-on:*"],
        cluster_scoped: false,
        kudo_namespace_only: false,
        why: "can act as an impersonated identity (constrained impersonation's impersonate-on verbs)",
    },
    Danger {
        groups: &["k8s.kudo.dev"],
        resources: &["*"],
        verbs: WRITE,
        cluster_scoped: true,
        kudo_namespace_only: false,
        why: "can modify kudo's own resources (escalations, policies, reviews)",
    },
    Danger {
        groups: &["admissionregistration.k8s.io"],
        resources: &["validatingadmissionpolicies", "validatingadmissionpolicybindings"],
        verbs: WRITE,
        cluster_scoped: true,
        kudo_namespace_only: false,
        why: "can remove the admission policies that enforce kudo's identity rules",
    },
    Danger {
        groups: &["admissionregistration.k8s.io"],
        resources: &[
            "validatingwebhookconfigurations",
            "mutatingwebhookconfigurations",
            "mutatingadmissionpolicies",
            "mutatingadmissionpolicybindings",
        ],
        verbs: WRITE,
        cluster_scoped: true,
        kudo_namespace_only: false,
        why: "can install admission webhooks or policies that rewrite or allow any request, kudo's included",
    },
    Danger {
        groups: &["certificates.k8s.io"],
        resources: &["certificatesigningrequests/approval", "signers"],
        verbs: &["update", "patch", "approve"],
        cluster_scoped: true,
        kudo_namespace_only: false,
        why: "can approve certificate signing requests, minting client certificates that outlive the escalation",
    },
    Danger {
        groups: &[""],
        resources: &["serviceaccounts/token"],
        verbs: &["create"],
        cluster_scoped: false,
        kudo_namespace_only: false,
        why: "can mint ServiceAccount tokens that outlive the escalation",
    },
    Danger {
        groups: &[""],
        resources: &["pods"],
        verbs: &["create"],
        cluster_scoped: false,
        kudo_namespace_only: false,
        why: "can create pods that run as any ServiceAccount of their namespace and keep running after the escalation ends",
    },
    Danger {
        groups: &["apiextensions.k8s.io"],
        resources: &["customresourcedefinitions"],
        verbs: WRITE,
        cluster_scoped: true,
        kudo_namespace_only: false,
        why: "can modify or delete kudo's CustomResourceDefinitions",
    },
    Danger {
        groups: &[""],
        resources: &[
            "pods",
            "pods/exec",
            "pods/attach",
            "pods/ephemeralcontainers",
            "serviceaccounts/token",
            "configmaps",
        ],
        verbs: WRITE,
        cluster_scoped: false,
        kudo_namespace_only: true,
        why: "can act on kudo's controller in its namespace (pods, exec, tokens)",
    },
    Danger {
        groups: &[""],
        resources: &["secrets"],
        verbs: &["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"],
        cluster_scoped: false,
        kudo_namespace_only: true,
        why: "can read or write secrets in kudo's namespace",
    },
    Danger {
        groups: &["apps"],
        resources: &["deployments", "replicasets"],
        verbs: WRITE,
        cluster_scoped: false,
        kudo_namespace_only: true,
        why: "can stop or replace kudo's controller Deployment",
    },
    Danger {
        groups: &["coordination.k8s.io"],
        resources: &["leases"],
        verbs: WRITE,
        cluster_scoped: false,
        kudo_namespace_only: true,
        why: "can hijack kudo's leader-election Lease",
    },
];

pub fn lint(rules: &[PolicyRule], reach: &Reach, kudo_namespace: &str) -> Vec<Finding> {
    let reaches_kudo = match reach {
        Reach::Cluster => true,
        Reach::Namespaces(ns) => ns.iter().any(|n| n == kudo_namespace),
    };
    let mut findings: Vec<Finding> = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        for d in DANGERS {
            let applicable =
                (!d.cluster_scoped || *reach == Reach::Cluster) && (!d.kudo_namespace_only || reaches_kudo);
            if applicable && matches(rule, d) && !findings.iter().any(|f| f.rule == i && f.why == d.why) {
                findings.push(Finding { rule: i, why: d.why.to_string() });
            }
        }
    }
    findings
}

fn matches(rule: &PolicyRule, d: &Danger) -> bool {
    let groups = rule.api_groups.as_deref().unwrap_or_default();
    let resources = rule.resources.as_deref().unwrap_or_default();
    let group_ok = groups.iter().any(|g| g == "*" || d.groups.contains(&"*") || d.groups.contains(&g.as_str()));
    // A target ending in `:*` stands for every verb of that prefix, and
    // matches only rules that name such a verb: a rule's `*` is already
    // flagged by the exact verbs (`impersonate`), and `impersonate-on`
    // alone grants nothing.
    let verb_ok = rule.verbs.iter().any(|v| {
        d.verbs.iter().any(|t| match t.strip_suffix('*') {
            Some(prefix) if prefix.ends_with(':') => v.starts_with(prefix),
            _ => v == "*" || v == t,
        })
    });
    let resource_ok = resources.iter().any(|r| d.resources.iter().any(|target| resource_matches(r, target)));
    group_ok && verb_ok && resource_ok
}

/// RBAC resource matching: `*`, exact, or `pods/*` for every subresource.
/// A target of `*` (any resource of the group) or `x/*` (any subresource of
/// x) matches any rule naming one.
fn resource_matches(rule: &str, target: &str) -> bool {
    let prefix_of = |pattern: &str, name: &str| {
        pattern.strip_suffix("/*").and_then(|base| name.strip_prefix(base)).is_some_and(|rest| rest.starts_with('/'))
    };
    rule == "*" || target == "*" || rule == target || prefix_of(rule, target) || prefix_of(target, rule)
}
