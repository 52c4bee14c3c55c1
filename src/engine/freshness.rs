//! Whether a view of an object may be decided on: never one older than the
//! controller's own last write to it (a watch cache lags the writes it is
//! told about; deciding on it again would decide twice).

/// True when `view` predates `last_written`: both resourceVersions of the
/// same object, as the API server returned them. Kubernetes makes the
/// resourceVersions of one resource comparable (KEP-5504; apimachinery's
/// `resourceversion.CompareResourceVersion`, whose rules this follows:
/// positive decimal integers without leading zeros, of any length). A value
/// that is not one cannot be ordered, so it counts as older: the caller then
/// reads the object fresh.
pub fn predates_own_write(view: Option<&str>, last_written: Option<&str>) -> bool {
    let Some(written) = last_written else { return false };
    match view {
        Some(view) if well_formed(view) && well_formed(written) => (view.len(), view) < (written.len(), written),
        _ => true,
    }
}

fn well_formed(rv: &str) -> bool {
    !rv.is_empty() && !rv.starts_with('0') && rv.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::predates_own_write as predates;

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
}
