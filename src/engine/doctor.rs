//! `kubectl kudo doctor`'s checks: whether an install really works, judged
//! from the objects read (and `now`), each as a pure function so that every
//! verdict is tested without a cluster. The CLI reads, calls [`checks`] and
//! prints.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::{
    api::{
        admissionregistration::v1::{
            ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding, ValidatingAdmissionPolicySpec,
        },
        apps::v1::Deployment,
        batch::v1::CronJob,
        coordination::v1::Lease,
        events::v1::Event,
        rbac::v1::{ClusterRoleBinding, RoleBinding, Subject},
    },
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use serde::Serialize;

use crate::api::{
    CONDITION_DANGEROUS_ROLE, Escalation, EscalationPolicy, EscalationState, LEASE_NAME, duration::human,
};

/// The label the install's objects carry with the kudo version that
/// rendered them (Kubernetes' recommended label).
pub const VERSION_LABEL: &str = "app.kubernetes.io/version";
/// Who writes kudo's Events (`reportingController`).
pub const REPORTING_CONTROLLER: &str = "kudo-controller";
/// An escalation without a decision this long after its creation means the
/// controller is not reconciling; so does an ACCEPTED one this long past
/// its expiry. (It decides in well under a second when it runs.)
pub const RECONCILE_GRACE: SignedDuration = SignedDuration::from_secs(30);
/// The reaper runs every minute: this long without a successful run after
/// one was scheduled (or after its creation) means it is failing.
pub const REAPER_GRACE: SignedDuration = SignedDuration::from_mins(10);

/// The fix for anything the install itself should contain.
const REAPPLY: &str = "kubectl kudo manifests | kubectl apply --server-side -f -";
/// Given when a read failed (doctor reads kudo's objects across the cluster).
const AS_ADMIN: &str = "run kubectl kudo doctor as a cluster admin: it reads kudo's objects across the cluster";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// Nothing to compare with (no version label): neither pass nor fail.
    Unknown,
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable, for `-o json` readers and tests.
    pub id: &'static str,
    /// What is checked, for people.
    pub title: &'static str,
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do, for a failed check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn pass(id: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Self { id, title, status: Status::Pass, detail: detail.into(), fix: None }
    }

    fn fail(id: &'static str, title: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { id, title, status: Status::Fail, detail: detail.into(), fix: Some(fix.into()) }
    }

    fn unknown(id: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Self { id, title, status: Status::Unknown, detail: detail.into(), fix: None }
    }

    fn unreadable(id: &'static str, title: &'static str, what: &str, error: &str) -> Self {
        Self::fail(id, title, format!("could not read {what}: {error}"), AS_ADMIN)
    }
}

/// Objects as read, or why they could not be.
pub type Read<T> = Result<T, String>;

/// Everything the checks look at.
pub struct Observed {
    pub now: Timestamp,
    /// This plugin's version (`CARGO_PKG_VERSION`).
    pub plugin_version: String,
    /// Where kudo is installed (its Lease, reaper and Deployment).
    pub namespace: String,
    /// The CRD names this binary uses, and the version it speaks.
    pub expected_crds: Vec<String>,
    pub api_version: String,
    pub crds: Read<Vec<CustomResourceDefinition>>,
    /// The guards as `kubectl kudo manifests` generates them, by name.
    pub expected_guards: BTreeMap<String, ValidatingAdmissionPolicySpec>,
    pub guard_policies: Read<Vec<ValidatingAdmissionPolicy>>,
    pub guard_bindings: Read<Vec<ValidatingAdmissionPolicyBinding>>,
    pub lease: Read<Option<Lease>>,
    /// Events in the namespaces kudo writes them to.
    pub events: Read<Vec<Event>>,
    pub escalations: Read<Vec<Escalation>>,
    pub reaper: Read<Option<CronJob>>,
    pub cluster_role_bindings: Read<Vec<ClusterRoleBinding>>,
    pub role_bindings: Read<Vec<RoleBinding>>,
    pub policies: Read<Vec<EscalationPolicy>>,
    pub controller: Read<Option<Deployment>>,
}

