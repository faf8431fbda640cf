//! Sync windows and the CRM's local-time conversions.
//!
//! The core reads no clock: "now" is an input, and "today" is derived from it in the user's time zone.

use chrono::{
    DateTime, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::model::When;
use crate::settings::{DirectionSettings, Settings};

/// A half-open interval of instants `[start, end)`, plus the same interval as user-local dates so that
/// all-day entries are tested as dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// First date in the window (user's time zone).
    pub first_day: NaiveDate,
    /// Day after the last date in the window.
    pub end_day: NaiveDate,
}

impl Window {
    /// `[today − history, today + future]` as whole days in `tz`.
    pub fn for_direction(d: &DirectionSettings, now: DateTime<Utc>, tz: Tz) -> Window {
        let today = now.with_timezone(&tz).date_naive();
        let first_day = today
            .checked_sub_days(Days::new(d.history_days.into()))
            .unwrap_or(today);
        let end_day = today
            .checked_add_days(Days::new(u64::from(d.future_days) + 1))
            .unwrap_or(today);
        Window {
            start: local_midnight_utc(first_day, tz),
            end: local_midnight_utc(end_day, tz),
            first_day,
            end_day,
        }
    }

    /// Whether an entry overlaps the window (the calendarView rule: starts before the window ends and ends
    /// after it starts; a zero-length entry counts when its instant is inside).
    pub fn contains(&self, when: &When) -> bool {
        match *when {
            When::Timed { start, end } => {
                if start == end {
                    start >= self.start && start < self.end
                } else {
                    start < self.end && end > self.start
                }
            }
            When::AllDay { start, end } => start < self.end_day && end > self.first_day,
        }
    }

    /// The smallest window covering both.
    pub fn union(&self, other: &Window) -> Window {
        Window {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
            first_day: self.first_day.min(other.first_day),
            end_day: self.end_day.max(other.end_day),
        }
    }
}

/// The two directional windows of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Windows {
    /// Outlook entries in this window flow to the CRM.
    pub outlook_to_crm: Window,
    /// CRM activities in this window flow to Outlook.
    pub crm_to_outlook: Window,
}

impl Windows {
    pub fn compute(settings: &Settings, now: DateTime<Utc>) -> Windows {
        Windows {
            outlook_to_crm: Window::for_direction(&settings.outlook_to_crm, now, settings.user_tz),
            crm_to_outlook: Window::for_direction(&settings.crm_to_outlook, now, settings.user_tz),
        }
    }

    /// The range the runner should list on **both** sides: the union of the two windows, so that the
    /// partner of every entry that may flow is visible and can be matched instead of duplicated.
    pub fn listing(&self) -> Window {
        self.outlook_to_crm.union(&self.crm_to_outlook)
    }
}

fn local_midnight_utc(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    crm_local_to_utc(day.and_time(NaiveTime::MIN), tz)
}

/// Converts a wall-clock time in `tz` (how CRM-service stores times) to UTC.
///
/// DST makes this partial: in the spring-forward gap the wall time does not exist and is moved forward
/// by the gap (03:30 → 04:30 EEST in Helsinki), which is what a person typing that time means; in the
/// autumn fold it exists twice and the earlier instant is taken, so a round trip through
/// [`utc_to_crm_local`] is stable for every instant outside the fold's second hour.
pub fn crm_local_to_utc(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
        LocalResult::None => {
            // Read the wall time with the offset in force just before the gap (a day earlier is always
            // before it): 03:30 in Helsinki's spring gap becomes 03:30 EET = 04:30 EEST.
            let before = tz
                .from_local_datetime(&(local - chrono::Duration::hours(24)))
                .earliest()
                .map(|t| t.offset().fix())
                .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset"));
            Utc.from_utc_datetime(
                &(local - chrono::Duration::seconds(before.local_minus_utc().into())),
            )
        }
    }
}

