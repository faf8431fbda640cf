//! `sim`: both simulators as one standalone program, seeded with the demo company and mailbox, for
//! running the server against them by hand (`cargo run -p sim -- --crm-port 8081 --graph-port 8082`).

use std::net::SocketAddr;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "sim",
    about = "Simulators of CRM-service and Microsoft Graph (demo data seeded)"
)]
struct Args {
    /// Port of the CRM-service simulator (0 = any free port).
    #[arg(long, default_value_t = 8081)]
    crm_port: u16,
    /// Port of the Graph simulator and its identity endpoints (0 = any free port).
    #[arg(long, default_value_t = 8082)]
    graph_port: u16,
    /// Address to bind both to.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let crm = sim::crm::CrmSim::new();
    let demo = crm.seed_demo();
    let crm_running = sim::serve(crm.router(), SocketAddr::new(args.host, args.crm_port)).await?;
    let graph = sim::graph::GraphSim::new();
    let graph_running =
        sim::serve(graph.router(), SocketAddr::new(args.host, args.graph_port)).await?;
    graph.set_base_url(&graph_running.base_url);
    let mailbox = graph.seed_demo();
    println!(
        "CRM-service simulator: {}  (API key {}, user {} / {})",
        crm_running.base_url, demo.api_key, demo.username, demo.password
    );
    println!(
        "Graph simulator:       {}/v1.0  (mailbox {}, tenant {})",
        graph_running.base_url, mailbox.email, mailbox.tenant_id
    );
    println!(
        "Identity authority:    {}  (client id {})",
        graph_running.base_url,
        sim::graph::DEFAULT_CLIENT_ID
    );
    println!(
        "Admin:                 {}/_admin/crm  and  {}/_admin/graph",
        crm_running.base_url, graph_running.base_url
    );
    tokio::signal::ctrl_c().await?;
    crm_running.stop().await;
    graph_running.stop().await;
    Ok(())
}
