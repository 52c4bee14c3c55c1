use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Who a rule applies to; the RBAC `Subject` shape admins already write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    pub kind: SubjectKind,
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// ServiceAccount namespace (required for kind ServiceAccount).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub namespace: Option<String>,
    /// Accepted for compatibility with RBAC subjects; not interpreted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub api_group: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SubjectKind {
    User,
    Group,
    ServiceAccount,
}

/// An authenticated user as the API server saw them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity<'a> {
    pub username: &'a str,
    pub groups: &'a [String],
}

/// The group of every ServiceAccount, and the prefix of its per-namespace group.
pub const SERVICE_ACCOUNTS_GROUP: &str = "system:serviceaccounts";
const SERVICE_ACCOUNTS_GROUP_PREFIX: &str = "system:serviceaccounts:";
const SERVICE_ACCOUNT_USER_PREFIX: &str = "system:serviceaccount:";

impl Identity<'_> {
    /// Whether the API server authenticated a ServiceAccount (by its username form).
    pub fn is_service_account(&self) -> bool {
        self.username.starts_with(SERVICE_ACCOUNT_USER_PREFIX)
    }
}

impl Subject {
    pub fn user(name: &str) -> Self {
        Self::new(SubjectKind::User, name)
    }

    pub fn group(name: &str) -> Self {
        Self::new(SubjectKind::Group, name)
    }

    fn new(kind: SubjectKind, name: &str) -> Self {
        Self { kind, name: name.into(), namespace: None, api_group: None }
    }

    /// Matches the way RBAC matches subjects: a User by username, a Group by
    /// any of the user's groups, a ServiceAccount by its username
    /// `system:serviceaccount:NS:NAME`, with one deliberate difference: a
    /// ServiceAccount is admitted only by a ServiceAccount subject or a
    /// `system:serviceaccounts[:NS]` group, never by `system:authenticated`
    /// or another group. Anyone who can mint a token for a ServiceAccount
    /// could otherwise act as a second person (and approve themself).
    pub fn matches(&self, who: &Identity<'_>) -> bool {
        match self.kind {
            SubjectKind::User => self.name == who.username,
            SubjectKind::Group if who.is_service_account() => {
                (self.name == SERVICE_ACCOUNTS_GROUP || self.name.starts_with(SERVICE_ACCOUNTS_GROUP_PREFIX))
                    && who.groups.contains(&self.name)
            }
            SubjectKind::Group => who.groups.contains(&self.name),
            SubjectKind::ServiceAccount => self.namespace.as_deref().is_some_and(|ns| {
                who.username.strip_prefix(SERVICE_ACCOUNT_USER_PREFIX).and_then(|rest| rest.split_once(':'))
                    == Some((ns, self.name.as_str()))
            }),
        }
    }

    pub fn describe(&self) -> String {
        match self.kind {
            SubjectKind::User => format!("user {}", self.name),
            SubjectKind::Group => format!("group {}", self.name),
            SubjectKind::ServiceAccount => {
                format!("service account {}/{}", self.namespace.as_deref().unwrap_or("?"), self.name)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_follows_rbac() {
        let groups = vec!["squad-a".to_string(), "system:authenticated".to_string()];
        let alice = Identity { username: "alice", groups: &groups };
        assert!(Subject::user("alice").matches(&alice));
        assert!(!Subject::user("bob").matches(&alice));
        assert!(Subject::group("squad-a").matches(&alice));
        assert!(!Subject::group("squad-b").matches(&alice));
        // A user whose *name* is a group's name is not in that group.
        assert!(!Subject::group("alice").matches(&alice));

        let sa_groups = vec!["system:serviceaccounts".to_string()];
        let sa = Identity { username: "system:serviceaccount:ci:deployer", groups: &sa_groups };
        let mut subject = Subject::new(SubjectKind::ServiceAccount, "deployer");
        assert!(!subject.matches(&sa), "a ServiceAccount subject needs its namespace");
        subject.namespace = Some("ci".into());
        assert!(subject.matches(&sa));
        subject.namespace = Some("prod".into());
        assert!(!subject.matches(&sa));
        assert!(!Subject::user("deployer").matches(&sa));
    }

    #[test]
    fn service_accounts_only_match_service_account_subjects_and_groups() {
        let groups: Vec<String> =
            ["system:serviceaccounts", "system:serviceaccounts:ci", "system:authenticated", "squad-a"]
                .map(String::from)
                .to_vec();
        let sa = Identity { username: "system:serviceaccount:ci:deployer", groups: &groups };
        assert!(!Subject::group("system:authenticated").matches(&sa));
        assert!(!Subject::group("squad-a").matches(&sa), "no other group admits a ServiceAccount");
        assert!(Subject::group("system:serviceaccounts").matches(&sa));
        assert!(Subject::group("system:serviceaccounts:ci").matches(&sa));
        assert!(!Subject::group("system:serviceaccounts:prod").matches(&sa));
        // A human in system:authenticated is still admitted by it.
        let human = Identity { username: "alice", groups: &groups };
        assert!(Subject::group("system:authenticated").matches(&human));
    }
}
