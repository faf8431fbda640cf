//! Times `sync_core::plan` on 10,000 entries and prints a markdown table (median of several runs).
//!
//! `cargo run -p sync-core --release --example bench_plan [-- <items> <runs>]`

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use sync_core::{
    Content, CrmId, CrmItem, Listing, OutlookId, OutlookItem, PrivateMode, Projection, Settings,
    Side, SideState, StatusRow, SyncInput, plan,
};

fn content(i: usize) -> Content {
    let base = Utc.with_ymd_and_hms(2026, 11, 1, 6, 0, 0).unwrap();
    // Spread over ~90 days, a few entries per hour slot.
    let start = base + chrono::Duration::minutes((i as i64 % 2000) * 60 + (i as i64 / 2000) * 7);
    let mut c = Content::timed(
        &format!("Customer meeting {i}"),
        start,
        start + chrono::Duration::minutes(45),
    );
    c.body = format!("Agenda for meeting {i}\nSecond line of notes.");
    c.location = format!("Room {}", i % 17);
    c.activity_type = Some(
        if i.is_multiple_of(3) {
            "Soitto"
        } else {
            "Tapaaminen"
        }
        .to_owned(),
    );
    c.private = i.is_multiple_of(29);
    c.attendees = [format!("person{}@example.com", i % 101)].into();
    c
}

/// A linked pair as a previous run left it; private entries have a busy block in the CRM.
fn pair(i: usize) -> (OutlookItem, CrmItem, StatusRow) {
    let c = content(i).normalized();
    let private = c.private;
    let block = Content {
        subject: "Varattu".into(),
        body: String::new(),
        location: String::new(),
        attendees: Default::default(),
        ..c.clone()
    };
    let redacted = Content {
        subject: String::new(),
        ..block.clone()
    };
    let o = OutlookItem {
        id: OutlookId(format!("AAMkAGI2TG93AAA-{i:06}")),
        version: format!("ck-{i}"),
        modified: Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap(),
        crm_link: Some(CrmId(format!("{}", 100_000 + i))),
        content: c.clone(),
        series: None,
        series_master: false,
        cancelled: false,
    };
    let a = CrmItem {
        id: CrmId(format!("{}", 100_000 + i)),
        version: format!("2026-11-20T12:00:{:02}Z", i % 60),
        modified: Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap(),
        content: if private { block.clone() } else { c.clone() },
    };
    let row = StatusRow {
        crm_id: a.id.clone(),
        outlook_id: o.id.clone(),
        outlook: SideState::new(
            Some(o.version.clone()),
            if private { redacted } else { c.clone() },
        ),
        crm: SideState::new(Some(a.version.clone()), if private { block } else { c }),
        projection: if private {
            Projection::BusyBlockInCrm
        } else {
            Projection::Full
        },
        origin: Side::Outlook,
        series: None,
        detached: None,
        synced_at: Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap(),
        outlook_tagged: true,
    };
    (o, a, row)
}

fn settings() -> Settings {
    let mut s = Settings {
        default_activity_type: Some("Tapaaminen".into()),
        private_mode: PrivateMode::BusyBlock,
        ..Settings::default()
    };
    s.outlook_to_crm.history_days = 60;
    s.crm_to_outlook.history_days = 60;
    s
}

/// All linked, nothing changed: the steady state.
fn steady(n: usize) -> SyncInput {
    let mut o = Vec::new();
    let mut c = Vec::new();
    let mut rows = Vec::new();
    for i in 0..n {
        let (a, b, r) = pair(i);
        o.push(a);
        c.push(b);
        rows.push(r);
    }
    input(o, c, rows, Vec::new(), Vec::new())
}

