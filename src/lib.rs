//! kudo: `sudo` for Kubernetes. See DESIGN.md for the contract.
//!
//! Layout: `api` (the CRD types), `engine` (pure decisions: policy checks,
//! the state machine, the dangerous-role lint), `grants` (what bindings look
//! like), `manifests` (the install), `cli` (the `kubectl kudo` front end).

pub mod api;
pub mod cli;
pub mod engine;
pub mod grants;
pub mod manifests;
