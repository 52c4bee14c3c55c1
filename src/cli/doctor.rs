//! `kubectl kudo doctor`: reads what the checks need, runs them
//! (`engine::doctor`, where every verdict is made) and prints the report.

use std::io::Write;

use clap::{Args, ValueEnum};
use k8s_openapi::{
    api::{
        admissionregistration::v1::{ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding},
        apps::v1::Deployment,
        batch::v1::CronJob,
        coordination::v1::Lease,
        events::v1::Event,
        rbac::v1::{ClusterRoleBinding, RoleBinding},
    },
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{Api, Client, CustomResourceExt, api::ListParams};
use serde::{Serialize, de::DeserializeOwned};

use super::{error::UserError, session::Session};
use crate::{
    api::{self, Escalation, EscalationPolicy, EscalationReview},
    engine::doctor::{self, Check, Observed, Read, Status},
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Json,
}

#[derive(Clone, Debug, Args)]
pub struct DoctorArgs {
    /// Output format (default: one line per check, with the fix under each failure).
    #[arg(short, long, value_enum, value_name = "FORMAT")]
    pub output: Option<Output>,
    /// Namespace kudo is installed in (as `kubectl kudo manifests --controller-namespace` wrote it).
    #[arg(long, default_value = api::DEFAULT_NAMESPACE, value_name = "NAMESPACE")]
    pub controller_namespace: String,
    /// The controller's ServiceAccount, which the admission guards name.
    #[arg(long, default_value = api::DEFAULT_SERVICE_ACCOUNT, value_name = "NAME")]
    pub controller_service_account: String,
}

/// `-o json`: the verdict, then every check (fields in this order).
#[derive(Serialize)]
struct Report<'a> {
    healthy: bool,
    checks: &'a [Check],
}

pub async fn doctor(session: &Session, args: DoctorArgs) -> Result<(), UserError> {
    let observed = observe(&session.client, &args).await;
    let checks = doctor::checks(&observed);
    let text = match args.output {
        Some(Output::Json) => {
            let report = Report { healthy: doctor::healthy(&checks), checks: &checks };
            serde_json::to_string_pretty(&report).map_err(|e| UserError::new(format!("rendering JSON: {e}")))? + "\n"
        }
        None => render(&checks),
    };
    // A closed stdout (`| head`) loses the report, not the verdict.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    match checks.iter().filter(|c| c.status == Status::Fail).count() {
        0 => Ok(()),
        failed => Err(UserError::new(format!("{failed} check(s) failed")).hint("each ✗ above says what to do")),
    }
}

/// One line per check (✓, ✗, or ? for unknown), the fix under each ✗, and a tally.
pub fn render(checks: &[Check]) -> String {
    let mut out = String::new();
    for c in checks {
        let mark = match c.status {
            Status::Pass => "✓",
            Status::Fail => "✗",
            Status::Unknown => "?",
        };
        let detail = crate::printable::printable(&c.detail);
        out += &format!("{mark} {}: {detail}\n", c.title);
        if let Some(fix) = &c.fix {
            out += &format!("    fix: {}\n", crate::printable::printable(fix));
        }
    }
    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    out += &format!(
        "{} passed, {} failed, {} unknown\n",
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Unknown)
    );
    out
}

/// Reads everything at once; a read that fails becomes its checks' ✗.
async fn observe(client: &Client, args: &DoctorArgs) -> Observed {
    let ns = args.controller_namespace.as_str();
    let event_namespaces = ["default", ns];
    let (crds, guard_policies, guard_bindings, lease, escalations, reaper) = futures::join!(
        list(Api::<CustomResourceDefinition>::all(client.clone())),
        list(Api::<ValidatingAdmissionPolicy>::all(client.clone())),
        list(Api::<ValidatingAdmissionPolicyBinding>::all(client.clone())),
        get(Api::<Lease>::namespaced(client.clone(), ns), api::LEASE_NAME),
        list(Api::<Escalation>::all(client.clone())),
        get(Api::<CronJob>::namespaced(client.clone(), ns), crate::manifests::rbac::REAPER),
    );
    let (crbs, rbs, policies, controller, kudo_events) = futures::join!(
        list(Api::<ClusterRoleBinding>::all(client.clone())),
        list(Api::<RoleBinding>::all(client.clone())),
        list(Api::<EscalationPolicy>::all(client.clone())),
        get(Api::<Deployment>::namespaced(client.clone(), ns), "kudo-controller"),
        // Escalations are cluster-scoped: their Events go to `default`, as
        // client-go's do; the Lease's go to kudo's namespace.
        events(client, &event_namespaces),
    );
    Observed {
        now: jiff::Timestamp::now(),
        plugin_version: env!("CARGO_PKG_VERSION").into(),
        namespace: ns.into(),
        expected_crds: vec![
            Escalation::crd_name().into(),
            EscalationPolicy::crd_name().into(),
            EscalationReview::crd_name().into(),
        ],
        api_version: api::VERSION.into(),
        crds,
        expected_guards: crate::controller::expected_guards(ns, &args.controller_service_account),
        guard_policies,
        guard_bindings,
        lease,
        events: kudo_events,
        escalations,
        reaper,
        cluster_role_bindings: crbs,
        role_bindings: rbs,
        policies,
        controller,
    }
}

async fn events(client: &Client, namespaces: &[&str]) -> Read<Vec<Event>> {
    let mut out = Vec::new();
    for ns in namespaces {
        out.extend(list(Api::<Event>::namespaced(client.clone(), ns)).await?);
    }
    Ok(out)
}

async fn list<K>(api: Api<K>) -> Read<Vec<K>>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    api.list(&ListParams::default()).await.map(|l| l.items).map_err(|e| describe(&e))
}

async fn get<K>(api: Api<K>, name: &str) -> Read<Option<K>>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    api.get_opt(name).await.map_err(|e| describe(&e))
}

/// The API server's own words where there are some.
fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}
