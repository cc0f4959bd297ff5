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
    /// Deliver queued mail (transactional first) until stopped; `serve` does
    /// this too, so run it only on instances that do not serve.
    Worker,
    /// Manage members and staff.
    #[command(subcommand)]
    User(UserCommand),
    /// Check comments against the guidelines; measure the check; train its model.
    #[command(subcommand)]
    Moderate(masthead::moderation::cli::ModerateCommand),
    /// List newsletters, compose issues, send them.
    #[command(subcommand)]
    Newsletter(masthead::newsletters::cli::NewsletterCommand),
    /// Write the whole publication to a JSON Lines file (see docs/export.md).
    Export(ExportArgs),
    /// Bring comments from another platform (Disqus, WordPress, JSON Lines),
    /// or a whole publication from `masthead export`; undo; list.
    #[command(subcommand)]
    Import(masthead::import::cli::ImportCommand),
    /// Returned mail (bounces, complaints, unsubscribes) and the suppression list.
    #[command(subcommand)]
    Mail(masthead::newsletters::bounces::cli::MailCommand),
}

#[derive(Args)]
struct ExportArgs {
    /// The file to write.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Also write members' password hashes (keep the file as safe as the database).
    #[arg(long)]
    with_password_hashes: bool,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a member (or give an existing one a role). The password is read
    /// from standard input, one line, at least 10 characters.
    Create {
        #[arg(long)]
        email: String,
        /// member, contributor, editor, moderator or admin
        #[arg(long, default_value = "member")]
        role: String,
        /// The name shown with their comments and articles.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Give a member an entitlement (a subscription): full access from a day
    /// (or now) to the end of a day, in the publication's time zone.
    Grant {
        #[arg(long)]
        email: String,
        /// The last day of access; access ends at the end of that day.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
        until: jiff::civil::Date,
        /// Who granted it, kept with the entitlement.
        #[arg(long, default_value = "admin")]
        source: String,
        /// The first day of access, from its start. [default: now]
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
        from: Option<jiff::civil::Date>,
    },
    /// End a member's current entitlements now: all of them, or those from
    /// one source.
    Revoke {
        #[arg(long)]
        email: String,
        /// Only the entitlements from this source.
        #[arg(long)]
        source: Option<String>,
    },
}

/// A calendar day as the command line takes it.
fn parse_day(text: &str) -> Result<jiff::civil::Date, String> {
    text.parse()
        .map_err(|_| format!("expected a day written YYYY-MM-DD, got {text:?}"))
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

/// glibc keeps memory a program frees for its next allocations, and raises
/// how much it keeps as larger blocks are freed (up to 32 MB a thread): a
/// million-comment import held 50 MB more at its peak than it used. A fixed
/// threshold of 1 MB gives the rest back to the system.
fn limit_retained_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's settings; called first
    // thing, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 20);
    }
}

fn main() -> ExitCode {
    limit_retained_memory();
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
        Command::Worker => {
            let config = load_config(&cli.common, None)?;
            let db = open_database(&config).await?;
            let transport = masthead::mail::transport_for(&config)?;
            let state = AppState::new(config, db.clone(), system_clock())?;
            let sender = masthead::newsletters::send::Sender::for_state(&state, transport.clone())?;
            println!(
                "Delivering mail and newsletters by {} until stopped.",
                transport.kind()
            );
            masthead::mail::worker::run_with(
                db.clone(),
                transport,
                system_clock(),
                Default::default(),
                Some(std::sync::Arc::new(sender)),
                shutdown_signal(),
            )
            .await;
            db.close().await;
            Ok(())
        }
        Command::Newsletter(command) => {
            let config = load_config(&cli.common, None)?;
            let db = open_database(&config).await?;
            let state = AppState::new(config, db.clone(), system_clock())?;
            let result = masthead::newsletters::cli::run(&state, command).await;
            db.close().await;
            result
        }
        Command::User(UserCommand::Create { email, role, name }) => {
            user_create(&cli.common, &email, &role, &name).await
        }
        Command::User(UserCommand::Grant {
            email,
            until,
            source,
            from,
        }) => user_grant(&cli.common, &email, from, until, &source).await,
        Command::User(UserCommand::Revoke { email, source }) => {
            user_revoke(&cli.common, &email, source.as_deref()).await
        }
        Command::Export(args) => {
            let config = load_config(&cli.common, None)?;
            let db = open_database(&config).await?;
            masthead::export::run_export(&db, &args.out, args.with_password_hashes).await?;
            db.close().await;
            Ok(())
        }
        Command::Import(command) => {
            let config = load_config(&cli.common, None)?;
            let db = open_database(&config).await?;
            let now = masthead::clock::micros(system_clock().now());
            let out = masthead::import::cli::run(&config, &db, command, now, true).await;
            db.close().await;
            print!("{}", out?);
            Ok(())
        }
        Command::Mail(command) => {
            use masthead::newsletters::bounces::cli::{EX_TEMPFAIL, MailCommand};
            let ingesting = matches!(command, MailCommand::Ingest { .. });
            let config = match load_config(&cli.common, None) {
                Ok(c) => c,
                // A mail server keeps the message and retries until the
                // setting is fixed, rather than bounce a bounce.
                Err(e) if ingesting => {
                    eprintln!("masthead mail ingest: {e:#}; the mail server should retry");
                    std::process::exit(EX_TEMPFAIL.into());
                }
                Err(e) => return Err(e),
            };
            match masthead::newsletters::bounces::cli::run(&config, command).await {
                0 => Ok(()),
                code => std::process::exit(code.into()),
            }
        }
        Command::Moderate(mut command) => {
            // Given a data folder or a database, the publication's own
            // guidelines (and, for train, its moderators' decisions); else
            // the built-in guidelines, whatever folder this runs in.
            let publication = if cli.common.data.is_some()
                || std::env::var_os("MASTHEAD_DATABASE_URL").is_some()
            {
                let config = load_config(&cli.common, None)?;
                let db = open_database(&config).await?;
                if let masthead::moderation::cli::ModerateCommand::Train { files, .. } =
                    &mut command
                {
                    files.push(moderators_decisions(&config, &db).await?);
                }
                let g = masthead::app::publication_guidelines(&config, &db).await?;
                db.close().await;
                Some(g)
            } else {
                None
            };
            masthead::moderation::cli::run(
                cli.common.data.as_deref(),
                publication.as_ref(),
                command,
            )
        }
    }
}

