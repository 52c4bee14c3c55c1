//! `kubectl kudo which VERB RESOURCE [NAME]`: the finder
//! (`operations::which`) as a table, JSON or YAML; and `--for`'s pick.

use clap::Args;
use serde_json::{Value, json};

use super::{error::UserError, format, list::Output, session::Session};
use crate::operations::{
    Error,
    which::{self, Finding, Found, Permission},
};

#[derive(Clone, Debug, Args)]
pub struct WhichArgs {
    /// The verb, as RBAC names it: get, list, create, update, patch, delete, use…
    #[arg(value_name = "VERB")]
    pub verb: String,
    /// The resource as kubectl names it: pods, deploy, deployments.apps. RESOURCE/X is
    /// a subresource when the cluster serves one of that name (pods/portforward,
    /// pods/log), otherwise an object's name as for kubectl auth can-i (secrets/db).
    #[arg(value_name = "RESOURCE")]
    pub resource: String,
    /// One object's name (rules limited to resourceNames apply only then).
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// The subresource, as for kubectl auth can-i (pods/log is the same as pods --subresource log).
    #[arg(long, value_name = "SUBRESOURCE")]
    pub subresource: Option<String>,
    /// Output format: json or yaml (default: a table).
    #[arg(short, long, value_enum, value_name = "FORMAT")]
    pub output: Option<Output>,
}

pub async fn which(session: &Session, args: WhichArgs, namespace: Option<String>) -> Result<(), UserError> {
    let WhichArgs { verb, resource, name, subresource, output } = args;
    let finding = find(session, &Permission { verb, resource, name, subresource, namespace }).await?;
    let found: Vec<Value> = finding.found.iter().map(summary).collect();
    match output {
        Some(Output::Json) => println!("{}", serde_json::to_string_pretty(&Value::Array(found)).unwrap_or_default()),
        Some(Output::Yaml) => print!(
            "{}",
            serde_saphyr::to_string(&Value::Array(found)).map_err(|e| UserError::new(format!("writing YAML: {e}")))?
        ),
        _ => {
            let mut table = format::table(&["POLICY", "GRANTS", "REQUIRES", "RUN"]);
            let lines = |items: &[String]| format::cells(items.to_vec()).join("\n");
            for f in &finding.found {
                let requires = if f.requires.is_empty() { "nothing".into() } else { lines(&f.requires) };
                let (policy, command) =
                    (lines(std::slice::from_ref(&f.policy)), lines(std::slice::from_ref(&f.command)));
                table.add_row(vec![policy, lines(&f.grants), requires, command]);
            }
            eprintln!("Policies you may use that grant {}:", finding.asked);
            println!("{}", format::render(&mut table));
        }
    }
    Ok(())
}

/// The finder, saying (as kubectl does) when it took a resource as typed;
/// [`Error::NoneGrants`] when no policy grants it.
async fn find(session: &Session, permission: &Permission) -> Result<Finding, UserError> {
    let finding = which::find(session, permission).await?;
    if finding.unknown_resource {
        eprintln!("Warning: the server doesn't have a resource type '{}'", typed(&permission.resource));
    }
    if finding.found.is_empty() {
        return Err(Error::NoneGrants { asked: finding.asked }.into());
    }
    Ok(finding)
}

fn typed(resource: &str) -> &str {
    resource.split_once('/').map_or(resource, |(r, _)| r)
}

/// `--for "VERB RESOURCE [NAME] [-n NS]"`: the policy (and namespace) that
/// grants it; several are offered on a terminal, or named in the error.
pub async fn pick(
    session: &Session,
    text: &str,
    namespace: Option<String>,
    interactive: bool,
) -> Result<Found, UserError> {
    let finding = find(session, &Permission::parse(text, namespace)?).await?;
    let mut found = finding.found;
    let index = match found.len() {
        1 => 0,
        _ if interactive => {
            let names: Vec<&str> = found.iter().map(|f| f.policy.as_str()).collect();
            format::choose(&format!("Several policies grant {}; which one?", finding.asked), &names)?
        }
        _ => {
            let policies = found.into_iter().map(|f| f.policy).collect();
            return Err(Error::SeveralGrant { asked: finding.asked, policies }.into());
        }
    };
    Ok(found.swap_remove(index))
}

/// What `-o json|yaml` prints for one policy.
fn summary(f: &Found) -> Value {
    json!({
        "policy": f.policy,
        "grants": f.grants,
        "requires": f.requires,
        "duration": {"default": f.default_duration, "max": f.max_duration},
        "namespace": f.namespace,
        "command": f.command,
    })
}
