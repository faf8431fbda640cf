//! Delta round over a mailbox with 5,000 events in the window, against the Graph simulator over
//! real HTTP. Prints requests, response bytes and time as a markdown table.
//!
//! `cargo run -p graph --example bench_delta --release [-- EVENTS]`

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};
use graph::identity::{IdentityClient, IdentityConfig, UserTokens};
use graph::{DeltaPosition, GraphClient, GraphConfig, Secret};
use serde_json::json;
use sim::graph::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, GraphSim, MailboxSpec,
};

const EMAIL: &str = "bench@esimerkki.fi";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000);
    let sim = GraphSim::new();
    let running = sim::serve(sim.router(), "127.0.0.1:0".parse()?).await?;
    sim.set_base_url(&running.base_url);
    let info = sim.create_mailbox(MailboxSpec {
        email: EMAIL.into(),
        display_name: "Benchmark".into(),
        time_zone: "Europe/Helsinki".into(),
        calendars: vec![],
        tenant_id: None,
        user_id: None,
    })?;
    let start = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    let end = start + Duration::days(90);
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let s = start + Duration::minutes((i as i64 * 90 * 24 * 60) / n as i64);
        let fmt = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
        ids.push(sim.create_event(
            EMAIL,
            None,
            json!({"subject": format!("Asiakastapaaminen {i}"), "body": {"contentType": "text", "content": "Sopimuksen jatko ja hinnoittelu."},
                   "start": {"dateTime": fmt(s), "timeZone": "UTC"}, "end": {"dateTime": fmt(s + Duration::minutes(45)), "timeZone": "UTC"},
                   "location": {"displayName": "Mannerheimintie 12, Helsinki"}, "categories": ["Asiakas"]}),
        )?);
    }
    let mut icfg = IdentityConfig::for_authority(
        &running.base_url,
        DEFAULT_TENANT_ID,
        DEFAULT_CLIENT_ID,
        Secret::new(DEFAULT_CLIENT_SECRET),
    );
    icfg.jwks_refetch_cooldown = std::time::Duration::ZERO;
    let identity = IdentityClient::new(icfg);
    let id_token = sim.mint_id_token(DEFAULT_TENANT_ID, &info.user_id, EMAIL, DEFAULT_CLIENT_ID);
    let tokens = identity.exchange_on_behalf_of(&id_token).await?;
    let calendar_id = info.calendars[0].0.clone();

    println!(
        "Delta round over {n} events in a 90-day window (Graph simulator, HTTP on localhost)\n"
    );
    println!(
        "| page size | round | items | requests | 429s | peak in flight | response bytes | time (ms) |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|");
    for page_size in [100u32, 1000] {
        let mut cfg = GraphConfig::new(format!("{}/v1.0", running.base_url));
        cfg.page_size = page_size;
        let client = GraphClient::new(cfg);
        let mb = client.mailbox(
            EMAIL,
            Arc::new(UserTokens::new(identity.clone(), tokens.clone())),
        );
        let measure =
            async |label: &str, pos: DeltaPosition| -> Result<String, graph::GraphError> {
                sim.reset_stats();
                let t = Instant::now();
                let r = mb.delta_round(&pos).await?;
                let ms = t.elapsed().as_millis();
                let s = sim.stats(EMAIL);
                println!(
                    "| {page_size} | {label} | {} | {} | {} | {} | {} | {ms} |",
                    r.items.len(),
                    s.requests,
                    s.throttled_concurrency + s.throttled_rate,
                    s.peak_in_flight,
                    s.bytes_out
                );
                Ok(r.delta_link)
            };
        let link = measure(
            "first (full)",
            DeltaPosition::Start {
                calendar_id: calendar_id.clone(),
                start,
                end,
            },
        )
        .await?;
        let link = measure("idle (no changes)", DeltaPosition::Link(link)).await?;
        for id in ids.iter().take(50) {
            sim.update_event(EMAIL, id, json!({"subject": "Muutettu"}))?;
        }
        measure("after 50 edits", DeltaPosition::Link(link)).await?;
    }
    running.stop().await;
    Ok(())
}
