//! Whether a view of an object may be decided on: never one older than the
//! controller's own last write to it (a watch cache lags the writes it is
//! told about; deciding on it again would decide twice).

/// How a view compares with the controller's own last write to its object.
/// Both are resourceVersions of the same object, as the API server returned
/// them. Kubernetes makes the resourceVersions of one resource comparable
/// (KEP-5504; apimachinery's `resourceversion.CompareResourceVersion`, whose
/// rules this follows: positive decimal integers without leading zeros, of
/// any length). A value that is not one cannot be ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewAge {
    /// The write itself or newer (or nothing written): it may be decided on.
    Current,
    /// Older than the write. The watch has yet to deliver that write, and
    /// its delivery calls for the next decision: waiting for it costs no
    /// request, where a fresh read costs one for every write (and every
    /// write is followed by events that find the cache a step behind).
    Behind,
    /// One of the two resourceVersions cannot be ordered: read it fresh.
    Unknown,
}

pub fn view_age(view: Option<&str>, last_written: Option<&str>) -> ViewAge {
    let Some(written) = last_written else { return ViewAge::Current };
    match view {
        Some(view) if well_formed(view) && well_formed(written) => {
            if (view.len(), view) < (written.len(), written) {
                ViewAge::Behind
            } else {
                ViewAge::Current
            }
        }
        _ => ViewAge::Unknown,
    }
}

fn well_formed(rv: &str) -> bool {
    !rv.is_empty() && !rv.starts_with('0') && rv.bytes().all(|b| b.is_ascii_digit())
}

/// Which view of an escalation's policy a decision may start from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyView {
    /// The watch cache's copy: fresh enough, and any later edit reaches the
    /// cache first and then calls for a new decision (the controller wires
    /// policy-triggered reconciles from the cache's own stream).
    Cached,
    /// Read it from the API server.
    Fresh,
}

/// A cached policy (`cached`: its UID and generation, if the cache holds
/// it) may be decided on unless the escalation has seen a newer one
/// (`recorded`: the UID and generation its status records): a cache that
/// lacks the policy, holds another one of the same name, or an older
/// generation than the escalation already saw would decide on the past.
/// A denial is never taken from the cache either (`denies`): an admin who
/// has just created or widened a policy must not see an honest request
/// refused because the controller's watch was a few milliseconds behind.
pub fn policy_view(
    cached: Option<(Option<&str>, Option<i64>)>,
    recorded: (Option<&str>, Option<i64>),
    denies: bool,
) -> PolicyView {
    let Some((uid, generation)) = cached else { return PolicyView::Fresh };
    let older = match recorded {
        (None, _) => false,
        (Some(seen), _) if uid != Some(seen) => true,
        (_, seen) => generation < seen,
    };
    if older || denies { PolicyView::Fresh } else { PolicyView::Cached }
}

#[cfg(test)]
mod tests {
    use super::{ViewAge, view_age};

    fn predates(view: Option<&str>, written: Option<&str>) -> bool {
        view_age(view, written) != ViewAge::Current
    }

    #[test]
    fn views_older_than_the_last_write_are_refused() {
        assert!(!predates(Some("5"), None), "nothing written: any view");
        assert!(predates(Some("5"), Some("6")));
        assert!(!predates(Some("6"), Some("6")), "the write itself");
        assert!(!predates(Some("17"), Some("6")), "written since, by anyone");
        assert!(!predates(Some("10"), Some("9")), "numerically, not as text");
        assert!(predates(None, Some("6")), "no resourceVersion: unknown age");
        assert!(!predates(Some("99999999999999999999999"), Some("9")), "of any length");
        for odd in ["", "0", "x", "-1", "07", "1e3", " 6"] {
            assert!(predates(Some(odd), Some("6")), "{odd:?} cannot be ordered");
            assert!(predates(Some("6"), Some(odd)), "{odd:?} cannot be ordered");
        }
    }

    #[test]
    fn a_view_behind_the_last_write_waits_for_it_unless_it_cannot_be_ordered() {
        use ViewAge::*;
        assert_eq!(view_age(Some("5"), None), Current);
        assert_eq!(view_age(Some("6"), Some("6")), Current);
        assert_eq!(view_age(Some("5"), Some("6")), Behind);
        assert_eq!(view_age(Some("9"), Some("10")), Behind, "numerically");
        assert_eq!(view_age(Some("x"), Some("6")), Unknown);
        assert_eq!(view_age(None, Some("6")), Unknown);
        assert_eq!(view_age(Some("6"), Some("06")), Unknown);
    }

    #[test]
    fn a_cached_policy_is_used_only_when_it_is_as_new_as_what_was_seen_and_does_not_deny() {
        use super::{PolicyView::*, policy_view};
        let seen = (Some("u1"), Some(3));
        assert_eq!(policy_view(None, (None, None), false), Fresh, "not in the cache yet: just created?");
        assert_eq!(policy_view(Some((Some("u1"), Some(1))), (None, None), false), Cached, "never evaluated");
        assert_eq!(policy_view(Some((Some("u1"), Some(3))), seen, false), Cached);
        assert_eq!(policy_view(Some((Some("u1"), Some(4))), seen, false), Cached, "edited since: the decision denies");
        assert_eq!(policy_view(Some((Some("u1"), Some(2))), seen, false), Fresh, "older than what was seen");
        assert_eq!(policy_view(Some((Some("u2"), Some(9))), seen, false), Fresh, "another policy of that name");
        assert_eq!(policy_view(Some((None, None)), seen, false), Fresh, "no UID: cannot be matched");
        assert_eq!(policy_view(Some((Some("u1"), Some(3))), seen, true), Fresh, "a denial is confirmed fresh");
    }
}
