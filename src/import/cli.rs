//! `masthead import disqus | comments-json | undo | list`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};

use super::{Kind, Matcher, Options, Report};
use crate::config::Config;
use crate::db::{Db, imports};

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Import comments from a Disqus XML export.
    Disqus(FileArgs),
    /// Import a WordPress export (WXR): posts as stories (categories as
    /// sections, tags as topics, their authors) with their comments; the
    /// old addresses answer 301 to the new ones. Images are read from a
    /// copy of the site's uploads folder given with --uploads DIR.
    Wxr(WxrArgs),
    /// Import comments from masthead-comments JSON Lines (docs/import.md).
    #[command(name = "comments-json")]
    CommentsJson(FileArgs),
    /// Take an import away as a whole: its comments, authors and orphan threads.
    Undo {
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// The imports made, newest first, with their counts and orphan threads.
    List,
    /// A `masthead export` file, into an empty store: the same publication,
    /// the same ids (docs/export.md).
    Masthead {
        /// The export file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(Args, Debug, Clone)]
pub struct FileArgs {
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Report what would be imported; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Send the imported comments through the guidelines check.
    #[arg(long)]
    pub moderate: bool,
    /// Keep deleted and spam comments, hidden, for the record (the default).
    #[arg(long, conflicts_with = "skip_hidden")]
    pub keep_hidden: bool,
    /// Leave deleted and spam comments out.
    #[arg(long)]
    pub skip_hidden: bool,
    /// OLD=NEW: thread addresses on host OLD are taken as on host NEW
    /// (repeat for several), e.g. --host-alias www.old.example=news.example.
    #[arg(long = "host-alias", value_name = "OLD=NEW", value_parser = parse_alias)]
    pub host_alias: Vec<(String, String)>,
    /// A mapping file: one "OLD NEW" a line, OLD a thread address or
    /// identifier, NEW a story id or its address here.
    #[arg(long, value_name = "FILE")]
    pub map: Option<PathBuf>,
    /// Comments written in one transaction (default 5,000; 30,000 with
    /// --bulk). Larger is quicker on SQLite; the site's own writes wait for
    /// each transaction (about half a second for 5,000 comments).
    #[arg(long, value_name = "N", value_parser = parse_batch)]
    pub batch: Option<usize>,
    /// For a store not yet open to readers: write the comments without the
    /// indexes pages read them by, and build those once at the end (several
    /// times quicker for a large file; meanwhile the site's comment pages
    /// and moderation queue are slow).
    #[arg(long, conflicts_with = "dry_run")]
    pub bulk: bool,
}

#[derive(Args, Debug, Clone)]
pub struct WxrArgs {
    #[command(flatten)]
    pub file: FileArgs,
    /// A copy of the site's wp-content/uploads folder: the posts' images
    /// are read from it (never fetched over the network) and stored with
    /// the stories. Without it, images are left out and counted.
    #[arg(long, value_name = "DIR")]
    pub uploads: Option<PathBuf>,
}

fn parse_batch(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=100_000).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a number of comments from 1 to 100000; got {text:?}"
        )),
    }
}

fn parse_alias(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() => {
            Ok((a.trim().to_string(), b.trim().to_string()))
        }
        _ => Err(format!(
            "expected OLD=NEW, two host names, as in www.old.example=news.example; got {text:?}"
        )),
    }
}