/// Every check, in the order they are printed.
pub fn checks(o: &Observed) -> Vec<Check> {
    vec![
        crds(&o.expected_crds, &o.api_version, &o.crds),
        guards(&o.expected_guards, &o.guard_policies, &o.guard_bindings),
        leader(&o.namespace, o.lease.as_ref().map(Option::as_ref).map_err(String::as_str), o.now),
        reconciling(&o.escalations, &o.events, o.now),
        reaper(&o.namespace, o.reaper.as_ref().map(Option::as_ref).map_err(String::as_str), o.now),
        bound("kudo-user", &o.cluster_role_bindings, &o.role_bindings),
        bound("kudo-reviewer", &o.cluster_role_bindings, &o.role_bindings),
        dangerous(&o.policies),
        version(
            &o.plugin_version,
            &o.namespace,
            o.lease.as_ref().ok().and_then(Option::as_ref),
            o.controller.as_ref().map(Option::as_ref).map_err(String::as_str),
        ),
    ]
}

/// Whether any check failed (doctor then exits non-zero).
pub fn healthy(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.status != Status::Fail)
}

fn ago(at: Timestamp, now: Timestamp) -> String {
    format!("{} ago", human(now.duration_since(at).max(SignedDuration::ZERO)))
}

/// The CRDs exist, are Established, and serve the version this binary speaks.
pub fn crds(expected: &[String], version: &str, live: &Read<Vec<CustomResourceDefinition>>) -> Check {
    const ID: &str = "crds";
    const TITLE: &str = "CRDs";
    let live = match live {
        Ok(live) => live,
        Err(e) => return Check::unreadable(ID, TITLE, "CustomResourceDefinitions", e),
    };
    let mut problems = Vec::new();
    for name in expected {
        let Some(crd) = live.iter().find(|c| c.metadata.name.as_deref() == Some(name)) else {
            problems.push(format!("{name} is missing"));
            continue;
        };
        let established = crd
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Established" && c.status == "True"));
        let served: Vec<&str> = crd.spec.versions.iter().filter(|v| v.served).map(|v| v.name.as_str()).collect();
        if !served.contains(&version) {
            problems.push(format!("{name} serves {}, not {version}", list_or_none(&served)));
        } else if !established {
            problems.push(format!("{name} is not Established"));
        }
    }
    if problems.is_empty() {
        let names: Vec<&str> = expected.iter().map(|n| n.split('.').next().unwrap_or(n)).collect();
        Check::pass(ID, TITLE, format!("{} served at {version}", names.join(", ")))
    } else {
        Check::fail(ID, TITLE, problems.join("; "), REAPPLY)
    }
}

fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() { "no version".into() } else { items.join(", ") }
}

/// The identity guards are in force: the controller's own check (DESIGN §3).
pub fn guards(
    expected: &BTreeMap<String, ValidatingAdmissionPolicySpec>,
    policies: &Read<Vec<ValidatingAdmissionPolicy>>,
    bindings: &Read<Vec<ValidatingAdmissionPolicyBinding>>,
) -> Check {
    const ID: &str = "guards";
    const TITLE: &str = "admission guards";
    let (policies, bindings) = match (policies, bindings) {
        (Ok(p), Ok(b)) => (p, b),
        (Err(e), _) => return Check::unreadable(ID, TITLE, "ValidatingAdmissionPolicies", e),
        (_, Err(e)) => return Check::unreadable(ID, TITLE, "ValidatingAdmissionPolicyBindings", e),
    };
    let problems =
        super::guards::problems(expected, &policies.iter().collect::<Vec<_>>(), &bindings.iter().collect::<Vec<_>>());
    if problems.is_empty() {
        Check::pass(ID, TITLE, format!("{} policies in force, each bound with Deny", expected.len()))
    } else {
        Check::fail(ID, TITLE, problems.join("; "), REAPPLY)
    }
}

