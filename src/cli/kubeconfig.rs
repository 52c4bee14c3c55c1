//! The global flags kubectl passes through to plugins, read as kubectl reads
//! them, and the client built from them.

use std::{path::PathBuf, time::Duration};

use clap::Args;
use kube::config::{KubeConfigOptions, Kubeconfig};

#[derive(Clone, Debug, Default, Args)]
#[command(next_help_heading = "Cluster flags (as kubectl's)")]
pub struct KubeFlags {
    /// Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config).
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// The kubeconfig cluster to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub cluster: Option<String>,
    /// Namespace for namespaced grants when escalating (default: the policy's defaultNamespace).
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// The kubeconfig user to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub user: Option<String>,
    /// Username to impersonate for the operation.
    #[arg(long = "as", global = true, value_name = "USER")]
    pub as_user: Option<String>,
    /// Group to impersonate for the operation; repeat for several.
    #[arg(long = "as-group", global = true, value_name = "GROUP")]
    pub as_group: Vec<String>,
    /// How long to wait for one API request (e.g. 10s, 1m); 0 waits forever.
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_timeout)]
    pub request_timeout: Option<Duration>,
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let d = crate::api::DurationText::new(text).parse().map_err(|e| e.to_string())?;
    d.try_into().map_err(|_| format!("{text}: a timeout cannot be negative"))
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading kubeconfig {path}: {source}")]
    Read { path: PathBuf, source: kube::config::KubeconfigError },
    #[error("no usable kubeconfig ({0}); point KUBECONFIG or --kubeconfig at one, or pick a context with --context")]
    Infer(String),
    #[error("building the client: {0}")]
    Client(#[from] kube::Error),
}

impl KubeFlags {
    /// The client config, as kubectl would build it from these flags.
    pub async fn config(&self) -> Result<kube::Config, ConfigError> {
        let options =
            KubeConfigOptions { context: self.context.clone(), cluster: self.cluster.clone(), user: self.user.clone() };
        let mut config = match &self.kubeconfig {
            Some(path) => {
                let kubeconfig =
                    Kubeconfig::read_from(path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .map_err(|e| ConfigError::Infer(e.to_string()))?
            }
            None if options.context.is_some() || options.cluster.is_some() || options.user.is_some() => {
                kube::Config::from_kubeconfig(&options).await.map_err(|e| ConfigError::Infer(e.to_string()))?
            }
            // Kubeconfig first, then the in-cluster service account.
            None => kube::Config::infer().await.map_err(|e| ConfigError::Infer(e.to_string()))?,
        };
        if let Some(user) = &self.as_user {
            config.auth_info.impersonate = Some(user.clone());
        }
        if !self.as_group.is_empty() {
            config.auth_info.impersonate_groups = Some(self.as_group.clone());
        }
        if let Some(timeout) = self.request_timeout.filter(|t| !t.is_zero()) {
            config.read_timeout = Some(timeout);
            config.write_timeout = Some(timeout);
        }
        Ok(config)
    }

    pub async fn client(&self) -> Result<kube::Client, ConfigError> {
        Ok(crate::client::client(self.config().await?)?)
    }
}
