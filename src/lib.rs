//! kudo: `sudo` for Kubernetes. See DESIGN.md for the contract.
//!
//! Layout: `api` (the CRD types), `engine` (pure decisions: policy checks,
//! grant planning, the state machine, the dangerous-role lint), `manifests`
//! (the install), `cli` (the `kubectl kudo` front end).

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod cli;
pub mod engine;
pub mod manifests;