/// A replica holds the leader Lease and renewed it within its duration.
pub fn leader(namespace: &str, lease: Result<Option<&Lease>, &str>, now: Timestamp) -> Check {
    const ID: &str = "leader";
    const TITLE: &str = "controller leader";
    let logs = format!(
        "kubectl -n {namespace} get deployment kudo-controller; kubectl -n {namespace} logs deployment/kudo-controller"
    );
    let lease = match lease {
        Ok(lease) => lease,
        Err(e) => return Check::unreadable(ID, TITLE, &format!("Lease {namespace}/{LEASE_NAME}"), e),
    };
    let Some(spec) = lease.and_then(|l| l.spec.as_ref()) else {
        return Check::fail(ID, TITLE, format!("no Lease {namespace}/{LEASE_NAME}: no controller has ever led"), logs);
    };
    let Some(holder) = spec.holder_identity.as_deref().filter(|h| !h.is_empty()) else {
        return Check::fail(ID, TITLE, format!("Lease {namespace}/{LEASE_NAME} has no holder: no replica leads"), logs);
    };
    let lasts = SignedDuration::from_secs(i64::from(spec.lease_duration_seconds.unwrap_or(15).max(1)));
    match spec.renew_time.as_ref().map(|t| t.0) {
        Some(renewed) if now.duration_since(renewed) <= lasts => {
            Check::pass(ID, TITLE, format!("{holder} leads, renewed {}", ago(renewed, now)))
        }
        Some(renewed) => Check::fail(
            ID,
            TITLE,
            format!(
                "{holder} last renewed Lease {namespace}/{LEASE_NAME} {}, and it lasts {}: the leader is gone",
                ago(renewed, now),
                human(lasts)
            ),
            logs,
        ),
        None => Check::fail(ID, TITLE, format!("Lease {namespace}/{LEASE_NAME} was never renewed"), logs),
    }
}

/// Nothing waits on the controller: no escalation long without a first
/// decision, no ACCEPTED one long past its expiry. The newest Event says
/// when it last acted.
pub fn reconciling(escalations: &Read<Vec<Escalation>>, events: &Read<Vec<Event>>, now: Timestamp) -> Check {
    const ID: &str = "reconciling";
    const TITLE: &str = "controller reconciling";
    let escalations = match escalations {
        Ok(e) => e,
        Err(e) => return Check::unreadable(ID, TITLE, "escalations", e),
    };
    let older = |at: Option<Timestamp>| at.is_some_and(|at| now.duration_since(at) > RECONCILE_GRACE);
    let undecided: Vec<String> = escalations
        .iter()
        .filter(|e| e.status.is_none() && e.metadata.deletion_timestamp.is_none())
        .filter(|e| older(e.metadata.creation_timestamp.as_ref().map(|t| t.0)))
        .filter_map(|e| e.metadata.name.clone())
        .collect();
    let overdue: Vec<String> = escalations
        .iter()
        .filter(|e| e.state() == Some(EscalationState::Accepted))
        .filter(|e| older(e.status.as_ref().and_then(|s| s.expires_at.as_ref()).map(|t| t.0)))
        .filter_map(|e| e.metadata.name.clone())
        .collect();
    let last_event = match events {
        Ok(events) => events
            .iter()
            .filter(|e| e.reporting_controller.as_deref() == Some(REPORTING_CONTROLLER))
            .filter_map(|e| Some((e.event_time.as_ref()?.0, e.reason.clone().unwrap_or_default())))
            .max_by_key(|(at, _)| *at)
            .map(|(at, reason)| format!("last Event {} ({reason})", ago(at, now)))
            .unwrap_or_else(|| "no Event yet (none is written before an escalation is decided)".into()),
        Err(e) => format!("Events unreadable: {e}"),
    };
    let mut problems = Vec::new();
    if !undecided.is_empty() {
        problems.push(format!(
            "{} escalation(s) waited over {} for a first decision ({})",
            undecided.len(),
            human(RECONCILE_GRACE),
            first_few(&undecided)
        ));
    }
    if !overdue.is_empty() {
        problems.push(format!(
            "{} ACCEPTED escalation(s) are over {} past their expiry ({})",
            overdue.len(),
            human(RECONCILE_GRACE),
            first_few(&overdue)
        ));
    }
    if problems.is_empty() {
        Check::pass(ID, TITLE, format!("no escalation waits on it; {last_event}"))
    } else {
        Check::fail(
            ID,
            TITLE,
            format!("{}; {last_event}", problems.join("; ")),
            "check the leader above and the controller's logs (kubectl -n <namespace> logs deployment/kudo-controller)",
        )
    }
}

