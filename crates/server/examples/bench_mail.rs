//! Benchmark of automatic email tracking: the real server state, real Postgres, both simulators (in
//! this process, with Graph's default throttling: 4 concurrent requests, 10,000 per 10 minutes).
//! Prints a markdown section for `BENCHMARKS.md`; run by `cargo xtask bench`.
//!
//! 1,000 new messages with CRM contacts (half received, half sent) plus 200 that must be left out
//! (internal mail and mail with strangers) arrive in a tracked mailbox; one Outlook → CRM run tracks
//! them. Reported: CRM writes per tracked message (goal ≤ 1.2), Graph and CRM requests, 429 answers,
//! time, and the cost of the idle cycle after it.
//!
//! `--quick` uses 100 messages (for a smoke run).

#[path = "support/mod.rs"]
mod support;

use std::time::Instant;

use crm_server::{sync::run_pairing, worker::JobKind};
use serde_json::{Value, json};
use test_db::TestDb;

fn person(address: &str) -> Value {
    json!({"emailAddress": {"name": address, "address": address}})
}

fn writes(counts: &std::collections::BTreeMap<String, u64>) -> u64 {
    counts
        .iter()
        .filter(|(k, _)| k.starts_with("POST") || k.starts_with("PATCH") || k.starts_with("DELETE"))
        .filter(|(k, _)| !k.ends_with("/auth"))
        .map(|(_, n)| n)
        .sum()
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n: usize = if quick { 100 } else { 1000 };
    let noise = n / 5;
    let db = TestDb::new().await;
    let env = support::start_quiet(&db).await;
    // The demo mailbox, paired, with automatic email tracking switched on.
    let (_, pairing) = support::pair(&env, &support::User::demo(&env), |p| {
        p["email_tracking"] = json!(true)
    })
    .await;
    let run = || run_pairing(&env.state, pairing, JobKind::OutlookToCrm);
    // The first run syncs the calendar and starts tracking from now.
    run().await.expect("first run");
    run().await.expect("second run");

    let company = env.demo_crm.company_id;
    let contacts: Vec<String> = env
        .crm
        .list(company, "contacts")
        .iter()
        .filter_map(|c| c["email"].as_str().map(str::to_owned))
        .collect();
    let me = env.mailbox.email.clone();
    for i in 0..n {
        let c = &contacts[i % contacts.len()];
        let (folder, from, to) = if i % 2 == 0 {
            ("inbox", c.clone(), me.clone())
        } else {
            ("sentitems", me.clone(), c.clone())
        };
        env.graph
            .add_message(
                &me,
                folder,
                json!({"subject": format!("Viesti {i}"), "from": person(&from), "toRecipients": [person(&to)],
                       "body": {"contentType": "html", "content": format!("<p>Hei, viesti {i}.</p>")}}),
            )
            .unwrap();
    }
    for i in 0..noise {
        let from = if i % 2 == 0 {
            "maija.myyja@esimerkki.fi".to_owned()
        } else {
            format!("uutiskirje{i}@tuntematon.fi")
        };
        env.graph
            .add_message(
                &me,
                "inbox",
                json!({"subject": format!("Muu {i}"), "from": person(&from), "toRecipients": [person(&me)]}),
            )
            .unwrap();
    }

    env.graph.reset_stats();
    env.crm.reset_request_counts();
    let started = Instant::now();
    run().await.expect("tracking run");
    let secs = started.elapsed().as_secs_f64();
    let tracked = env.crm.count(company, "emails");
    let graph = env.graph.stats(&me);
    let crm_counts = env.crm.request_counts();
    let crm_writes = writes(&crm_counts);
    let crm_total: u64 = crm_counts.values().sum();
    let mail_graph: u64 = graph
        .by_route
        .iter()
        .filter(|(k, _)| k.contains("mailFolders"))
        .map(|(_, n)| n)
        .sum();

    env.graph.reset_stats();
    env.crm.reset_request_counts();
    run().await.expect("idle run");
    let idle_graph = env.graph.stats(&me);
    let idle_crm: u64 = env.crm.request_counts().values().sum();
    let after = env.crm.count(company, "emails");

    println!("## Automatic email tracking\n");
    println!(
        "`crates/server/examples/bench_mail.rs`: {n} new messages with CRM contacts (half in Inbox, half in \
         Sent Items) and {noise} that must be left out (internal mail, strangers) arrive in a tracked mailbox; \
         one Outlook → CRM run (calendar sync plus tracking) stores them. Graph simulator with its default \
         throttling (4 concurrent, 10,000 requests per 10 minutes per mailbox).\n"
    );
    println!("| measure | value | goal |\n|---|---|---|");
    println!("| emails stored in the CRM | {tracked} | {n} |");
    println!(
        "| CRM writes per tracked message | {:.3} ({crm_writes} writes) | ≤ 1.2 |",
        crm_writes as f64 / tracked.max(1) as f64
    );
    println!(
        "| CRM requests in all (incl. contact and message-id lookups, calendar listing) | {crm_total} | |"
    );
    println!(
        "| Graph requests in all / of them mail-folder delta pages | {} / {mail_graph} | within 10,000 per 10 min |",
        graph.requests
    );
    println!(
        "| Graph 429 answers (rate / concurrency) | {} / {} | 0 |",
        graph.throttled_rate, graph.throttled_concurrency
    );
    println!("| time of the run | {secs:.2} s | < 60 s (the fallback poll) |");
    println!(
        "| messages per second | {:.0} | |",
        (n + noise) as f64 / secs.max(1e-9)
    );
    println!(
        "| next (idle) cycle: Graph / CRM requests | {} / {idle_crm} | 3 / 1 (calendar delta + one per folder / calendar listing) |",
        idle_graph.requests
    );
    println!("| emails after the idle cycle (no duplicates) | {after} | {n} |");
    println!();
    env.stop().await;
    db.drop_now().await;
}
