//! `kubectl kudo policies`: the policies I may use and what they grant
//! (`operations::policies`), as a table.

use clap::Args;

use super::{error::UserError, format, session::Session};
use crate::operations::policies;

#[derive(Clone, Debug, Args)]
pub struct PoliciesArgs {
    /// Every policy, not only those I may use.
    #[arg(short = 'A', long)]
    pub all: bool,
}

pub async fn policies(session: &Session, args: PoliciesArgs) -> Result<(), UserError> {
    let offers = policies::policies(session, args.all).await?;
    if offers.is_empty() {
        eprintln!(
            "No policy admits you ({}), as a subject or by RBAC `use`; ask an admin, or see them all with --all.",
            session.me.username
        );
        return Ok(());
    }
    let mut table = format::table(&["POLICY", "GRANTS", "DURATION", "CHALLENGES", "WARNINGS"]);
    // Multi-line cells: escape each line, then join.
    let lines = |l: Vec<String>| format::cells(l).join("\n");
    for p in offers {
        let grants = p.grants.iter().map(|g| {
            let place =
                if g.namespaces.is_empty() { "cluster-wide".into() } else { format!("in {}", g.namespaces.join("|")) };
            format!("{:?} {} {place}", g.role_kind, g.role_name)
        });
        let challenges: Vec<String> = p.challenges.into_iter().map(|c| c.description).collect();
        let mut row = format::cells(vec![
            p.name,
            format!("{} (max {})", p.default_duration, p.max_duration),
            p.warnings.join("; "),
        ]);
        row.insert(1, lines(grants.collect()));
        row.insert(3, if challenges.is_empty() { "none".into() } else { lines(challenges) });
        table.add_row(row);
    }
    println!("{}", format::render(&mut table));
    Ok(())
}

/// Asks on the terminal which of my policies to use.
pub async fn pick(session: &Session) -> Result<String, UserError> {
    let usable = policies::usable_names(session).await?;
    if usable.is_empty() {
        return Err(crate::operations::Error::NoUsablePolicy.into());
    }
    Ok(usable[format::choose("Which policy?", &usable)?].clone())
}
