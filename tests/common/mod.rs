//! Builders for test objects: a policy, an escalation, reviews, a clock.
#![allow(dead_code)]

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kudo::{
    api::*,
    engine::{self, Decision, Inputs, Observation},
};

pub const T0: &str = "2026-11-23T10:00:00Z"; // a Monday, 11:00 in Paris

pub fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub fn at(offset_secs: i64) -> Timestamp {
    t(T0) + jiff::SignedDuration::from_secs(offset_secs)
}

pub fn grant_rb(default_ns: &str, allowed: &[&str], role: &str) -> Grant {
    Grant {
        kind: GrantKind::KubernetesRoleBinding,
        default_namespace: Some(default_ns.into()),
        allowed_namespaces: allowed.iter().map(|s| s.to_string()).collect(),
        role_ref: RoleRef { kind: RoleKind::ClusterRole, name: role.into(), api_group: RBAC_GROUP.into() },
    }
}

pub fn grant_crb(role: &str) -> Grant {
    Grant {
        kind: GrantKind::KubernetesClusterRoleBinding,
        default_namespace: None,
        allowed_namespaces: vec![],
        role_ref: RoleRef { kind: RoleKind::ClusterRole, name: role.into(), api_group: RBAC_GROUP.into() },
    }
}

pub fn peer_review(reviewers: Vec<Subject>, min: u32) -> Challenge {
    Challenge {
        kind: ChallengeKind::PeerReview,
        reviewers,
        min_approvals: Some(min),
        time_zone: None,
        windows: vec![],
        pattern: None,
        break_glass: false,
    }
}

pub fn justification(pattern: &str) -> Challenge {
    Challenge {
        kind: ChallengeKind::Justification,
        reviewers: vec![],
        min_approvals: None,
        time_zone: None,
        windows: vec![],
        pattern: Some(pattern.into()),
        break_glass: false,
    }
}

pub fn office_hours() -> Challenge {
    use Weekday::*;
    Challenge {
        kind: ChallengeKind::TimeWindow,
        reviewers: vec![],
        min_approvals: None,
        time_zone: Some("Europe/Paris".into()),
        windows: vec![Window { days: vec![Mon, Tue, Wed, Thu, Fri], start: "08:00".into(), end: "19:00".into() }],
        pattern: None,
        break_glass: false,
    }
}

pub fn policy(challenges: Vec<Challenge>) -> EscalationPolicy {
    let mut p = EscalationPolicy::new(
        "gain-port-forward",
        EscalationPolicySpec {
            subjects: vec![Subject::group("squad-a")],
            challenges,
            pending_timeout: None,
            max_open_per_requestor: None,
            notify: None,
            target: Target {
                default_duration: "60m".into(),
                max_duration: "4h".into(),
                max_extensions: None,
                grants: vec![grant_rb("application-a", &["application-a", "application-b"], "port-forwarder")],
            },
        },
    );
    p.metadata.uid = Some("policy-uid-1".into());
    p.metadata.generation = Some(1);
    p
}

pub fn escalation(requestor: &str, groups: &[&str]) -> Escalation {
    let mut e = Escalation::new(
        "gain-port-forward-x7k2p",
        EscalationSpec {
            policy_name: "gain-port-forward".into(),
            requestor: requestor.into(),
            requestor_groups: groups.iter().map(|s| s.to_string()).collect(),
            reason: "debug application B, ticket OPS-3939".into(),
            namespace: None,
            duration: None,
            revoked: false,
            revoked_by: String::new(),
            extends: String::new(),
            start_at: None,
            break_glass: false,
        },
    );
    e.metadata.uid = Some("esc-uid-1".into());
    e.metadata.creation_timestamp = Some(Time(t(T0)));
    e
}

pub fn alice() -> Escalation {
    escalation("alice", &["squad-a", "system:authenticated"])
}

pub fn review(e: &Escalation, reviewer: &str, groups: &[&str], decision: ReviewDecision) -> EscalationReview {
    EscalationReview {
        metadata: ObjectMeta {
            name: Some(format!("{}-{reviewer}", e.metadata.name.as_deref().unwrap())),
            ..Default::default()
        },
        spec: EscalationReviewSpec {
            escalation_name: e.metadata.name.clone().unwrap(),
            escalation_uid: e.metadata.uid.clone().unwrap(),
            reviewer: reviewer.into(),
            reviewer_groups: groups.iter().map(|s| s.to_string()).collect(),
            decision,
            message: String::new(),
        },
    }
}

pub fn approve(e: &Escalation, reviewer: &str, groups: &[&str]) -> EscalationReview {
    review(e, reviewer, groups, ReviewDecision::Approved)
}

/// One evaluation with everything in order.
pub struct World {
    pub now: Timestamp,
    pub escalation: Escalation,
    pub policy: Option<EscalationPolicy>,
    pub reviews: Vec<EscalationReview>,
    pub rbac_use_allowed: bool,
    pub missing_guards: Vec<String>,
    pub open_escalations: Vec<String>,
    pub observed: BTreeMap<String, Observation>,
    /// What `spec.extends` names, as the controller read it.
    pub extended: Option<Escalation>,
    pub rivals: Vec<String>,
    pub superseded_by: Option<String>,
}

impl World {
    pub fn new(escalation: Escalation, policy: EscalationPolicy) -> Self {
        Self {
            now: t(T0),
            escalation,
            policy: Some(policy),
            reviews: vec![],
            rbac_use_allowed: false,
            missing_guards: vec![],
            open_escalations: vec![],
            observed: BTreeMap::new(),
            extended: None,
            rivals: vec![],
            superseded_by: None,
        }
    }

    pub fn decide(&self) -> Decision {
        engine::decide(&Inputs {
            now: self.now,
            escalation: &self.escalation,
            policy: self.policy.as_ref(),
            reviews: &self.reviews,
            rbac_use_allowed: self.rbac_use_allowed,
            missing_guards: &self.missing_guards,
            open_escalations: &self.open_escalations,
            observed: &self.observed,
            extension: engine::extension::View {
                extended: self.extended.as_ref(),
                rivals: &self.rivals,
                superseded_by: self.superseded_by.as_deref(),
            },
        })
    }

    /// Decides, then applies the decision the way the controller does:
    /// status written, every action succeeding.
    pub fn step(&mut self) -> Decision {
        // A review pushed since the last step was created now, as the API
        // server would stamp it.
        for r in self.reviews.iter_mut().filter(|r| r.metadata.creation_timestamp.is_none()) {
            r.metadata.creation_timestamp = Some(Time(self.now));
        }
        let d = self.decide();
        let mut status = d.status.clone();
        for a in &d.actions {
            match *a {
                engine::Action::Create(i) => {
                    engine::mark(&mut status, i, GrantStatus::Created, Some(format!("uid-{i}")), Some("1".into()))
                }
                engine::Action::Reclaim(i) => engine::mark(&mut status, i, GrantStatus::Reclaimed, None, None),
            }
        }
        self.escalation.status = Some(status);
        d
    }

    pub fn state(&self) -> Option<EscalationState> {
        self.escalation.state()
    }

    pub fn details(&self) -> String {
        self.escalation.status.as_ref().map(|s| s.state_details.clone()).unwrap_or_default()
    }
}