/// For `moderate train` given a data folder or a database: the
/// publication's moderators' decisions, written as labelled JSON lines to
/// DATA/moderation-decisions.jsonl (kept, to be read), and that file's path.
async fn moderators_decisions(config: &Config, db: &masthead::db::Db) -> anyhow::Result<PathBuf> {
    let decisions = {
        let mut conn = db.read().await?;
        masthead::db::comments::decisions(conn.ex()).await?
    };
    let path = config.data_dir.join("moderation-decisions.jsonl");
    let mut out = String::new();
    for (text, reject) in &decisions {
        let label = if *reject { "reject" } else { "ok" };
        out.push_str(&serde_json::json!({ "text": text, "label": label }).to_string());
        out.push('\n');
    }
    std::fs::write(&path, out).with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "{} decisions of the publication's moderators ({} to refuse), from {}",
        decisions.len(),
        decisions.iter().filter(|(_, r)| *r).count(),
        path.display()
    );
    Ok(path)
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
    let transport = masthead::mail::transport_for(&config)?;
    let mail_kind = transport.kind();
    let mut state = AppState::new(config, db.clone(), clock.clone())?;
    state.connect_shared().await?;
    state.preload_checker();
    let app = Application::bind(state).await?;
    let public = app.state().config.public_url.clone();
    let limits = if app.state().limiter.is_shared() {
        "Redis"
    } else {
        "this process"
    };
    // One signal stops both the server and the mail worker.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut worker_stop = stop_rx.clone();
    let sender = masthead::newsletters::send::Sender::for_state(app.state(), transport.clone())?;
    let worker = tokio::spawn(masthead::mail::worker::run_with(
        db.clone(),
        transport,
        clock,
        Default::default(),
        Some(std::sync::Arc::new(sender)),
        async move {
            let _ = worker_stop.wait_for(|s| *s).await;
        },
    ));
    println!(
        "Masthead is serving http://{} (public address {public}); mail goes by {mail_kind}; rate limits are counted in {limits}",
        app.local_addr()
    );
    let served = app
        .serve(async move {
            shutdown_signal().await;
            let _ = stop_tx.send(true);
        })
        .await;
    // The worker finishes its batch (and marks it) before the pool closes.
    let _ = worker.await;
    db.close().await;
    served
}

