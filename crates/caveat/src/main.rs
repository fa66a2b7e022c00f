//! `caveat`: the hub's command line. Each subcommand lives in a module named for it.

// A server answering thousands of requests a second spends a sixth of its
// time in glibc's malloc and free (perf, issue 8's load bench); mimalloc's
// per-thread heaps cut that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod admit;
mod audit;
mod audit_key;
mod cert;
mod cot;
mod db;
mod demo;
mod feed;
mod ingest;
mod init;
mod node;
mod node_witness;
mod peer_url;
mod pin;
mod policy;
mod report;
mod reports;
mod scenario;
mod serve;
mod slots;
mod store;
mod tls;
mod user;
mod witness;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Caveat: a maritime intelligence-sharing hub where originators' markings
/// are enforced by software.
#[derive(Debug, Parser)]
#[command(name = "caveat", version, about, propagate_version = true)]
struct Cli {
    /// The hub's database.
    /// The hub's database: a SQLite file, or postgres://user@host/db.
    #[arg(long, global = true, env = "CAVEAT_DB", default_value = "./caveat.db")]
    db: db::Db,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the store (if needed) and register partners from a TOML file.
    Init(init::Args),
    /// Store reports from NDJSON files, each file one all-or-nothing batch.
    Ingest(ingest::Args),
    /// List or count stored reports.
    Reports(reports::Args),
    /// Run the hub: HTTP API and web COP.
    Serve(Box<serve::Args>),
    /// Manage users and their API tokens.
    #[command(subcommand)]
    User(user::Command),
    /// Decide, explain and change access: standing policies and suspensions.
    #[command(subcommand)]
    Policy(policy::Command),
    /// The audit log: key, checkpoints, usage exports, offline verification.
    #[command(subcommand)]
    Audit(audit::Command),
    /// Write a simulated scenario (reports per partner and the truth) to a directory.
    Scenario(scenario::Args),
    /// Reports for partners: `report transparency --partner P`.
    #[command(subcommand)]
    Report(report::Command),
    /// Bring the database's schema up to date.
    Migrate,
    /// Move a hub between databases.
    #[command(subcommand)]
    Store(store::Command),
    /// Witness a hub's audit log: cosign its checkpoints (C2SP tlog-witness).
    #[command(subcommand)]
    Witness(witness::Command),
    /// Make a self-signed certificate and key for federation (a node, a hub's client): pinned, so no CA.
    Cert(cert::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Init(args) => init::run(&cli.db, args).await,
            Command::Ingest(args) => ingest::run(&cli.db, args).await,
            Command::Reports(args) => reports::run(&cli.db, args).await,
            Command::Serve(args) => serve::run(&cli.db, *args).await,
            Command::User(cmd) => user::run(&cli.db, cmd).await,
            Command::Policy(cmd) => policy::run(&cli.db, cmd).await,
            Command::Audit(cmd) => audit::run(&cli.db, cmd).await,
            Command::Scenario(args) => scenario::run(&args),
            Command::Report(cmd) => report::run(&cli.db, cmd).await,
            Command::Migrate => store::migrate(&cli.db).await,
            Command::Store(cmd) => store::run(cmd).await,
            Command::Witness(cmd) => witness::run(cmd).await,
            Command::Cert(args) => cert::run(&args),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`caveat reports | head`): done, not failed.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the hub's store, refusing to create a SQLite file outside `caveat init`.
async fn open_store(db: &db::Db) -> anyhow::Result<std::sync::Arc<dyn caveat_store::Store>> {
    db.open(false).await
}
