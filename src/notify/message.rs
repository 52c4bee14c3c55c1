//! What a notification says (DESIGN §6), pure: built from the escalation as
//! written, its policy, and `now`.
//!
//! Every piece of user text (reason, names, details) goes through
//! [`chat::text`], so `<!channel>`, `<@U…>` and `<https://evil|label>`
//! arrive as text, never as a ping or a disguised link, and control
//! characters (newlines included) arrive escaped, so a reason cannot forge
//! a line of kudo's own. Backticks are replaced, so a reason cannot open a
//! code span that swallows the approve command. Lengths are bounded: the
//! reason, the grant preview, and the whole text, with the commands kept.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::{
    api::{Escalation, EscalationPolicySpec, EscalationState, Notice, NotifyFormat, duration::human},
    audit::chat,
    engine,
};

/// Most bytes of the (escaped) reason shown.
pub const MAX_REASON: usize = 300;
/// Most bytes of the grant lines shown.
pub const MAX_GRANTS_TEXT: usize = 1500;
/// Most bytes of the whole text: under Slack's 3000 for one section, with
/// room for the commands, which are never cut.
pub const MAX_TEXT: usize = 2800;

/// One notification, ready to POST.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// `<escalation uid>/<notice>`: the same for every attempt and every
    /// resend after a restart, so a receiver can drop duplicates. Sent as
    /// the `Idempotency-Key` header and in JSON bodies.
    pub idempotency_key: String,
    pub body: String,
}

/// User text safe for chat: escaped (see the module's doc), at most `max` bytes.
fn user(raw: &str, max: usize) -> String {
    chat::truncate(&chat::text(&raw.replace('`', "'")), max)
}

fn approve_command(name: &str) -> String {
    format!("kubectl kudo approve {name}")
}

/// The grants as lines: the preview when there is one, else the roles and
/// the namespaces they would be bound in.
fn grant_lines(esc: &Escalation, policy: Option<&EscalationPolicySpec>) -> Vec<String> {
    if let Some(preview) = esc.status.as_ref().and_then(|s| s.grant_preview.as_ref()) {
        return engine::preview::lines(preview);
    }
    let Some(policy) = policy else { return Vec::new() };
    let namespaces = engine::checks::namespaces(policy, &esc.spec, &esc.spec.policy_name).unwrap_or_default();
    policy
        .target
        .grants
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let place = match namespaces.get(i).cloned().flatten() {
                Some(ns) => format!("in namespace {ns}"),
                None => "cluster-wide".into(),
            };
            format!("{:?}/{} {place}", g.role_ref.kind, g.role_ref.name)
        })
        .collect()
}

/// The sentence(s) people read, escaped for chat.
pub fn text(esc: &Escalation, policy: Option<&EscalationPolicySpec>, notice: Notice, now: Timestamp) -> String {
    let name = user(&esc.metadata.name.clone().unwrap_or_default(), 253);
    let spec = &esc.spec;
    let requestor = user(&spec.requestor, 256);
    let policy_name = user(&spec.policy_name, 253);
    let reason = user(&spec.reason, MAX_REASON);
    let status = esc.status.as_ref();
    let details = user(status.map(|s| s.state_details.as_str()).unwrap_or_default(), 600);
    let expires = status.and_then(|s| s.expires_at.as_ref()).map(|t| t.0);
    let until = |t: Timestamp| format!("{t} (in {})", human(t.duration_since(now)));
    match notice {
        Notice::Requested => {
            let duration = spec
                .duration
                .as_ref()
                .map_or_else(|| "the policy's default duration".into(), |d| user(&d.to_string(), 32));
            let asks = if spec.break_glass {
                format!(
                    "BREAK-GLASS: *{requestor}* took policy *{policy_name}* without review, for {duration}; it needs an after-review."
                )
            } else {
                format!("*{requestor}* asks for policy *{policy_name}* for {duration}.")
            };
            let grants = grant_lines(esc, policy).iter().map(|l| format!("• {}", chat::text(l))).collect::<Vec<_>>();
            let grants = if grants.is_empty() { String::new() } else { format!("\nGrants:\n{}", grants.join("\n")) };
            let head = format!("{asks}\nReason: {reason}{}", chat::truncate(&grants, MAX_GRANTS_TEXT));
            let commands = format!("\nApprove: `{}`\nDeny: `kubectl kudo deny {name}`", approve_command(&name));
            format!("{}{commands}", chat::truncate(&head, MAX_TEXT.saturating_sub(commands.len())))
        }
        Notice::Decided => {
            let state = status.map_or("PENDING", |s| s.state.as_str());
            let mut out = format!("Escalation {name} of *{requestor}* (policy *{policy_name}*) is *{state}*");
            match (status.map(|s| s.state), expires) {
                (Some(EscalationState::Accepted), Some(t)) => {
                    out += &format!(" until {}: {details}\nRevoke early: `kubectl kudo revoke {name}`", until(t))
                }
                _ => out += &format!(": {details}"),
            }
            chat::truncate(&out, MAX_TEXT)
        }
        Notice::Reminder => {
            let when = expires.map_or_else(|| "soon".into(), until);
            let out = format!(
                "Escalation {name} of *{requestor}* (policy *{policy_name}*) expires at {when}. To keep the access, ask again: `kubectl kudo escalate {policy_name}`"
            );
            chat::truncate(&out, MAX_TEXT)
        }
    }
}

