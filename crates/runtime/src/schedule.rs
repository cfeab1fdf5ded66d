//! Flow schedules: an interval (`15m`, `1h 30m`, humantime syntax) or a five-field cron
//! expression (`0 7,19 * * *`) evaluated in the configured time zone.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// When a flow runs in `koppel daemon`.
#[derive(Clone)]
pub enum Schedule {
    /// Every so often, counted from the end of the previous run.
    Every(Duration),
    /// At the times a cron expression names, in the configured time zone.
    Cron {
        /// The expression as written (five fields).
        text: String,
        /// The parsed expression (with a seconds field `0` prepended).
        schedule: Box<cron::Schedule>,
    },
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Every(d) => write!(f, "every {}", humantime::format_duration(*d)),
            Schedule::Cron { text, .. } => write!(f, "cron \"{text}\""),
        }
    }
}

impl FromStr for Schedule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        if text.is_empty() {
            return Err(
                "empty schedule; write an interval like \"15m\" or a cron expression like \"0 7,19 * * *\""
                    .into(),
            );
        }
        let fields = text.split_whitespace().count();
        let looks_like_cron = fields >= 5
            || text.contains('*')
            || (fields > 1
                && text
                    .split_whitespace()
                    .all(|f| f.chars().all(|c| c.is_ascii_digit() || ",-/".contains(c))));
        if !looks_like_cron {
            return match humantime::parse_duration(text) {
                Ok(d) if d.is_zero() => Err("the interval must be longer than zero".into()),
                Ok(d) => Ok(Schedule::Every(d)),
                Err(e) => Err(format!(
                    "{text:?} is neither an interval (like \"15m\" or \"1h 30m\": {e}) nor a cron expression (five fields, like \"0 7,19 * * *\")"
                )),
            };
        }
        if fields != 5 {
            return Err(format!(
                "cron expression {text:?} has {fields} fields; write five: minute hour day-of-month month day-of-week (like \"*/15 * * * *\")"
            ));
        }
        let with_seconds = format!("0 {text}");
        match cron::Schedule::from_str(&with_seconds) {
            Ok(schedule) => Ok(Schedule::Cron {
                text: text.to_owned(),
                schedule: Box::new(schedule),
            }),
            Err(e) => Err(format!("cron expression {text:?} is not valid: {e}")),
        }
    }
}

impl Schedule {
    /// The next time this schedule fires after `after`, the end of the previous run (for an
    /// interval) or now (for cron).
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Every(d) => chrono::Duration::from_std(*d)
                .ok()
                .and_then(|d| after.checked_add_signed(d)),
            Schedule::Cron { schedule, .. } => schedule
                .after(&after.with_timezone(&tz))
                .next()
                .map(|t| t.with_timezone(&Utc)),
        }
    }
}

/// Exponential backoff after consecutive failures: 5s, 10s, 20s, ... capped at `cap`.
pub fn backoff(failures: u32, cap: Duration) -> Duration {
    let base = Duration::from_secs(5);
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(20));
    base.saturating_mul(factor).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn intervals_parse() {
        let s: Schedule = "15m".parse().unwrap();
        assert!(matches!(s, Schedule::Every(d) if d == Duration::from_secs(900)));
        let s: Schedule = "1h 30m".parse().unwrap();
        assert!(matches!(s, Schedule::Every(d) if d == Duration::from_secs(5400)));
        assert!("0s".parse::<Schedule>().is_err());
        assert!("soon".parse::<Schedule>().is_err());
    }

    #[test]
    fn cron_runs_in_the_configured_time_zone() {
        let s: Schedule = "0 7,19 * * *".parse().unwrap();
        let tz: Tz = "Europe/Amsterdam".parse().unwrap();
        // 2025-01-15 05:00 UTC = 06:00 in Amsterdam (CET, UTC+1): next is 07:00 CET = 06:00 UTC.
        let now = Utc.with_ymd_and_hms(2025, 1, 15, 5, 0, 0).unwrap();
        assert_eq!(
            s.next_after(now, tz),
            Some(Utc.with_ymd_and_hms(2025, 1, 15, 6, 0, 0).unwrap())
        );
        // In summer (CEST, UTC+2) 19:00 local is 17:00 UTC.
        let now = Utc.with_ymd_and_hms(2025, 7, 1, 12, 0, 0).unwrap();
        assert_eq!(
            s.next_after(now, tz),
            Some(Utc.with_ymd_and_hms(2025, 7, 1, 17, 0, 0).unwrap())
        );
    }

    #[test]
    fn bad_cron_is_explained() {
        let e = "0 25 * * *".parse::<Schedule>().unwrap_err();
        assert!(e.contains("not valid"), "{e}");
        let e = "0 7 * *".parse::<Schedule>().unwrap_err();
        assert!(e.contains("4 fields"), "{e}");
        let s: Schedule = "*/15 * * * *".parse().unwrap();
        let now = Utc.with_ymd_and_hms(2025, 1, 15, 5, 7, 0).unwrap();
        assert_eq!(
            s.next_after(now, chrono_tz::UTC),
            Some(Utc.with_ymd_and_hms(2025, 1, 15, 5, 15, 0).unwrap())
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let cap = Duration::from_secs(3600);
        assert_eq!(backoff(1, cap), Duration::from_secs(5));
        assert_eq!(backoff(2, cap), Duration::from_secs(10));
        assert_eq!(backoff(4, cap), Duration::from_secs(40));
        assert_eq!(backoff(30, cap), cap);
    }
}