fn first_few(names: &[String]) -> String {
    let shown: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
    if names.len() > shown.len() { format!("{}, …", shown.join(", ")) } else { shown.join(", ") }
}

/// The reaper CronJob exists, runs, and its last scheduled runs succeeded.
pub fn reaper(namespace: &str, cronjob: Result<Option<&CronJob>, &str>, now: Timestamp) -> Check {
    const ID: &str = "reaper";
    const TITLE: &str = "reaper CronJob";
    let name = crate::manifests::rbac::REAPER;
    let cronjob = match cronjob {
        Ok(c) => c,
        Err(e) => return Check::unreadable(ID, TITLE, &format!("CronJob {namespace}/{name}"), e),
    };
    let Some(cronjob) = cronjob else {
        return Check::fail(ID, TITLE, format!("CronJob {namespace}/{name} is missing"), REAPPLY);
    };
    if cronjob.spec.as_ref().and_then(|s| s.suspend) == Some(true) {
        return Check::fail(
            ID,
            TITLE,
            format!("CronJob {namespace}/{name} is suspended: expiry is not enforced while the controller is down"),
            format!("kubectl -n {namespace} patch cronjob {name} -p '{{\"spec\":{{\"suspend\":false}}}}'"),
        );
    }
    let jobs = format!("kubectl -n {namespace} get jobs,pods; kubectl -n {namespace} logs job/<the last {name} job>");
    let status = cronjob.status.as_ref();
    let succeeded = status.and_then(|s| s.last_successful_time.as_ref()).map(|t| t.0);
    let scheduled = status.and_then(|s| s.last_schedule_time.as_ref()).map(|t| t.0);
    let created = cronjob.metadata.creation_timestamp.as_ref().map(|t| t.0);
    match succeeded {
        None if created.is_some_and(|c| now.duration_since(c) <= REAPER_GRACE) => {
            Check::pass(ID, TITLE, format!("no run yet (created {})", created.map(|c| ago(c, now)).unwrap_or_default()))
        }
        None => Check::fail(ID, TITLE, format!("CronJob {namespace}/{name} has never run successfully"), jobs),
        Some(ok) if scheduled.is_some_and(|s| s.duration_since(ok) > REAPER_GRACE) => Check::fail(
            ID,
            TITLE,
            format!(
                "its runs have failed for over {}: last success {}, last scheduled {}",
                human(REAPER_GRACE),
                ago(ok, now),
                scheduled.map(|s| ago(s, now)).unwrap_or_default()
            ),
            jobs,
        ),
        Some(ok) => Check::pass(ID, TITLE, format!("last successful run {}", ago(ok, now))),
    }
}

/// Somebody holds ClusterRole `role` (kudo-user: may escalate; kudo-reviewer: may review).
pub fn bound(role: &'static str, crbs: &Read<Vec<ClusterRoleBinding>>, rbs: &Read<Vec<RoleBinding>>) -> Check {
    let (id, title, nobody, fix) = match role {
        "kudo-user" => (
            "kudo-user",
            "kudo-user bound",
            "nobody may escalate",
            "kubectl create clusterrolebinding kudo-users --clusterrole kudo-user --group system:authenticated",
        ),
        _ => (
            "kudo-reviewer",
            "kudo-reviewer bound",
            "nobody may review escalations",
            "kubectl create clusterrolebinding kudo-reviewers --clusterrole kudo-reviewer --group <your reviewers' group>",
        ),
    };
    let (crbs, rbs) = match (crbs, rbs) {
        (Ok(c), Ok(r)) => (c, r),
        (Err(e), _) => return Check::unreadable(id, title, "ClusterRoleBindings", e),
        (_, Err(e)) => return Check::unreadable(id, title, "RoleBindings", e),
    };
    let names_role = |kind: &str, name: &str| kind == "ClusterRole" && name == role;
    let mut holders: Vec<(String, &Subject)> = Vec::new();
    for b in crbs.iter().filter(|b| names_role(&b.role_ref.kind, &b.role_ref.name)) {
        for s in b.subjects.iter().flatten() {
            holders.push((b.metadata.name.clone().unwrap_or_default(), s));
        }
    }
    for b in rbs.iter().filter(|b| names_role(&b.role_ref.kind, &b.role_ref.name)) {
        for s in b.subjects.iter().flatten() {
            let place = format!(
                "{}/{}",
                b.metadata.namespace.as_deref().unwrap_or_default(),
                b.metadata.name.as_deref().unwrap_or_default()
            );
            holders.push((place, s));
        }
    }
    if holders.is_empty() {
        return Check::fail(id, title, format!("no binding gives ClusterRole {role} to anyone: {nobody}"), fix);
    }
    let shown: Vec<String> = holders.iter().map(|(by, s)| format!("{} {} (by {by})", s.kind, s.name)).collect();
    Check::pass(id, title, first_few(&shown))
}

