//! What the dashboard asks of the cluster, as the user: each function one
//! thing a page shows or a button does, over the operations layer that the
//! CLI's commands use too (`crate::operations`), so both check and word
//! things alike.

use jiff::Timestamp;

pub use crate::operations::{
    Error, Session,
    policies::Offer,
    request::Request,
    status::{Detail, Live},
};
use crate::{
    api::{Escalation, ReviewDecision},
    operations::{
        self,
        list::{Scope, Selection},
    },
};

/// Escalations in `scope`, newest first.
async fn newest_first(session: &Session, scope: Scope) -> Result<Vec<Escalation>, Error> {
    let selection = Selection::new(session, scope).await?;
    let mut items = operations::list::list(session, &selection).await?;
    items.reverse();
    Ok(items)
}

/// My escalations.
pub async fn mine(session: &Session) -> Result<Vec<Escalation>, Error> {
    newest_first(session, Scope::Mine).await
}

/// Those awaiting my review: PENDING ones I may review and have not, and
/// break-glass ones owing their after-review.
pub struct ToReview {
    pub pending: Vec<Escalation>,
    pub after_review: Vec<Escalation>,
}

pub async fn to_review(session: &Session) -> Result<ToReview, Error> {
    Ok(ToReview {
        pending: newest_first(session, Scope::PendingReview).await?,
        after_review: newest_first(session, Scope::AfterReview).await?,
    })
}

/// The policies I may use, with what each asks first.
pub async fn policies(session: &Session) -> Result<Vec<Offer>, Error> {
    operations::policies::policies(session, false).await
}

/// Checks the request as `escalate` does and creates it; the new name.
pub async fn request(session: &Session, request: Request) -> Result<String, Error> {
    use kube::ResourceExt;
    Ok(operations::request::create(session, &request).await?.name_any())
}

/// Approve or deny, with the checks and words of `kubectl kudo approve|deny`.
pub async fn review(session: &Session, name: &str, decision: ReviewDecision, message: &str) -> Result<(), Error> {
    operations::review::review(session, name, decision, message).await.map(|_| ())
}

/// Ends one of my escalations early.
pub async fn revoke(session: &Session, name: &str) -> Result<(), Error> {
    operations::revoke::revoke(session, name).await.map(|_| ())
}

/// One escalation with its reviews, grants and timeline.
pub async fn detail(session: &Session, name: &str) -> Result<Detail, Error> {
    operations::status::status(session, name, Timestamp::now()).await
}