/// The notification in `format`.
pub fn build(
    esc: &Escalation,
    policy: Option<&EscalationPolicySpec>,
    notice: Notice,
    format: NotifyFormat,
    now: Timestamp,
) -> Message {
    let uid = esc.metadata.uid.clone().unwrap_or_default();
    let idempotency_key = format!("{uid}/{}", notice.key());
    let text = text(esc, policy, notice, now);
    let body = match format {
        NotifyFormat::Slack => json!({"text": text}),
        NotifyFormat::Json => {
            let name = esc.metadata.name.clone().unwrap_or_default();
            let status = esc.status.as_ref();
            let mut v = json!({
                "kind": "kudo.notification",
                "notice": notice,
                "idempotencyKey": idempotency_key,
                "time": now,
                "escalation": name,
                "escalationUID": uid,
                "policy": esc.spec.policy_name,
                "requestor": esc.spec.requestor,
                // As written (control characters escaped), bounded; `text` is the chat-escaped form.
                "reason": chat::unescape(&chat::truncate(&chat::text(&esc.spec.reason), 1024)),
                "state": status.map(|s| s.state),
                "details": status.map(|s| s.state_details.clone()),
                "expiresAt": status.and_then(|s| s.expires_at.as_ref()).map(|t| t.0),
                "grants": grant_lines(esc, policy),
                "breakGlass": esc.spec.break_glass,
                "text": text,
            });
            if notice == Notice::Requested {
                v["approveCommand"] = Value::String(approve_command(&name));
                v["denyCommand"] = Value::String(format!("kubectl kudo deny {name}"));
                if let Some(p) = status.and_then(|s| s.grant_preview.as_ref()) {
                    v["grantPreview"] = serde_json::to_value(p).unwrap_or_default();
                }
            }
            v
        }
    };
    Message { idempotency_key, body: body.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{
        ChallengeKind, ChallengeState, ChallengeStatus, EscalationSpec, EscalationStatus, GrantPreview,
        PreviewPermission, PreviewScope,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn policy() -> EscalationPolicySpec {
        serde_json::from_value(json!({
            "subjects": [{"kind": "Group", "name": "squad-a"}],
            "target": {"defaultDuration": "1h", "maxDuration": "1h", "grants": [{
                "kind": "KubernetesRoleBinding", "defaultNamespace": "app",
                "roleRef": {"kind": "ClusterRole", "name": "pod-reader"}}]},
        }))
        .unwrap()
    }

    fn escalation(reason: &str) -> Escalation {
        let mut e = Escalation::new(
            "read-pods-x7k2p",
            EscalationSpec {
                policy_name: "read-pods".into(),
                requestor: "alice".into(),
                requestor_groups: vec![],
                reason: reason.into(),
                namespace: None,
                duration: Some("30m".into()),
                start_at: None,
                break_glass: false,
                revoked: false,
                revoked_by: String::new(),
                extends: String::new(),
            },
        );
        e.metadata.uid = Some("uid-1".into());
        let mut s = EscalationStatus::new(EscalationState::Pending);
        s.challenges.push(ChallengeStatus {
            kind: ChallengeKind::PeerReview,
            state: ChallengeState::Pending,
            approved_by: vec![],
            message: String::new(),
        });
        e.status = Some(s);
        e
    }

    fn now() -> Timestamp {
        "2026-01-01T10:00:00Z".parse().unwrap()
    }

    const HOSTILE: &str = "<!channel> <script>alert(1)</script> & <https://evil.example|ticket #42>\nApprove: `kubectl kudo approve other` ```";

    #[test]
    fn hostile_reasons_can_neither_ping_nor_link_nor_forge_a_line() {
        let esc = escalation(HOSTILE);
        let t = text(&esc, Some(&policy()), Notice::Requested, now());
        assert!(t.contains("&lt;!channel&gt;") && t.contains("&lt;script&gt;") && t.contains(" &amp; "), "{t}");
        assert!(!t.contains("<!") && !t.contains("<script") && !t.contains("<https"), "{t}");
        // The newline arrives escaped: the only lines are kudo's own.
        assert_eq!(t.lines().filter(|l| l.starts_with("Approve:")).count(), 1, "{t}");
        assert!(
            t.ends_with("Approve: `kubectl kudo approve read-pods-x7k2p`\nDeny: `kubectl kudo deny read-pods-x7k2p`"),
            "{t}"
        );
        // No backtick of the user's: a code span cannot swallow the command.
        let reason_line = t.lines().find(|l| l.starts_with("Reason:")).unwrap();
        assert!(!reason_line.contains('`'), "{reason_line}");
        let slack: Value =
            serde_json::from_str(&build(&esc, None, Notice::Requested, NotifyFormat::Slack, now()).body).unwrap();
        assert_eq!(slack["text"].as_str().unwrap(), text(&esc, None, Notice::Requested, now()));
        // The JSON form carries the reason as written (JSON-escaped), and the escaped text.
        let m = build(&esc, Some(&policy()), Notice::Requested, NotifyFormat::Json, now());
        let v: Value = serde_json::from_str(&m.body).unwrap();
        let reason = v["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("<!channel> <script>") && !reason.contains('\n'),
            "as written, control characters escaped: {reason}"
        );
        assert_eq!(v["approveCommand"], "kubectl kudo approve read-pods-x7k2p");
        assert_eq!(v["idempotencyKey"], "uid-1/requested");
        assert_eq!(m.idempotency_key, "uid-1/requested");
    }

    #[test]
    fn huge_input_is_bounded_and_the_command_survives() {
        let esc = escalation(&"<&>".repeat(20_000));
        let t = text(&esc, Some(&policy()), Notice::Requested, now());
        assert!(t.len() <= MAX_TEXT, "{}", t.len());
        assert!(
            t.ends_with("`kubectl kudo deny read-pods-x7k2p`") && t.contains("`kubectl kudo approve read-pods-x7k2p`")
        );
        let reason = t.lines().find(|l| l.starts_with("Reason:")).unwrap();
        assert!(reason.len() <= MAX_REASON + "Reason: …".len(), "{}", reason.len());
        assert!(
            reason.ends_with("&gt;…") || reason.ends_with("&amp;…") || reason.ends_with("&lt;…"),
            "no cut entity: {reason}"
        );
        // A huge preview is cut, the commands are not.
        let mut esc = escalation("ok");
        let permission = PreviewPermission {
            verbs: vec!["get".into(); 16],
            resources: vec!["<x>".repeat(50); 16],
            resource_names: vec![],
            dangerous: None,
            held: false,
        };
        let scope = PreviewScope {
            namespace: Some("app".into()),
            role: "ClusterRole/big".into(),
            missing: false,
            permissions: vec![permission; 32],
        };
        esc.status.as_mut().unwrap().grant_preview = Some(GrantPreview { scopes: vec![scope; 8], truncated: true });
        let t = text(&esc, Some(&policy()), Notice::Requested, now());
        assert!(
            t.len() <= MAX_TEXT
                && t.contains("ClusterRole/big in namespace app")
                && t.ends_with("deny read-pods-x7k2p`"),
            "{t}"
        );
        let body = build(&esc, Some(&policy()), Notice::Requested, NotifyFormat::Slack, now()).body;
        assert!(body.len() < 4 * 1024, "{}", body.len());
    }

    #[test]
    fn roles_and_namespaces_without_a_preview_then_decision_and_reminder() {
        let mut esc = escalation("debug app, ticket #7");
        let t = text(&esc, Some(&policy()), Notice::Requested, now());
        assert!(
            t.contains("*alice* asks for policy *read-pods* for 30m")
                && t.contains("• ClusterRole/pod-reader in namespace app"),
            "{t}"
        );
        let s = esc.status.as_mut().unwrap();
        s.state = EscalationState::Accepted;
        s.state_details = "approved by bob".into();
        s.expires_at = Some(Time("2026-01-01T10:30:00Z".parse().unwrap()));
        let t = text(&esc, None, Notice::Decided, now());
        assert!(t.contains("is *ACCEPTED* until 2026-01-01T10:30:00Z (in 30m): approved by bob"), "{t}");
        assert!(t.contains("`kubectl kudo revoke read-pods-x7k2p`"), "{t}");
        let t = text(&esc, None, Notice::Reminder, "2026-01-01T10:20:00Z".parse().unwrap());
        assert!(t.contains("expires at 2026-01-01T10:30:00Z (in 10m)"), "{t}");
        let m = build(&esc, None, Notice::Reminder, NotifyFormat::Json, now());
        assert_eq!(m.idempotency_key, "uid-1/reminder");
        let v: Value = serde_json::from_str(&m.body).unwrap();
        assert_eq!((v["notice"].as_str(), v["state"].as_str()), (Some("Reminder"), Some("ACCEPTED")));
        esc.status.as_mut().unwrap().state = EscalationState::Denied;
        esc.status.as_mut().unwrap().state_details = "rejected by <@U1>".into();
        let t = text(&esc, None, Notice::Decided, now());
        assert!(t.contains("is *DENIED*: rejected by &lt;@U1&gt;"), "{t}");
    }
}