/// 80 % unchanged; the rest split between edits on either or both sides, version-only bumps, confirmed
/// deletions, and new entries on both sides (some matching each other exactly).
fn mixed(n: usize) -> SyncInput {
    let mut o = Vec::new();
    let mut c = Vec::new();
    let mut rows = Vec::new();
    let mut o_gone = Vec::new();
    let mut c_gone = Vec::new();
    let later = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
    for i in 0..n {
        let (mut a, mut b, r) = pair(i);
        match i % 20 {
            0 => {
                a.version.push('x');
                a.modified = later;
                a.content.subject.push_str(" (moved)");
            }
            1 => {
                b.version.push('x');
                b.modified = later;
                b.content.body.push_str("\nCRM note");
            }
            2 => {
                a.version.push('x');
                a.content.location = "Elsewhere".into();
                b.version.push('x');
                b.content.location = "Somewhere".into();
                b.modified = later;
            }
            3 => a.version.push('y'), // a change we do not sync
            4 if i % 40 == 4 => {
                o_gone.push(a.id.clone());
                rows.push(r);
                c.push(b);
                continue;
            }
            4 => {
                c_gone.push(b.id.clone());
                rows.push(r);
                o.push(a);
                continue;
            }
            5 => {
                // New on both sides, unlinked; every other one has an exact twin on the other side.
                a.crm_link = None;
                a.id = OutlookId(format!("new-{i}"));
                b.id = CrmId(format!("{}", 900_000 + i));
                if i % 40 == 5 {
                    b.content.subject = format!("Other {i}");
                }
                o.push(a);
                c.push(b);
                continue;
            }
            _ => {}
        }
        o.push(a);
        c.push(b);
        rows.push(r);
    }
    let mut input = input(o, c, rows, o_gone, c_gone);
    input.allow_mass_delete = true;
    input
}

/// Re-pairing after a forced removal: no rows, everything adopted by the link property or matched.
fn repair(n: usize) -> SyncInput {
    let mut i = steady(n);
    i.rows.clear();
    for (k, o) in i.outlook.items.iter_mut().enumerate() {
        if k % 2 == 0 {
            o.crm_link = None; // half must be matched by (start, end, subject)
        }
    }
    i
}

fn input(
    o: Vec<OutlookItem>,
    c: Vec<CrmItem>,
    rows: Vec<StatusRow>,
    o_gone: Vec<OutlookId>,
    c_gone: Vec<CrmId>,
) -> SyncInput {
    SyncInput {
        now: Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap(),
        settings: settings(),
        outlook: Listing::full(o).with_deleted(o_gone),
        crm: Listing::full(c).with_deleted(c_gone),
        rows,
        allow_mass_delete: false,
    }
}

/// CPU time this thread has used (Linux), so figures mean something on a machine shared with other jobs;
/// `None` elsewhere.
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(9);
    // Optional: only the scenarios whose name starts with this word ("steady", "mixed", "re-pair").
    let only = args.next();
    let scenarios: [(&str, SyncInput); 3] = [
        ("steady state (all linked, nothing changed)", steady(n)),
        ("mixed (edits, conflicts, deletions, new entries)", mixed(n)),
        ("re-pair after forced removal (no status rows)", repair(n)),
    ];
    println!(
        "| scenario | entries per side | steps | writes | median plan time (wall) | min | max | median CPU time |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, input) in &scenarios {
        if only.as_deref().is_some_and(|o| !name.starts_with(o)) {
            continue;
        }
        let mut times = Vec::with_capacity(runs);
        let mut cpu = Vec::with_capacity(runs);
        let mut last = None;
        for _ in 0..runs {
            let c = thread_cpu();
            let t = Instant::now();
            let p = plan(input).expect("plan");
            times.push(t.elapsed());
            if let (Some(a), Some(b)) = (c, thread_cpu()) {
                cpu.push(b.saturating_sub(a));
            }
            last = Some(p);
        }
        let p = last.expect("at least one run");
        let c = p.counts();
        let min = *times.iter().min().expect("runs");
        let max = *times.iter().max().expect("runs");
        let cpu = if cpu.is_empty() {
            "n/a".to_owned()
        } else {
            format!("{:.2} ms", median(cpu).as_secs_f64() * 1e3)
        };
        println!(
            "| {name} | {} | {} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {cpu} |",
            input.outlook.items.len().max(input.crm.items.len()),
            p.steps.len(),
            c.writes,
            median(times).as_secs_f64() * 1e3,
            min.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
        );
    }
}
