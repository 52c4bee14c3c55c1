//! TimeWindow maths in wall-clock time of a named zone (jiff's tz database),
//! so "08:00" means 08:00 on the office clock in summer and in winter.

use jiff::{Timestamp, civil, tz::TimeZone};

use crate::api::{Weekday, Window};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WindowError {
    #[error("time zone {0:?} is unknown; use an IANA name such as Europe/Paris or UTC")]
    UnknownZone(String),
    #[error("window time {0:?} is not HH:MM")]
    BadTime(String),
}

/// Whether `now` falls inside any of `windows`, read in `zone`.
pub fn is_open(zone: &str, windows: &[Window], now: Timestamp) -> Result<bool, WindowError> {
    let tz = TimeZone::get(zone).map_err(|_| WindowError::UnknownZone(zone.into()))?;
    let local = now.to_zoned(tz).datetime();
    let today = from_jiff(local.weekday());
    let yesterday = from_jiff(local.weekday().previous());
    let minute = i32::from(local.hour()) * 60 + i32::from(local.minute());
    for w in windows {
        let (start, end) = (minutes(&w.start)?, minutes(&w.end)?);
        let on = |d: Weekday| w.days.contains(&d);
        let open = if start < end {
            on(today) && (start..end).contains(&minute)
        } else {
            (on(today) && minute >= start) || (on(yesterday) && minute < end)
        };
        if open {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Describes the local time for a DENIED message ("Sat 10:12 in Europe/Paris").
pub fn local_now(zone: &str, now: Timestamp) -> String {
    match TimeZone::get(zone) {
        Ok(tz) => format!("{} in {zone}", now.to_zoned(tz).strftime("%a %H:%M")),
        Err(_) => now.to_string(),
    }
}

pub fn describe(windows: &[Window]) -> String {
    windows
        .iter()
        .map(|w| {
            let days: Vec<&str> = w.days.iter().map(|d| day_name(*d)).collect();
            format!("{} {}-{}", days.join(","), w.start, w.end)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn minutes(text: &str) -> Result<i32, WindowError> {
    if text == "24:00" {
        return Ok(24 * 60);
    }
    let t = civil::Time::strptime("%H:%M", text).map_err(|_| WindowError::BadTime(text.into()))?;
    Ok(i32::from(t.hour()) * 60 + i32::from(t.minute()))
}

fn from_jiff(d: civil::Weekday) -> Weekday {
    match d {
        civil::Weekday::Monday => Weekday::Mon,
        civil::Weekday::Tuesday => Weekday::Tue,
        civil::Weekday::Wednesday => Weekday::Wed,
        civil::Weekday::Thursday => Weekday::Thu,
        civil::Weekday::Friday => Weekday::Fri,
        civil::Weekday::Saturday => Weekday::Sat,
        civil::Weekday::Sunday => Weekday::Sun,
    }
}

fn day_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "Mon",
        Weekday::Tue => "Tue",
        Weekday::Wed => "Wed",
        Weekday::Thu => "Thu",
        Weekday::Fri => "Fri",
        Weekday::Sat => "Sat",
        Weekday::Sun => "Sun",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Weekday::*;

    fn w(days: &[Weekday], start: &str, end: &str) -> Window {
        Window { days: days.to_vec(), start: start.into(), end: end.into() }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const OFFICE: &[Weekday] = &[Mon, Tue, Wed, Thu, Fri];

    #[test]
    fn office_hours_follow_dst_in_paris() {
        let office = [w(OFFICE, "08:00", "19:00")];
        let open = |t| is_open("Europe/Paris", &office, at(t)).unwrap();
        // Winter (CET, UTC+1): 07:30Z is 08:30 local.
        assert!(open("2026-01-05T07:30:00Z"));
        assert!(!open("2026-01-05T06:30:00Z"));
        // Summer (CEST, UTC+2): 06:30Z is already 08:30 local.
        assert!(open("2026-07-06T06:30:00Z"));
        assert!(!open("2026-07-06T17:30:00Z"), "19:30 local");
        // The Monday after the spring change (2026-03-29) is on summer time.
        assert!(open("2026-03-30T06:00:00Z"));
        assert!(!open("2026-03-27T06:30:00Z"), "Friday before: 07:30 CET");
        // Start inclusive, end exclusive.
        assert!(open("2026-01-05T07:00:00Z"));
        assert!(!open("2026-01-05T18:00:00Z"));
        // Weekend.
        assert!(!open("2026-01-10T10:00:00Z"));
    }

    #[test]
    fn fall_back_hour_happens_twice_and_is_open_both_times() {
        // 2026-10-25 (Sunday): 02:00-03:00 CEST, then 02:00-03:00 CET again.
        let night = [w(&[Sun], "02:00", "03:00")];
        assert!(is_open("Europe/Paris", &night, at("2026-10-25T00:30:00Z")).unwrap());
        assert!(is_open("Europe/Paris", &night, at("2026-10-25T01:30:00Z")).unwrap());
        assert!(!is_open("Europe/Paris", &night, at("2026-10-25T02:30:00Z")).unwrap());
    }

    #[test]
    fn windows_across_midnight_belong_to_their_start_day() {
        let nights = [w(&[Fri], "22:00", "06:00")];
        let open = |t| is_open("UTC", &nights, at(t)).unwrap();
        assert!(open("2026-01-09T23:00:00Z"), "Friday 23:00");
        assert!(open("2026-01-10T05:59:00Z"), "Saturday 05:59");
        assert!(!open("2026-01-10T06:00:00Z"));
        assert!(!open("2026-01-10T23:00:00Z"), "Saturday night is not listed");
        assert!(!open("2026-01-09T05:00:00Z"), "Friday early morning belongs to Thursday");
    }

    #[test]
    fn whole_day_and_errors() {
        let all_day = [w(&[Sat], "00:00", "24:00")];
        assert!(is_open("UTC", &all_day, at("2026-01-10T23:59:59Z")).unwrap());
        assert!(!is_open("UTC", &all_day, at("2026-01-11T00:00:00Z")).unwrap());
        assert_eq!(
            is_open("Mars/Olympus", &all_day, at("2026-01-10T00:00:00Z")),
            Err(WindowError::UnknownZone("Mars/Olympus".into()))
        );
        let bad = [w(&[Sat], "8am", "10:00")];
        assert!(matches!(is_open("UTC", &bad, at("2026-01-10T00:00:00Z")), Err(WindowError::BadTime(_))));
        assert_eq!(local_now("Europe/Paris", at("2026-01-10T09:12:00Z")), "Sat 10:12 in Europe/Paris");
        assert_eq!(describe(&all_day), "Sat 00:00-24:00");
    }
}
