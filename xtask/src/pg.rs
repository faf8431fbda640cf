//! Finds a Postgres server for the tests and the demo, or starts a private one.
//!
//! Order: `DATABASE_URL` if set; else a server on 127.0.0.1:5432; else a private cluster from the
//! installed PostgreSQL binaries under `target/pg`, on a free port (as an unprivileged system user when
//! we run as root, because `initdb` refuses root). `--private-pg` forces the last path.

use std::{
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anyhow::{Context, Result, bail};

use crate::{run_cmd, step, tools};

const PG_USER: &str = "crmpg";

pub struct Postgres {
    /// URL of a database on the server with rights to create databases (the `postgres` database).
    pub admin_url: String,
    private: Option<PrivateCluster>,
}

struct PrivateCluster {
    data: PathBuf,
    as_user: bool,
}

pub fn ensure(root: &Path, force_private: bool) -> Result<Postgres> {
    step("finding Postgres");
    if !force_private {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            println!("using DATABASE_URL");
            return Ok(Postgres {
                admin_url: url,
                private: None,
            });
        }
        let addr = "127.0.0.1:5432".parse().expect("valid address");
        if TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok() {
            println!("using the server at 127.0.0.1:5432");
            return Ok(Postgres {
                admin_url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
                private: None,
            });
        }
        println!("no DATABASE_URL and nothing on 127.0.0.1:5432");
    }
    start_private(root)
}

fn pg_bindir() -> Result<PathBuf> {
    // Debian keeps the real binaries per major version; prefer the newest.
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    if tools::on_path("initdb") && tools::on_path("pg_ctl") {
        return Ok(PathBuf::new());
    }
    bail!(
        "no PostgreSQL server binaries (initdb, pg_ctl) found; install Debian's `postgresql` package"
    )
}

fn start_private(root: &Path) -> Result<Postgres> {
    let bindir = pg_bindir()?;
    let base = root.join("target/pg");
    let data = base.join("data");
    std::fs::create_dir_all(&base)?;
    let as_user = tools::is_root();
    if as_user && !Command::new("id").arg(PG_USER).output()?.status.success() {
        run_cmd(Command::new("useradd").args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            PG_USER,
        ]))
        .context("creating the unprivileged user for the private Postgres")?;
    }
    let pg_cmd = |prog: &str| -> Command {
        let exe = bindir.join(prog);
        if as_user {
            let mut c = Command::new("runuser");
            c.args(["-u", PG_USER, "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    };
    if !data.join("PG_VERSION").exists() {
        step("initialising a private Postgres cluster under target/pg");
        if as_user {
            run_cmd(Command::new("chown").args(["-R", PG_USER]).arg(&base))?;
        }
        run_cmd(
            pg_cmd("initdb")
                .args([
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "-D",
                ])
                .arg(&data),
        )?;
    }
    // A cluster left running by an interrupted run is stopped first so we can pick a new free port.
    let _ = pg_cmd("pg_ctl")
        .arg("-D")
        .arg(&data)
        .args(["-m", "fast", "stop"])
        .output();
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    step(&format!(
        "starting the private Postgres on 127.0.0.1:{port}"
    ));
    let opts = format!(
        "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
        data.display()
    );
    run_cmd(
        pg_cmd("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-o", &opts, "-l"])
            .arg(base.join("postgres.log"))
            .args(["-w", "-t", "60", "start"]),
    )
    .context("starting the private Postgres (see target/pg/postgres.log)")?;
    Ok(Postgres {
        admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        private: Some(PrivateCluster { data, as_user }),
    })
}

impl Postgres {
    fn psql(&self, sql: &str) -> Result<String> {
        tools::output(Command::new(psql_path()).args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &self.admin_url,
            "-c",
            sql,
        ]))
    }

    /// Drops databases left behind by test runs that were killed before they could clean up: test
    /// databases (`crmtest_<unix seconds>_<uuid>`, see the test-db crate) older than six hours that
    /// nobody is connected to. Never one in use: another test run or benchmark on the same server may
    /// be running right now (a sweep with `FORCE` once pulled a benchmark's database from under it).
    pub fn sweep_test_databases(&self) -> Result<()> {
        let names = self
            .psql(
                "SELECT datname FROM pg_database d
                 WHERE datname LIKE 'crmtest\\_%'
                   AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)
                   AND (split_part(datname, '_', 2) !~ '^[0-9]{1,12}$'
                        OR split_part(datname, '_', 2)::bigint < extract(epoch FROM now()) - 6 * 3600)",
            )
            .context("listing old test databases (is Postgres reachable?)")?;
        for name in names.lines().map(str::trim).filter(|n| !n.is_empty()) {
            // Without FORCE: one that somebody connected to since the listing stays.
            if let Err(e) = self.psql(&format!(r#"DROP DATABASE IF EXISTS "{name}""#)) {
                println!("left {name} in place: {e:#}");
            }
        }
        Ok(())
    }

    /// Creates `name` unless it exists; returns its URL.
    pub fn ensure_database(&self, name: &str) -> Result<String> {
        let exists = self.psql(&format!(
            "SELECT 1 FROM pg_database WHERE datname = '{name}'"
        ))?;
        if exists.trim().is_empty() {
            self.psql(&format!(r#"CREATE DATABASE "{name}""#))?;
        }
        let (prefix, _) = self
            .admin_url
            .rsplit_once('/')
            .context("DATABASE_URL has no database path")?;
        Ok(format!("{prefix}/{name}"))
    }
}

fn psql_path() -> PathBuf {
    if tools::on_path("psql") {
        PathBuf::from("psql")
    } else {
        pg_bindir()
            .map(|b| b.join("psql"))
            .unwrap_or_else(|_| "psql".into())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(cluster) = &self.private {
            println!("stopping the private Postgres");
            let bindir = pg_bindir().unwrap_or_default();
            let mut cmd = if cluster.as_user {
                let mut c = Command::new("runuser");
                c.args(["-u", PG_USER, "--"]).arg(bindir.join("pg_ctl"));
                c
            } else {
                Command::new(bindir.join("pg_ctl"))
            };
            let _ = cmd
                .arg("-D")
                .arg(&cluster.data)
                .args(["-m", "fast", "-w", "stop"])
                .status();
        }
    }
}
