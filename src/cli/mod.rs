//! `kubectl kudo …`: argument parsing and dispatch.

use std::io::Write;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};

use crate::{api, manifests};

mod controller;
pub mod kubeconfig;

#[derive(Debug, Parser)]
#[command(
    name = "kubectl kudo",
    bin_name = "kubectl kudo",
    version,
    about = "sudo for Kubernetes: ask for more permissions for a limited time, reviewed and audited",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub kube: kubeconfig::KubeFlags,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the install (CRDs, RBAC, admission policies, controller) as YAML.
    ///
    /// Apply with: kubectl kudo manifests | kubectl apply -f -
    Manifests {
        /// Namespace the controller runs in.
        #[arg(long, default_value = api::DEFAULT_NAMESPACE, value_name = "NAMESPACE")]
        controller_namespace: String,
        /// ServiceAccount the controller runs as; the only identity allowed to write escalation status.
        #[arg(long, default_value = api::DEFAULT_SERVICE_ACCOUNT, value_name = "NAME")]
        controller_service_account: String,
        /// Controller image.
        #[arg(long, value_name = "IMAGE")]
        image: Option<String>,
    },
    /// Run the controller (in cluster, or locally against the current kubeconfig).
    ///
    /// Locally, run it as the controller's ServiceAccount, which alone may
    /// write escalation status:
    /// kubectl kudo controller --as system:serviceaccount:kudo-system:kudo-controller
    Controller(controller::ControllerArgs),
    /// Print a shell completion script.
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Controller(args) = cli.command {
        return controller::run(&cli.kube, args).await;
    }
    let mut stdout = std::io::stdout().lock();
    match cli.command {
        Command::Controller(_) => {}
        Command::Manifests { controller_namespace, controller_service_account, image } => {
            let mut opts = manifests::Options {
                namespace: controller_namespace,
                service_account: controller_service_account,
                ..Default::default()
            };
            if let Some(image) = image {
                opts.image = image;
            }
            let yaml = manifests::render(&opts).context("rendering the install manifests")?;
            stdout.write_all(yaml.as_bytes()).context("writing to stdout")?;
        }
        Command::Completion { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "kubectl-kudo", &mut stdout);
        }
    }
    Ok(())
}
