//! Notifications routed by policy (DESIGN §6): each policy's `notify` names
//! webhook targets (URLs in Secrets in kudo's namespace); reviewers' targets
//! are told of new requests, the requestor's of decisions and of expiry.
//! `message` says what (pure), `queue` delivers (per target, bounded,
//! retried, at least once), `target` reads a target's URL. The controller
//! decides when (`engine::notify`) and remembers what was delivered
//! (`status.notified`). The global audit webhook (`audit`) is separate and unchanged.

pub mod message;
pub mod queue;
pub mod target;

pub use message::{Message, build};
pub use queue::{Completion, DeliveryConfig, NotifyCounters, Queues, Resolve};
pub use target::{TargetError, read_url};
