//! `kubectl kudo revoke NAME | --all-mine`: ending escalations early.

use clap::Args;
use kube::{
    Api, ResourceExt,
    api::{ListParams, Patch, PatchParams},
};
use serde_json::json;

use super::{
    error::{UserError, explain},
    review::get_escalation,
    session::Session,
};
use crate::api::{Escalation, EscalationState};

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
    let api: Api<Escalation> = session.api();
    let names: Vec<String> = match (&args.name, args.all_mine) {
        (Some(n), _) => vec![get_escalation(&api, n).await?.name_any()],
        (None, _) => api
            .list(&ListParams::default())
            .await
            .map_err(|e| explain("listing escalations", e))?
            .items
            .into_iter()
            .filter(|e| {
                e.spec.requestor == session.me.username
                    && !e.state().is_some_and(EscalationState::is_final)
                    && !e.spec.revoked
            })
            .map(|e| e.name_any())
            .collect(),
    };
    if names.is_empty() {
        println!("Nothing to revoke.");
    }
    for name in names {
        let esc = get_escalation(&api, &name).await?;
        if let Some(s) = esc.state().filter(|s| s.is_final()) {
            return Err(UserError::new(format!("escalation {name} is already {}", s.as_str())));
        }
        let patch = json!({"spec": {"revoked": true, "revokedBy": session.me.username}});
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| explain(&format!("revoking escalation {name}"), e))?;
        println!("escalation/{name} revoked; its grants are being reclaimed");
    }
    Ok(())
}
