//! Pure decisions: no I/O, no clock. `now` and everything observed come in
//! as values, a decision comes out. The controller is a thin shell around it.
//! Enforced: clippy denies the clock and the API client here (clippy.toml).
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod admission;
pub mod binding;
pub mod cache;
pub mod checks;
pub mod doctor;
pub mod freshness;
pub mod guards;
pub mod lint;
pub mod plan;
pub mod preview;
pub mod rbac;
pub mod retention;
pub mod review;
mod state;
pub mod version;
pub mod window;
pub mod writes;

pub use state::{Action, Decision, Inputs, Observation, decide, grant_failed, mark, retention_due};
