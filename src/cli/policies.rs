//! `kubectl kudo policies`: the policies I may use and what they grant.

use clap::Args;
use kube::{Api, ResourceExt, api::ListParams};

use super::{
    error::{UserError, explain},
    format,
    session::Session,
};
use crate::{
    api::{CONDITION_DANGEROUS_ROLE, EscalationPolicy},
    engine::checks,
};

#[derive(Clone, Debug, Args)]
pub struct PoliciesArgs {
    /// Every policy, not only those I may use.
    #[arg(short = 'A', long)]
    pub all: bool,
}

pub async fn policies(session: &Session, args: PoliciesArgs) -> Result<(), UserError> {
    let api: Api<EscalationPolicy> = session.api();
    let mut items = api.list(&ListParams::default()).await.map_err(|e| explain("listing policies", e))?.items;
    items.sort_by_key(ResourceExt::name_any);
    let usable: Vec<String> =
        super::admission::usable(session, &items).await?.into_iter().map(ResourceExt::name_any).collect();
    let mut table = format::table(&["POLICY", "GRANTS", "DURATION", "CHALLENGES", "WARNINGS"]);
    let mut shown = 0;
    for p in &items {
        if !usable.contains(&p.name_any()) && !args.all {
            continue;
        }
        shown += 1;
        let grants: Vec<String> = p
            .spec
            .target
            .grants
            .iter()
            .map(|g| {
                let mut places: Vec<String> = g.default_namespace.iter().cloned().collect();
                places
                    .extend(g.allowed_namespaces.iter().filter(|n| Some(*n) != g.default_namespace.as_ref()).cloned());
                let place = if places.is_empty() { "cluster-wide".into() } else { format!("in {}", places.join("|")) };
                format!("{:?} {} {place}", g.role_ref.kind, g.role_ref.name)
            })
            .collect();
        let challenges: Vec<String> = p.spec.challenges.iter().map(format::challenge).collect();
        let warning = p
            .status
            .as_ref()
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == CONDITION_DANGEROUS_ROLE && c.status == "True"))
            .map(|c| c.message.clone())
            .unwrap_or_default();
        let problems = checks::policy_problems(&p.spec).join("; ");
        // Multi-line cells: escape each line, then join.
        let lines = |l: Vec<String>| format::cells(l).join("\n");
        let mut row = format::cells(vec![
            p.name_any(),
            format!("{} (max {})", p.spec.target.default_duration, p.spec.target.max_duration),
            [warning, problems].into_iter().filter(|w| !w.is_empty()).collect::<Vec<_>>().join("; "),
        ]);
        row.insert(1, lines(grants));
        row.insert(3, if challenges.is_empty() { "none".into() } else { lines(challenges) });
        table.add_row(row);
    }
    if shown == 0 {
        eprintln!(
            "No policy admits you ({}), as a subject or by RBAC `use`; ask an admin, or see them all with --all.",
            session.me.username
        );
        return Ok(());
    }
    println!("{}", format::render(&mut table));
    Ok(())
}
