//! Durations as users write them (`90s`, `60m`, `1h30m`), kept verbatim.
//!
//! The text is stored unchanged so that objects round-trip byte for byte, and
//! parsing is deferred to the reader: a malformed value in one object must
//! produce a clear DENIED message, never a failed list/watch that would blind
//! the controller to every other object.

use std::{borrow::Cow, fmt};

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

    /// Parses with Go's `time.ParseDuration` semantics, in checked integer
    /// arithmetic, and rejects negative values and anything over
    /// [`MAX_DURATION`]. Never panics: kube's own parser goes through
    /// `Duration::from_secs_f64`, which panics on values such as `99999999999999999999h`.
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
        let too_large = || err(format!("it is longer than the limit of {MAX_DURATION_TEXT}"));
        let mut total: u128 = 0;
        for part in PART.captures_iter(trimmed) {
            let (whole, frac, unit) = (&part[1], part.get(2).map_or("", |m| m.as_str()), &part[3]);
            let per_unit: u128 = match unit {
                "ns" => 1,
                "us" | "µs" | "μs" => 1_000,
                "ms" => 1_000_000,
                "s" => 1_000_000_000,
                "m" => 60_000_000_000,
                _ => 3_600_000_000_000,
            };
            // Digits beyond what a u128 holds are a huge value, not a syntax error.
            let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| too_large())? };
            let mut nanos = whole.checked_mul(per_unit).ok_or_else(too_large)?;
            // Go keeps the fraction's first digits that fit; nanosecond precision needs at most 19.
            let mut scale = per_unit;
            for digit in frac.bytes().take(19) {
                scale /= 10;
                nanos = nanos.checked_add(u128::from(digit - b'0') * scale).ok_or_else(too_large)?;
            }
            total = total.checked_add(nanos).ok_or_else(too_large)?;
            if total > MAX_DURATION_NANOS {
                return Err(too_large());
            }
        }
        let secs = i64::try_from(total / 1_000_000_000).map_err(|_| too_large())?;
        // The remainder is below 10^9, so it fits an i32.
        let nanos = i32::try_from(total % 1_000_000_000).map_err(|_| too_large())?;
        Ok(SignedDuration::new(secs, nanos))
    }
}

/// The longest duration kudo accepts anywhere (DESIGN §2): one year. Larger
/// values are rejected by the CRD schema and, should one get through, denied.
pub const MAX_DURATION: SignedDuration = SignedDuration::from_hours(8760);
pub const MAX_DURATION_TEXT: &str = "8760h";
const MAX_DURATION_NANOS: u128 = 8760 * 3_600_000_000_000;

static PART: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    // A compile-time constant covered by unit tests.
    #[allow(clippy::expect_used)]
    regex::Regex::new(r"([0-9]*)(?:\.([0-9]*))?(ns|us|µs|μs|ms|s|m|h)").expect("PART is a valid regex")
});

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
    fn huge_values_are_errors_never_panics() {
        for text in [
            "99999999999999999999h",
            "2562048h",
            "9223372036854775808ns",
            "8761h",
            "8760h1ns",
            "525601m",
            "340282366920938463463374607431768211456h",
        ] {
            let err = DurationText::from(text).parse().unwrap_err();
            assert!(err.to_string().contains("8760h"), "{text}: {err}");
        }
        assert_eq!(DurationText::from("8760h").parse().unwrap(), MAX_DURATION);
        assert_eq!(DurationText::from("525600m").parse().unwrap(), MAX_DURATION);
        assert_eq!(DurationText::from("1.000000000000000000001s").parse().unwrap(), SignedDuration::from_secs(1));
        assert_eq!(DurationText::from("0.5ns").parse().unwrap(), SignedDuration::ZERO);
        assert_eq!(DurationText::from("1h0.5s").parse().unwrap(), SignedDuration::from_millis(3_600_500));
        assert_eq!(DurationText::from("1.5h30m").parse().unwrap(), SignedDuration::from_hours(2));
        assert_eq!(DurationText::from("1us1µs1μs").parse().unwrap(), SignedDuration::from_micros(3));
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
