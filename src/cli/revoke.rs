//! `kubectl kudo revoke NAME | --all-mine`: ending escalations early
//! (`operations::revoke`).

use clap::Args;
use kube::ResourceExt;

use super::{error::UserError, session::Session};
use crate::operations::{get_escalation, revoke};

#[derive(Clone, Debug, Args)]
pub struct RevokeArgs {
    /// The escalation to end.
    #[arg(value_name = "NAME", required_unless_present = "all_mine")]
    pub name: Option<String>,
    /// End every escalation of mine that is PENDING or ACCEPTED.
    #[arg(long, conflicts_with = "name")]
    pub all_mine: bool,
}

pub async fn revoke(session: &Session, args: RevokeArgs) -> Result<(), UserError> {
    let names = match &args.name {
        Some(n) => vec![get_escalation(session, n).await?.name_any()],
        None => revoke::open_of_mine(session).await?,
    };
    if names.is_empty() {
        println!("Nothing to revoke.");
    }
    for name in names {
        revoke::revoke(session, &name).await?;
        println!("escalation/{name} revoked; its grants are being reclaimed");
    }
    Ok(())
}
