//! `kubectl kudo version`: this plugin's version and, when a cluster is
//! reachable, its controller's and its CRDs' (`engine::version` judges).
//!
//! Exit 0 whenever the plugin's version was printed: skew is a warning
//! (stderr, and `warnings` in `-o json`), and an unreachable cluster is
//! reported, not failed on, so that `version` works anywhere (krew's
//! install check, a laptop without a cluster).

use std::{io::Write, time::Duration};

use clap::{Args, ValueEnum};
use k8s_openapi::{
    api::{apps::v1::Deployment, coordination::v1::Lease},
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{Api, Client, CustomResourceExt, api::ListParams};
use serde::Serialize;

use super::{error::UserError, kubeconfig::KubeFlags};
use crate::{
    api::{self, Escalation, EscalationPolicy, EscalationReview},
    engine::version::{self, ClusterVersions},
    printable::printable,
};

/// How long to wait for the cluster to answer when no --request-timeout is given.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Json,
}

#[derive(Clone, Debug, Args)]
pub struct VersionArgs {
    /// Output format (default: one line per version, warnings on stderr).
    #[arg(short, long, value_enum, value_name = "FORMAT")]
    pub output: Option<Output>,
    /// The plugin's version only: do not contact the cluster.
    #[arg(long)]
    pub client: bool,
    /// Namespace kudo is installed in (as `kubectl kudo manifests --controller-namespace` wrote it).
    #[arg(long, default_value = api::DEFAULT_NAMESPACE, value_name = "NAMESPACE")]
    pub controller_namespace: String,
}

/// `-o json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    plugin: &'static str,
    /// The API server's version (`/version`), when it answered.
    kubernetes: Option<String>,
    cluster: Option<ClusterVersions>,
    /// Why the cluster was not asked or did not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    unreachable: Option<String>,
}

const PLUGIN: &str = env!("CARGO_PKG_VERSION");

pub async fn run(flags: &KubeFlags, args: VersionArgs) -> Result<(), UserError> {
    let mut report = Report { plugin: PLUGIN, kubernetes: None, cluster: None, unreachable: None };
    if !args.client {
        match reach(flags).await {
            Ok((client, kubernetes)) => {
                report.kubernetes = Some(kubernetes);
                report.cluster = Some(observe(&client, &args.controller_namespace).await);
            }
            Err(e) => report.unreachable = Some(e),
        }
    }
    let (out, warnings) = match args.output {
        Some(Output::Json) => {
            let json =
                serde_json::to_string_pretty(&report).map_err(|e| UserError::new(format!("rendering JSON: {e}")))?;
            (json + "\n", String::new())
        }
        None => render(&report, args.client),
    };
    // A closed stdout (`| head`) loses the report, nothing else.
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    let _ = std::io::stderr().lock().write_all(warnings.as_bytes());
    Ok(())
}

/// The lines for stdout, and the warnings for stderr.
fn render(report: &Report, client_only: bool) -> (String, String) {
    let mut out = format!("kudo plugin: v{}\n", report.plugin);
    let mut warnings = String::new();
    if let Some(why) = &report.unreachable {
        out += &format!("cluster: not reached ({}); only the plugin's version is known\n", printable(why));
    }
    if let Some(kubernetes) = &report.kubernetes {
        out += &format!("kubernetes: {}\n", printable(kubernetes));
    }
    if let Some(cluster) = &report.cluster {
        match &cluster.controller {
            Some(c) => out += &format!("kudo controller: v{} ({})\n", printable(&c.version), printable(&c.source)),
            None => out += "kudo controller: unknown (no Lease or Deployment names its version: is kudo installed?)\n",
        }
        for crd in &cluster.crds {
            let storage = crd.storage.as_deref().map(|s| format!(", stores {s}")).unwrap_or_default();
            let served = if crd.served.is_empty() { "nothing".into() } else { crd.served.join(", ") };
            out += &format!("CRD {}: serves {}{}\n", printable(&crd.name), printable(&served), printable(&storage));
        }
        for unreadable in &cluster.unreadable {
            out += &format!("could not read {}\n", printable(unreadable));
        }
        for warning in &cluster.warnings {
            warnings += &format!("warning: {}\n", printable(warning));
        }
        if !cluster.warnings.is_empty() {
            warnings += "warning: use the plugin of the installed version, or upgrade the install with this plugin: kubectl kudo manifests | kubectl apply --server-side -f -\n";
        }
    } else if !client_only && report.unreachable.is_none() {
        out += "cluster: not asked\n";
    }
    (out, warnings)
}

/// A client, and the API server's version: proof that it answers.
async fn reach(flags: &KubeFlags) -> Result<(Client, String), String> {
    let mut config = flags.config().await.map_err(|e| e.to_string())?;
    if flags.request_timeout.is_none() {
        config.connect_timeout = Some(CONNECT_TIMEOUT);
        config.read_timeout = Some(CONNECT_TIMEOUT);
    }
    let client = crate::client::client(config).map_err(|e| e.to_string())?;
    let info = client.apiserver_version().await.map_err(|e| e.to_string())?;
    Ok((client, info.git_version))
}

async fn observe(client: &Client, namespace: &str) -> ClusterVersions {
    let describe = |e: kube::Error| match e {
        kube::Error::Api(s) => s.message,
        other => other.to_string(),
    };
    let leases = Api::<Lease>::namespaced(client.clone(), namespace);
    let deployments = Api::<Deployment>::namespaced(client.clone(), namespace);
    let crds = Api::<CustomResourceDefinition>::all(client.clone());
    let list = ListParams::default();
    let (lease, deployment, crds) =
        futures::join!(leases.get_opt(api::LEASE_NAME), deployments.get_opt("kudo-controller"), crds.list(&list),);
    let expected =
        [Escalation::crd_name().to_string(), EscalationPolicy::crd_name().into(), EscalationReview::crd_name().into()];
    version::cluster(&version::Observed {
        plugin_version: PLUGIN,
        namespace,
        expected_crds: &expected,
        api_version: api::VERSION,
        lease: lease.map_err(describe),
        deployment: deployment.map_err(describe),
        crds: crds.map(|l| l.items).map_err(describe),
    })
}