async fn user_create(common: &Common, email: &str, role: &str, name: &str) -> anyhow::Result<()> {
    use masthead::db::members;
    const ROLES: &[&str] = &["member", "contributor", "editor", "moderator", "admin"];
    if !ROLES.contains(&role) {
        anyhow::bail!("--role must be one of {}; got {role:?}", ROLES.join(", "));
    }
    let email = masthead::domain::email::Email::parse(email).map_err(anyhow::Error::msg)?;
    let config = load_config(common, None)?;
    let db = open_database(&config).await?;
    let now = masthead::clock::micros(system_clock().now());
    let existing = {
        let mut conn = db.read().await?;
        members::by_email(conn.ex(), &email).await?
    };
    if let Some(m) = existing {
        let mut conn = db.write().await?;
        members::set_role(conn.ex(), m.id, role).await?;
        println!(
            "{} already has an account; their role is now {role}.",
            email.as_typed()
        );
        return Ok(());
    }
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\n', '\r']).to_string();
    if password.chars().count() < 10 {
        anyhow::bail!("the password (one line on standard input) must be at least 10 characters");
    }
    let hash = masthead::http::auth::hash_password(password)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut tx = db.begin().await?;
    let id = members::insert(tx.ex(), &email, name, Some(&hash), role, now)
        .await?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{} was registered a moment ago; run the command again",
                email.as_typed()
            )
        })?;
    // Staff created here are trusted with their address.
    members::mark_verified(tx.ex(), id, now).await?;
    tx.commit().await?;
    println!("Created {} ({role}), member {id}.", email.as_typed());
    db.close().await;
    Ok(())
}

/// An event id for an entitlement change made here, unique like a
/// webhook's: `cli-` and 24 random hex digits.
fn cli_event_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    format!("cli-{}", hex::encode(bytes))
}

/// The member with this address, or an error saying how to create one.
async fn existing_member(
    db: &masthead::db::Db,
    email: &masthead::domain::email::Email,
) -> anyhow::Result<masthead::db::members::Member> {
    let mut conn = db.read().await?;
    masthead::db::members::by_email(conn.ex(), email)
        .await?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{} has no account; create one first with `masthead user create`",
                email.as_typed()
            )
        })
}

async fn user_grant(
    common: &Common,
    email: &str,
    from: Option<jiff::civil::Date>,
    until: jiff::civil::Date,
    source: &str,
) -> anyhow::Result<()> {
    use masthead::db::{members, settings};
    let email = masthead::domain::email::Email::parse(email).map_err(anyhow::Error::msg)?;
    let source = source.trim();
    if source.is_empty() || source.chars().count() > 100 {
        anyhow::bail!("--source must be a name of 1 to 100 characters");
    }
    let config = load_config(common, None)?;
    let db = open_database(&config).await?;
    let member = existing_member(&db, &email).await?;
    let zone_name = {
        let mut conn = db.read().await?;
        settings::publication(conn.ex()).await?.time_zone
    };
    let tz = masthead::domain::time::zone(&zone_name).ok_or_else(|| {
        anyhow::anyhow!("the publication's time zone {zone_name:?} is not a known zone")
    })?;
    let now = system_clock().now();
    let starts_at = match from {
        Some(day) => day.to_zoned_datetime(tz.clone())?.timestamp(),
        None => now,
    };
    // The end of the last day is the start of the next one.
    let valid_until = until.tomorrow()?.to_zoned_datetime(tz)?.timestamp();
    if valid_until <= now {
        anyhow::bail!("--until {until} is already past in {zone_name}");
    }
    if valid_until <= starts_at {
        anyhow::bail!("--until {until} is before --from");
    }
    let event_id = cli_event_id();
    let mut conn = db.write().await?;
    members::grant_entitlement(
        conn.ex(),
        member.id,
        source,
        masthead::clock::micros(starts_at),
        masthead::clock::micros(valid_until),
        &event_id,
        masthead::clock::micros(now),
    )
    .await?;
    drop(conn);
    let starts = match from {
        Some(day) => format!("from the start of {day}"),
        None => "from now".to_string(),
    };
    println!(
        "{} can read everything {starts} until the end of {until} ({zone_name}); source {source}, event {event_id}.",
        email.as_typed()
    );
    db.close().await;
    Ok(())
}

async fn user_revoke(common: &Common, email: &str, source: Option<&str>) -> anyhow::Result<()> {
    use masthead::db::members::{self, Revoking};
    let email = masthead::domain::email::Email::parse(email).map_err(anyhow::Error::msg)?;
    let config = load_config(common, None)?;
    let db = open_database(&config).await?;
    let member = existing_member(&db, &email).await?;
    let which = match source {
        Some(s) => Revoking::Source(s),
        None => Revoking::All,
    };
    let event_id = cli_event_id();
    let now = masthead::clock::micros(system_clock().now());
    let mut tx = db.begin().await?;
    let ended = members::revoke(tx.ex(), member.id, which, "admin", &event_id, now)
        .await?
        .ok_or_else(|| {
            anyhow::anyhow!("the event id {event_id} was taken; run the command again")
        })?;
    tx.commit().await?;
    let from = source.map(|s| format!(" from {s}")).unwrap_or_default();
    match ended {
        0 => println!(
            "{} had no current entitlements{from}; nothing changed.",
            email.as_typed()
        ),
        n => println!(
            "Ended {n} current entitlement{} of {}{from}; event {event_id}.",
            if n == 1 { "" } else { "s" },
            email.as_typed()
        ),
    }
    db.close().await;
    Ok(())
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