/// No policy grants a role the controller flagged as dangerous (DESIGN §5).
pub fn dangerous(policies: &Read<Vec<EscalationPolicy>>) -> Check {
    const ID: &str = "dangerous-policies";
    const TITLE: &str = "dangerous policies";
    let policies = match policies {
        Ok(p) => p,
        Err(e) => return Check::unreadable(ID, TITLE, "EscalationPolicies", e),
    };
    let flagged: Vec<String> = policies
        .iter()
        .filter_map(|p| {
            let c = p.status.as_ref()?.conditions.iter().find(|c| c.type_ == CONDITION_DANGEROUS_ROLE)?;
            (c.status == "True").then(|| format!("{}: {}", p.metadata.name.as_deref().unwrap_or_default(), c.message))
        })
        .collect();
    if flagged.is_empty() {
        let n = policies.len();
        Check::pass(
            ID,
            TITLE,
            format!("none of {n} {} grants a dangerous role", if n == 1 { "policy" } else { "policies" }),
        )
    } else {
        Check::fail(
            ID,
            TITLE,
            flagged.join("; "),
            "narrow the role the policy grants, or delete the policy (kubectl kudo policies -A shows the warning)",
        )
    }
}

/// The plugin and the installed controller are the same version: the
/// running leader's (its Lease's annotation), else the Deployment's label.
pub fn version(
    plugin: &str,
    namespace: &str,
    lease: Option<&Lease>,
    controller: Result<Option<&Deployment>, &str>,
) -> Check {
    const ID: &str = "version";
    const TITLE: &str = "plugin/controller version";
    let plugin = super::version::normalize(plugin);
    let deployment = match controller {
        Ok(d) => d,
        Err(e) => {
            return Check::unknown(ID, TITLE, format!("could not read Deployment {namespace}/kudo-controller: {e}"));
        }
    };
    let Some(installed) = super::version::controller_version(namespace, lease, deployment) else {
        return Check::unknown(
            ID,
            TITLE,
            format!(
                "neither Lease {namespace}/{LEASE_NAME} nor Deployment {namespace}/kudo-controller names the controller's version (plugin v{plugin})"
            ),
        );
    };
    match super::version::skew(plugin, &installed.version) {
        None => Check::pass(ID, TITLE, format!("plugin and controller are both v{plugin}")),
        Some(skew) => Check::fail(
            ID,
            TITLE,
            skew,
            format!("use plugin v{}, or upgrade the install with this plugin: {REAPPLY}", installed.version),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
    use serde_json::json;

    fn now() -> Timestamp {
        "2026-11-23T10:00:00Z".parse().unwrap()
    }

    fn at(offset_secs: i64) -> String {
        (now() + SignedDuration::from_secs(offset_secs)).to_string()
    }

    fn from<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).unwrap()
    }

    fn crd(name: &str, version: &str, established: &str) -> CustomResourceDefinition {
        from(json!({
            "metadata": {"name": name},
            "spec": {"group": "k8s.kudo.dev", "scope": "Cluster",
                     "names": {"plural": name.split('.').next().unwrap(), "kind": "X"},
                     "versions": [{"name": version, "served": true, "storage": true}]},
            "status": {"conditions": [{"type": "Established", "status": established}]},
        }))
    }

    #[test]
    fn crds_must_serve_this_binarys_version_and_be_established() {
        let expected = vec!["escalations.k8s.kudo.dev".to_string(), "escalationpolicies.k8s.kudo.dev".to_string()];
        let good = Ok(vec![
            crd("escalations.k8s.kudo.dev", "v1alpha1", "True"),
            crd("escalationpolicies.k8s.kudo.dev", "v1alpha1", "True"),
        ]);
        let check = crds(&expected, "v1alpha1", &good);
        assert_eq!(check.status, Status::Pass, "{check:?}");
        assert_eq!(check.detail, "escalations, escalationpolicies served at v1alpha1");

        let old = Ok(vec![crd("escalations.k8s.kudo.dev", "v1alpha0", "True")]);
        let check = crds(&expected, "v1alpha1", &old);
        assert_eq!(check.status, Status::Fail);
        assert!(check.detail.contains("escalations.k8s.kudo.dev serves v1alpha0, not v1alpha1"), "{}", check.detail);
        assert!(check.detail.contains("escalationpolicies.k8s.kudo.dev is missing"), "{}", check.detail);
        assert_eq!(check.fix.as_deref(), Some(REAPPLY));

        let pending = Ok(vec![
            crd("escalations.k8s.kudo.dev", "v1alpha1", "False"),
            crd("escalationpolicies.k8s.kudo.dev", "v1alpha1", "True"),
        ]);
        assert!(crds(&expected, "v1alpha1", &pending).detail.contains("is not Established"));
        let forbidden = crds(&expected, "v1alpha1", &Err("forbidden".into()));
        assert_eq!((forbidden.status, forbidden.fix.as_deref()), (Status::Fail, Some(AS_ADMIN)));
    }

    #[test]
    fn guards_are_the_controllers_own_check() {
        let expected = crate::controller::expected_guards("kudo-system", "kudo-controller");
        let all = crate::manifests::admission::policies(&crate::manifests::Options::default());
        let policies: Vec<ValidatingAdmissionPolicy> = all.iter().map(|(p, _)| from(p.clone())).collect();
        let mut bindings: Vec<ValidatingAdmissionPolicyBinding> = all.iter().map(|(_, b)| from(b.clone())).collect();
        let check = guards(&expected, &Ok(policies.clone()), &Ok(bindings.clone()));
        assert_eq!(check.status, Status::Pass, "{check:?}");
        bindings.remove(0);
        let check = guards(&expected, &Ok(policies), &Ok(bindings));
        assert_eq!(check.status, Status::Fail);
        assert!(check.detail.starts_with("no ValidatingAdmissionPolicyBinding enforces"), "{}", check.detail);
    }

    fn lease(holder: Option<&str>, renewed: Option<i64>, seconds: i32) -> Lease {
        let mut lease: Lease = from(json!({"metadata": {"name": "kudo-controller"}, "spec": {}}));
        let spec = lease.spec.as_mut().unwrap();
        spec.holder_identity = holder.map(Into::into);
        spec.renew_time = renewed.map(|s| MicroTime(now() + SignedDuration::from_secs(s)));
        spec.lease_duration_seconds = Some(seconds);
        lease
    }

    #[test]
    fn the_leader_must_have_renewed_within_its_lease() {
        let fresh = lease(Some("pod-a"), Some(-4), 15);
        let check = leader("kudo-system", Ok(Some(&fresh)), now());
        assert_eq!((check.status, check.detail.as_str()), (Status::Pass, "pod-a leads, renewed 4s ago"));
        let stale = lease(Some("pod-a"), Some(-16), 15);
        let check = leader("kudo-system", Ok(Some(&stale)), now());
        assert_eq!(check.status, Status::Fail);
        assert!(check.detail.contains("last renewed Lease kudo-system/kudo-controller 16s ago, and it lasts 15s"));
        assert!(check.fix.unwrap().contains("kubectl -n kudo-system logs deployment/kudo-controller"));
        let released = lease(None, None, 15);
        assert!(leader("kudo-system", Ok(Some(&released)), now()).detail.contains("has no holder"));
        assert!(leader("kudo-system", Ok(None), now()).detail.contains("no controller has ever led"));
    }

    fn escalation(name: &str, created: i64, status: Option<serde_json::Value>) -> Escalation {
        let mut e = json!({
            "apiVersion": "k8s.kudo.dev/v1alpha1", "kind": "Escalation",
            "metadata": {"name": name, "creationTimestamp": at(created)},
            "spec": {"policyName": "p", "requestor": "alice", "requestorGroups": [], "reason": "r"},
        });
        if let Some(status) = status {
            e["status"] = status;
        }
        from(e)
    }

    fn event(reason: &str, secs: i64, controller: &str) -> Event {
        let mut e: Event =
            from(json!({"metadata": {"name": "e"}, "reason": reason, "reportingController": controller}));
        e.event_time = Some(MicroTime(now() + SignedDuration::from_secs(secs)));
        e
    }

    #[test]
    fn reconciling_means_nothing_waits_on_the_controller() {
        let events = Ok(vec![event("GrantCreated", -120, REPORTING_CONTROLLER), event("Other", -5, "someone-else")]);
        let fresh = escalation("new", -5, None);
        let decided = escalation("old", -600, Some(json!({"state": "PENDING"})));
        let check = reconciling(&Ok(vec![fresh.clone(), decided]), &events, now());
        assert_eq!(check.status, Status::Pass, "{check:?}");
        assert_eq!(check.detail, "no escalation waits on it; last Event 2m ago (GrantCreated)");

        let waiting = escalation("waiting", -60, None);
        let overdue = escalation("overdue", -7200, Some(json!({"state": "ACCEPTED", "expiresAt": at(-31)})));
        let check = reconciling(&Ok(vec![fresh, waiting, overdue]), &Ok(vec![]), now());
        assert_eq!(check.status, Status::Fail);
        assert!(
            check.detail.contains("1 escalation(s) waited over 30s for a first decision (waiting)"),
            "{}",
            check.detail
        );
        assert!(
            check.detail.contains("1 ACCEPTED escalation(s) are over 30s past their expiry (overdue)"),
            "{}",
            check.detail
        );
        assert!(check.detail.contains("no Event yet"), "{}", check.detail);
    }

    fn cronjob(created: i64, succeeded: Option<i64>, scheduled: Option<i64>, suspend: bool) -> CronJob {
        let mut c: CronJob = from(json!({
            "metadata": {"name": "kudo-reaper", "creationTimestamp": at(created)},
            "spec": {"schedule": "* * * * *", "suspend": suspend,
                     "jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}},
            "status": {},
        }));
        let status = c.status.as_mut().unwrap();
        status.last_successful_time = succeeded.map(|s| Time(now() + SignedDuration::from_secs(s)));
        status.last_schedule_time = scheduled.map(|s| Time(now() + SignedDuration::from_secs(s)));
        c
    }

    #[test]
    fn the_reaper_must_have_succeeded_lately() {
        let ok = cronjob(-3600, Some(-40), Some(-60), false);
        let check = reaper("kudo-system", Ok(Some(&ok)), now());
        assert_eq!((check.status, check.detail.as_str()), (Status::Pass, "last successful run 40s ago"));
        let young = cronjob(-30, None, None, false);
        assert_eq!(reaper("kudo-system", Ok(Some(&young)), now()).status, Status::Pass);
        let never = cronjob(-3600, None, Some(-10), false);
        let check = reaper("kudo-system", Ok(Some(&never)), now());
        assert_eq!(check.status, Status::Fail);
        assert!(check.detail.contains("has never run successfully"));
        let failing = cronjob(-7200, Some(-3600), Some(-30), false);
        let check = reaper("kudo-system", Ok(Some(&failing)), now());
        assert_eq!(check.status, Status::Fail);
        assert!(check.detail.starts_with("its runs have failed for over 10m"), "{}", check.detail);
        let suspended = cronjob(-3600, Some(-40), Some(-60), true);
        assert!(reaper("kudo-system", Ok(Some(&suspended)), now()).fix.unwrap().contains("\"suspend\":false"));
        assert!(reaper("kudo-system", Ok(None), now()).detail.contains("is missing"));
    }

    fn crb(name: &str, role: &str, subjects: serde_json::Value) -> ClusterRoleBinding {
        from(json!({
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": subjects,
        }))
    }

    #[test]
    fn kudo_roles_must_be_bound_to_someone() {
        let everyone = crb("kudo-users", "kudo-user", json!([{"kind": "Group", "name": "system:authenticated"}]));
        let empty = crb("kudo-reviewers", "kudo-reviewer", json!([]));
        let crbs = Ok(vec![everyone, empty]);
        let check = bound("kudo-user", &crbs, &Ok(vec![]));
        assert_eq!(check.status, Status::Pass);
        assert_eq!(check.detail, "Group system:authenticated (by kudo-users)");
        let check = bound("kudo-reviewer", &crbs, &Ok(vec![]));
        assert_eq!(check.status, Status::Fail);
        assert!(check.detail.contains("nobody may review"), "{}", check.detail);
        // A RoleBinding to the ClusterRole counts too.
        let rb: RoleBinding = from(json!({
            "metadata": {"name": "team-reviews", "namespace": "app"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kudo-reviewer"},
            "subjects": [{"kind": "User", "name": "bob"}],
        }));
        let check = bound("kudo-reviewer", &crbs, &Ok(vec![rb]));
        assert_eq!((check.status, check.detail.as_str()), (Status::Pass, "User bob (by app/team-reviews)"));
    }

    fn policy(name: &str, dangerous: Option<&str>) -> EscalationPolicy {
        let mut p = json!({
            "apiVersion": "k8s.kudo.dev/v1alpha1", "kind": "EscalationPolicy", "metadata": {"name": name},
            "spec": {"subjects": [{"kind": "Group", "name": "g"}],
                     "target": {"defaultDuration": "1h", "maxDuration": "1h", "grants": []}},
        });
        if let Some(message) = dangerous {
            p["status"] = json!({"conditions": [{"type": "DangerousRole", "status": "True", "reason": "Dangerous",
                                                 "message": message, "lastTransitionTime": at(0)}]});
        }
        from(p)
    }

    #[test]
    fn a_policy_granting_a_dangerous_role_fails() {
        let check = dangerous(&Ok(vec![policy("fine", None)]));
        assert_eq!(check.status, Status::Pass);
        let check = dangerous(&Ok(vec![policy("fine", None), policy("root", Some("cluster-admin can bind anything"))]));
        assert_eq!((check.status, check.detail.as_str()), (Status::Fail, "root: cluster-admin can bind anything"));
    }

    #[test]
    fn versions_compare_when_the_label_is_there_and_are_unknown_otherwise() {
        let deployment = |label: Option<&str>| -> Deployment {
            let labels = label.map(|v| json!({VERSION_LABEL: v})).unwrap_or(json!({}));
            from(json!({"metadata": {"name": "kudo-controller", "labels": labels}}))
        };
        let same = deployment(Some("0.1.0"));
        assert_eq!(version("0.1.0", "kudo-system", None, Ok(Some(&same))).status, Status::Pass);
        let v_same = deployment(Some("v0.1.0"));
        assert_eq!(version("0.1.0", "kudo-system", None, Ok(Some(&v_same))).status, Status::Pass);
        let newer = deployment(Some("0.2.0"));
        let check = version("0.1.0", "kudo-system", None, Ok(Some(&newer)));
        assert_eq!((check.status, check.detail.as_str()), (Status::Fail, "plugin v0.1.0, controller v0.2.0"));
        // The running leader's version wins over the label.
        let lease: Lease = from(json!({"metadata": {"name": LEASE_NAME,
            "annotations": {crate::api::CONTROLLER_VERSION_ANNOTATION: "0.3.0"}}}));
        let check = version("0.1.0", "kudo-system", Some(&lease), Ok(Some(&same)));
        assert_eq!((check.status, check.detail.as_str()), (Status::Fail, "plugin v0.1.0, controller v0.3.0"));
        let unlabelled = deployment(None);
        assert_eq!(version("0.1.0", "kudo-system", None, Ok(Some(&unlabelled))).status, Status::Unknown);
        assert_eq!(version("0.1.0", "kudo-system", None, Ok(None)).status, Status::Unknown);
        assert!(healthy(&[version("0.1.0", "kudo-system", None, Ok(None))]), "unknown is not a failure");
    }
}
