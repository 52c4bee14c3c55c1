//! What every user command starts with: a client, and who I am.

pub use crate::operations::Session;

use super::{error::UserError, kubeconfig::KubeFlags};

pub async fn connect(flags: &KubeFlags) -> Result<Session, UserError> {
    let client = flags.client().await.map_err(|e| {
        UserError::new(format!("no cluster to talk to: {e}"))
            .hint("set KUBECONFIG or pass --kubeconfig/--context, as for kubectl")
    })?;
    Ok(Session::new(client).await?)
}
