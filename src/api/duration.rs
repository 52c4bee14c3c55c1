//! Durations as users write them (`90s`, `60m`, `1h30m`), kept verbatim.
//!
//! The text is stored unchanged so that objects round-trip byte for byte, and
//! parsing is deferred to the reader: a malformed value in one object must
//! produce a clear DENIED message, never a failed list/watch that would blind
//! the controller to every other object.

use std::{borrow::Cow, fmt, str::FromStr};

use jiff::SignedDuration;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// Go's `time.ParseDuration` syntax, restricted to non-negative values.
/// Mirrors what the API server's CEL `duration()` accepts.
pub const DURATION_PATTERN: &str = r"^(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$";

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DurationText(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid duration {text:?}: {reason}; write it like 90s, 30m, 1h30m or 4h")]
pub struct DurationError {
    pub text: String,
    pub reason: String,
}

impl DurationText {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// Parses with Go semantics (kube's `metav1.Duration` parser) and
    /// rejects negative values, which make no sense for an escalation.
    pub fn parse(&self) -> Result<SignedDuration, DurationError> {
        let err = |reason: String| DurationError { text: self.0.clone(), reason };
        let trimmed = self.0.trim();
        if trimmed.is_empty() {
            return Err(err("it is empty".into()));
        }
        if trimmed.starts_with('-') {
            return Err(err("it is negative".into()));
        }
        if !matches_pattern(trimmed) {
            return Err(err("unknown syntax".into()));
        }
        let parsed = kube::core::Duration::from_str(trimmed).map_err(|e| err(e.to_string()))?;
        SignedDuration::try_from(std::time::Duration::from(parsed)).map_err(|_| err("it is too large".into()))
    }
}

/// The Go parser accepts a few oddities (a bare `0`, `+` signs, repeated
/// signs); the API server's schema pattern does not, so neither do we.
fn matches_pattern(text: &str) -> bool {
    static PATTERN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        // The pattern is a compile-time constant covered by unit tests.
        #[allow(clippy::expect_used)]
        regex::Regex::new(DURATION_PATTERN).expect("DURATION_PATTERN is a valid regex")
    });
    PATTERN.is_match(text)
}

impl fmt::Display for DurationText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for DurationText {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl JsonSchema for DurationText {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "maxLength": 32,
            "pattern": DURATION_PATTERN,
            "description": "A duration in Go/Kubernetes syntax, e.g. 90s, 60m, 1h30m, 4h.",
        })
    }
}

/// Formats a span for people: `1h 30m`, `42m`, `15s`.
pub fn human(d: SignedDuration) -> String {
    let secs = d.as_secs();
    if secs <= 0 {
        return "0s".into();
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    match (h, m, s) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m {s}s"),
        (h, 0, _) => format!("{h}h"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        let cases = [
            ("90s", 90),
            ("60m", 3600),
            ("1h30m", 5400),
            ("4h", 14400),
            ("1.5h", 5400),
            ("2h45m10s", 9910),
            (".5m", 30),
        ];
        for (text, secs) in cases {
            assert_eq!(DurationText::from(text).parse().unwrap().as_secs(), secs, "{text}");
        }
        assert_eq!(DurationText::from("1500ms").parse().unwrap(), SignedDuration::from_millis(1500));
    }

    #[test]
    fn rejects_garbage_with_a_hint() {
        for text in ["", "1", "h", "1 hour", "-1h", "1d", "1h-5m", "+1h", "1hh", "0"] {
            let err = DurationText::from(text).parse().unwrap_err();
            assert!(err.to_string().contains("1h30m"), "{text}: {err}");
        }
    }

    #[test]
    fn keeps_text_verbatim() {
        let d: DurationText = serde_json::from_str("\"60m\"").unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"60m\"");
    }

    #[test]
    fn human_spans() {
        let h = |s| human(SignedDuration::from_secs(s));
        assert_eq!(h(0), "0s");
        assert_eq!(h(-5), "0s");
        assert_eq!(h(15), "15s");
        assert_eq!(h(42 * 60), "42m");
        assert_eq!(h(61), "1m 1s");
        assert_eq!(h(3600), "1h");
        assert_eq!(h(5400 + 7), "1h 30m");
    }
}
