//! kudo: `sudo` for Kubernetes. See DESIGN.md for the contract.
//!
//! Layout: `api` (the CRD types), `client` (the Kubernetes client),
//! `engine` (pure decisions: policy checks, grant planning, the state
//! machine, the dangerous-role lint), `grants`
//! (the RBAC bindings), `audit` (Events, JSON lines, the HTTP sink),
//! `controller` (the reconcile loop), `manifests` (the install), `operations`
//! (what people do with kudo: request, review, revoke, list, status, which,
//! policies, wait; shared by every front end), `cli` (the
//! `kubectl kudo` front end), `sandbox` (kudo on an API server in one
//! process, to try it), `web` (the `kubectl kudo dashboard` front end).

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod audit;
pub mod cli;
pub mod client;
pub mod controller;
pub mod engine;
pub mod grants;
pub mod manifests;
pub mod notify;
pub mod operations;
pub mod printable;
pub mod sandbox;
pub mod web;