/// Runs one import command over an open database; what it prints is
/// returned too (for tests).
pub async fn run(
    config: &Config,
    db: &Db,
    command: ImportCommand,
    now: i64,
    progress: bool,
) -> anyhow::Result<String> {
    match command {
        ImportCommand::Disqus(args) => {
            import_file(config, db, Kind::Disqus, &args, None, now, progress).await
        }
        ImportCommand::Wxr(args) => {
            let uploads = args.uploads.clone();
            import_file(config, db, Kind::Wxr, &args.file, uploads, now, progress).await
        }
        ImportCommand::CommentsJson(args) => {
            import_file(config, db, Kind::CommentsJson, &args, None, now, progress).await
        }
        ImportCommand::Undo { id } => {
            let found = {
                let mut c = db.read().await?;
                imports::find(c.ex(), id).await?
            };
            let Some(found) = found else {
                anyhow::bail!("there is no import {id}; `masthead import list` shows them");
            };
            if found.state == "undone" {
                anyhow::bail!("import {id} was undone already");
            }
            let done = imports::undo(db, id, &config.media_dir()).await?;
            let stories = if found.kind == Kind::Wxr.name() {
                format!(
                    " It took away {} stories with their old addresses, and {} photos no other story uses.",
                    done.stories, done.photos
                )
            } else {
                String::new()
            };
            Ok(format!(
                "Undid import {id} ({} of {}): removed {} comments, {} authors and {} orphan threads.{stories}\n",
                found.kind, found.file_name, done.comments, done.identities, done.threads
            ))
        }
        ImportCommand::Masthead { file } => {
            crate::export::run_import(db, &file, &config.media_dir()).await?;
            Ok(String::new())
        }
        ImportCommand::List => {
            let rows = {
                let mut c = db.read().await?;
                imports::list(c.ex()).await?
            };
            if rows.is_empty() {
                return Ok("No imports yet.\n".into());
            }
            let mut out = String::new();
            for r in rows {
                let when = crate::clock::from_micros(r.started_at).strftime("%Y-%m-%d %H:%M UTC");
                out.push_str(&format!(
                    "{:>4}  {when}  {:<13} {:<9} {}: {} comments, {} authors ({} claimed), {} orphan threads\n",
                    r.id, r.kind, r.state, r.file_name, r.comments, r.identities, r.claimed, r.orphan_threads
                ));
                if r.orphan_threads > 0 {
                    let mut c = db.read().await?;
                    for o in imports::orphans(c.ex(), r.id).await?.iter().take(20) {
                        let shown = if o.link.is_empty() {
                            &o.identifier
                        } else {
                            &o.link
                        };
                        out.push_str(&format!(
                            "        unmatched: {shown} ({} comments)\n",
                            o.posts
                        ));
                    }
                }
            }
            Ok(out)
        }
    }
}

async fn import_file(
    config: &Config,
    db: &Db,
    kind: Kind,
    args: &FileArgs,
    uploads: Option<PathBuf>,
    now: i64,
    progress: bool,
) -> anyhow::Result<String> {
    let mut matcher = Matcher::new(&config.public_url, &args.host_alias);
    if let Some(map) = &args.map {
        let text = std::fs::read_to_string(map)
            .with_context(|| format!("cannot read the mapping file {}", map.display()))?;
        matcher.read_map(&text).map_err(anyhow::Error::msg)?;
    }
    let opts = Options {
        dry_run: args.dry_run,
        moderate: args.moderate,
        skip_hidden: args.skip_hidden,
        host_aliases: args.host_alias.clone(),
        map: args.map.clone(),
        progress,
        limits: super::writer::Limits {
            batch: args.batch.unwrap_or(if args.bulk {
                super::BULK_BATCH
            } else {
                super::BATCH
            }),
            ..Default::default()
        },
        uploads,
        media_dir: Some(config.media_dir()),
        bulk: args.bulk,
    };
    let checker = if args.moderate {
        let g = crate::app::publication_guidelines(config, db).await?;
        Some(crate::moderation::Checker::new(
            g,
            crate::app::moderation_model(&config.data_dir),
        ))
    } else {
        None
    };
    let report = super::run(db, &matcher, kind, &args.file, &opts, checker.as_ref(), now).await?;
    finish(&args.file, report)
}

fn finish(file: &Path, report: Report) -> anyhow::Result<String> {
    let summary = report.summary();
    if let Some(f) = &report.fatal {
        let undo = match report.import_id {
            Some(id) => format!(
                " What was read before is stored under import {id}: run the import again on the whole file to complete it, or `masthead import undo {id}`."
            ),
            None => " Nothing was written.".into(),
        };
        anyhow::bail!("{summary}{} cannot be read on {f}.{undo}", file.display());
    }
    Ok(summary)
}
