//! The `masthead` command line: a thin layer over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use masthead::app::{AppState, Application, open_database, shutdown_signal, system_clock};
use masthead::config::{Config, Layer};

#[derive(Parser)]
#[command(
    name = "masthead",
    version,
    about = "A news publication's website in one program"
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Options every subcommand takes.
#[derive(Args, Clone, Default)]
struct Common {
    /// The data folder: database, photos, secret key, mail drop, theme.
    /// [default: ./masthead-data]
    #[arg(long, global = true, value_name = "DIR")]
    data: Option<PathBuf>,
    /// A configuration file to read instead of DATA/masthead.toml.
    #[arg(long, global = true, value_name = "FILE", env = "MASTHEAD_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the site (the default).
    Serve(ServeArgs),
    /// Apply the database migrations and exit.
    Migrate,
    /// Manage demonstration content.
    Demo(DemoArgs),
}

#[derive(Args, Default)]
struct ServeArgs {
    /// The address and port to listen on. [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Do not seed the demo publication into an empty store.
    #[arg(long)]
    no_demo: bool,
}

#[derive(Args)]
struct DemoArgs {
    /// Add N generated stories (with shared photos, spread over three years) for load tests.
    #[arg(long, value_name = "N", conflicts_with = "remove")]
    stories: Option<usize>,
    /// Remove the demo publication and every generated story.
    #[arg(long)]
    remove: bool,
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("MASTHEAD_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(common: &Common, listen: Option<String>) -> anyhow::Result<Config> {
    let flags = Layer {
        data: common.data.clone(),
        listen,
        ..Layer::default()
    };
    Ok(Config::load(
        flags,
        std::env::vars(),
        common.config.as_deref(),
    )?)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => serve(&cli.common, args).await,
        Command::Migrate => {
            let config = load_config(&cli.common, None)?;
            open_database(&config).await?;
            println!(
                "The database {} is up to date.",
                masthead::db::redact_url(&config.database_url)
            );
            Ok(())
        }
        Command::Demo(args) => demo(&cli.common, args).await,
    }
}

async fn serve(common: &Common, args: ServeArgs) -> anyhow::Result<()> {
    let config = load_config(common, args.listen)?;
    let db = open_database(&config).await?;
    let clock = system_clock();
    if !args.no_demo {
        let mut conn = db.write().await?;
        if masthead::demo::store_is_empty(conn.ex()).await? {
            drop(conn);
            println!(
                "The store is empty: adding the demo publication (start with --no-demo to skip) ..."
            );
            let report = masthead::demo::seed(&db, &config.media_dir(), clock.now())
                .await
                .context("seeding the demo publication")?;
            println!(
                "Added the demo: {} sections, {} topics, {} authors, {} stories, {} photos. `masthead demo --remove` takes it out.",
                report.sections, report.topics, report.authors, report.stories, report.photos
            );
        }
    }
    let state = AppState::new(config, db, clock)?;
    let app = Application::bind(state).await?;
    let public = app.state().config.public_url.clone();
    println!(
        "Masthead is serving http://{} (public address {public})",
        app.local_addr()
    );
    app.serve(shutdown_signal()).await
}

async fn demo(common: &Common, args: DemoArgs) -> anyhow::Result<()> {
    let config = load_config(common, None)?;
    let db = open_database(&config).await?;
    let clock = system_clock();
    if args.remove {
        let n = masthead::demo::remove(&db, &config.media_dir()).await?;
        println!("Removed the demo content ({n} stories).");
    } else if let Some(n) = args.stories {
        let started = std::time::Instant::now();
        let written = masthead::demo::generate(&db, &config.media_dir(), n, clock.now(), |done| {
            if done % 10_000 == 0 || done == n {
                eprintln!("  {done} of {n} stories written");
            }
        })
        .await?;
        println!(
            "Added {written} generated stories in {:.1} s.",
            started.elapsed().as_secs_f64()
        );
    } else {
        anyhow::bail!(
            "say what to do: --stories N to add generated stories, or --remove to take the demo out"
        );
    }
    db.close().await;
    Ok(())
}