/// Converts an instant to the CRM's wall-clock time in `tz`.
pub fn utc_to_crm_local(t: DateTime<Utc>, tz: Tz) -> NaiveDateTime {
    t.with_timezone(&tz).naive_local()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::DirectionSettings;
    use chrono::Timelike;
    use chrono_tz::Europe::Helsinki;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn dir(history: u32, future: u32) -> DirectionSettings {
        DirectionSettings {
            history_days: history,
            future_days: future,
            ..DirectionSettings::default()
        }
    }

    #[test]
    fn window_today_is_taken_in_the_users_time_zone() {
        // 23:30 UTC on the 24th is already the 25th in Helsinki.
        let w = Window::for_direction(&dir(0, 0), utc(2026, 11, 24, 23, 30), Helsinki);
        assert_eq!(w.first_day, day(2026, 11, 25));
        assert_eq!(w.end_day, day(2026, 11, 26));
        assert_eq!(w.start, utc(2026, 11, 24, 22, 0));
        assert_eq!(w.end, utc(2026, 11, 25, 22, 0));
    }

    #[test]
    fn window_spans_history_and_future_days_inclusive() {
        let w = Window::for_direction(&dir(60, 365), utc(2026, 11, 25, 12, 0), Helsinki);
        assert_eq!(w.first_day, day(2026, 9, 26));
        assert_eq!(w.end_day, day(2027, 11, 26));
        assert!(w.contains(&When::AllDay {
            start: day(2027, 11, 25),
            end: day(2027, 11, 26)
        }));
        assert!(!w.contains(&When::AllDay {
            start: day(2027, 11, 26),
            end: day(2027, 11, 27)
        }));
    }

    #[test]
    fn window_across_dst_change_starts_at_local_midnight() {
        // The window starts on 2026-03-29 (EET → EEST at 03:00 that day): its midnight is still UTC+2.
        let w = Window::for_direction(&dir(1, 0), utc(2026, 3, 30, 12, 0), Helsinki);
        assert_eq!(w.start, utc(2026, 3, 28, 22, 0));
        // ...and it ends at the next midnight in summer time (UTC+3).
        assert_eq!(w.end, utc(2026, 3, 30, 21, 0));
    }

    #[test]
    fn timed_entry_overlapping_the_window_start_is_inside() {
        let w = Window::for_direction(&dir(0, 0), utc(2026, 11, 25, 12, 0), Helsinki);
        let crossing = When::Timed {
            start: utc(2026, 11, 24, 21, 0),
            end: utc(2026, 11, 24, 23, 0),
        };
        let before = When::Timed {
            start: utc(2026, 11, 24, 20, 0),
            end: utc(2026, 11, 24, 22, 0),
        };
        assert!(w.contains(&crossing));
        assert!(
            !w.contains(&before),
            "ending exactly at the start is outside"
        );
    }

    #[test]
    fn zero_length_entry_counts_when_its_instant_is_inside() {
        let w = Window::for_direction(&dir(0, 0), utc(2026, 11, 25, 12, 0), Helsinki);
        let at = utc(2026, 11, 25, 8, 0);
        assert!(w.contains(&When::Timed { start: at, end: at }));
        let at_end = w.end;
        assert!(!w.contains(&When::Timed {
            start: at_end,
            end: at_end
        }));
    }

    #[test]
    fn listing_window_is_the_union_of_both_directions() {
        let s = Settings {
            outlook_to_crm: dir(60, 10),
            crm_to_outlook: dir(5, 365),
            ..Settings::default()
        };
        let ws = Windows::compute(&s, utc(2026, 11, 25, 12, 0));
        let l = ws.listing();
        assert_eq!(l.start, ws.outlook_to_crm.start);
        assert_eq!(l.end, ws.crm_to_outlook.end);
    }

    #[test]
    fn crm_local_time_in_winter_is_utc_plus_two() {
        let local = day(2026, 1, 15).and_hms_opt(10, 0, 0).unwrap();
        assert_eq!(crm_local_to_utc(local, Helsinki), utc(2026, 1, 15, 8, 0));
    }

    #[test]
    fn crm_local_time_in_summer_is_utc_plus_three() {
        let local = day(2026, 7, 15).and_hms_opt(10, 0, 0).unwrap();
        assert_eq!(crm_local_to_utc(local, Helsinki), utc(2026, 7, 15, 7, 0));
    }

    #[test]
    fn crm_local_time_in_spring_gap_moves_forward_by_the_gap() {
        // 03:30 does not exist on 2026-03-29 in Helsinki (03:00 EET → 04:00 EEST).
        let local = day(2026, 3, 29).and_hms_opt(3, 30, 0).unwrap();
        let t = crm_local_to_utc(local, Helsinki);
        assert_eq!(t, utc(2026, 3, 29, 1, 30));
        assert_eq!(utc_to_crm_local(t, Helsinki).hour(), 4);
    }

    #[test]
    fn crm_local_time_in_autumn_fold_takes_the_earlier_instant() {
        // 03:30 happens twice on 2026-10-25 in Helsinki; the first is EEST (UTC+3).
        let local = day(2026, 10, 25).and_hms_opt(3, 30, 0).unwrap();
        assert_eq!(crm_local_to_utc(local, Helsinki), utc(2026, 10, 25, 0, 30));
    }

    #[test]
    fn crm_local_round_trip_is_stable_around_dst() {
        let mut t = utc(2026, 3, 28, 20, 0);
        while t < utc(2026, 3, 30, 0, 0) {
            assert_eq!(crm_local_to_utc(utc_to_crm_local(t, Helsinki), Helsinki), t);
            t += chrono::Duration::minutes(30);
        }
    }
}
