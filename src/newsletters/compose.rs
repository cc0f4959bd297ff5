//! The mail of an issue: rendered once per kind of reader at send time (not
//! stored per recipient), from the theme's templates
//! `email/newsletter/body.html` and `body.txt`.
//!
//! Every story in it obeys the one access decision ([`access::decide`]). A
//! mail is not a visit, so it spends no one's allowance: a reader gets a
//! story's whole text only where the decision gives it without counting a
//! read (free stories; every story for subscribers and staff). Everyone
//! else gets the story's teaser paragraphs and a link.
//!
//! The per-recipient parts (the preference and unsubscribe links) are
//! markers in the rendered text, replaced for each recipient
//! ([`Rendered::personalise`]).

use minijinja::context;
use serde::Serialize;

use super::issues::{Issue, Newsletter};
use crate::config::Config;
use crate::db::{Ex, stories};
use crate::domain::access::{self, Access, Level, Limits, Meter, Reader};
use crate::domain::body::{self, Block};
use crate::domain::slug::story_path;
use crate::render::{Renderer, val};
use crate::site::Site;

/// Replaced by the recipient's preference page link.
pub const PREFERENCES_MARK: &str = "MASTHEAD_PREFERENCES_URL";
/// Replaced by the recipient's one-click unsubscribe page link.
pub const UNSUBSCRIBE_MARK: &str = "MASTHEAD_UNSUBSCRIBE_URL";

/// Whether a reader gets a story of this level whole in a mail.
pub fn whole_in_mail(level: Level, reader: Reader) -> bool {
    let no_allowance = Limits {
        anonymous: 0,
        member: 0,
    };
    matches!(
        access::decide(level, reader, Meter::default(), no_allowance),
        Access::Full { counts: false, .. }
    )
}

/// A text block of a story, ready for both parts of the mail.
#[derive(Clone, Debug, Serialize)]
struct TextBlock {
    kind: &'static str,
    html: String,
    text: String,
}

/// A story as an issue carries it, before the access decision.
#[derive(Clone, Debug)]
pub struct MailStory {
    id: i64,
    level: Level,
    headline: String,
    standfirst: String,
    section: String,
    dateline: String,
    url: String,
    image: Option<MailImage>,
    blocks: Vec<TextBlock>,
}

#[derive(Clone, Debug, Serialize)]
struct MailImage {
    src: String,
    alt: String,
    width: i64,
    height: i64,
}

/// The stories of an issue, in its order; stories no longer published are
/// left out.
pub async fn load_stories(
    mut ex: Ex<'_>,
    config: &Config,
    ids: &[i64],
    now: i64,
) -> Result<Vec<MailStory>, sqlx::Error> {
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        let Some(s) = stories::find(stories::reborrow(&mut ex), id).await? else {
            continue;
        };
        if s.status != "published" || s.published_at.is_none_or(|p| p > now) {
            continue;
        }
        let image = match s.lead_media_id {
            Some(m) => crate::db::media::find(stories::reborrow(&mut ex), m)
                .await?
                .map(|m| {
                    let pic = crate::media::Picture::of(&m);
                    // The rendition closest to the mail's 600 pixels.
                    let width = pic.width.min(600);
                    MailImage {
                        src: config.absolute(&pic.src),
                        alt: s.lead_alt.clone(),
                        width,
                        height: if pic.width > 0 {
                            pic.height * width / pic.width
                        } else {
                            0
                        },
                    }
                }),
            None => None,
        };
        let blocks = body::from_json(&s.body)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|b| match b {
                Block::Paragraph { text } => Some(("paragraph", text)),
                Block::Heading { text } => Some(("heading", text)),
                Block::Quote { text } => Some(("quote", text)),
                _ => None,
            })
            .map(|(kind, text)| TextBlock {
                kind,
                html: body::inline_html(&text),
                text: body::plain_text(&text),
            })
            .collect();
        out.push(MailStory {
            id: s.id,
            level: Level::parse(&s.access_level),
            url: config.absolute(&story_path(&s.section_slug, &s.slug, s.id)),
            headline: s.headline,
            standfirst: s.standfirst,
            section: s.section_name,
            dateline: s.dateline,
            image,
            blocks,
        });
    }
    Ok(out)
}

/// An issue with its newsletter and stories, as both the sender and the
/// desk's preview render it.
pub struct Loaded {
    pub issue: Issue,
    pub newsletter: Newsletter,
    pub stories: Vec<MailStory>,
}

impl Loaded {
    pub fn context<'a>(&'a self, site: &'a Site, config: &'a Config) -> IssueContext<'a> {
        IssueContext {
            site,
            config,
            newsletter: &self.newsletter,
            issue: &self.issue,
            stories: &self.stories,
        }
    }
}

/// Loads an issue, its newsletter and its stories; `None` when either is gone.
pub async fn load(
    mut ex: Ex<'_>,
    config: &Config,
    issue_id: i64,
    now: i64,
) -> Result<Option<Loaded>, sqlx::Error> {
    let Some(issue) = super::issues::find(stories::reborrow(&mut ex), issue_id).await? else {
        return Ok(None);
    };
    let Some(newsletter) =
        super::subscriptions::by_id(stories::reborrow(&mut ex), issue.newsletter_id).await?
    else {
        return Ok(None);
    };
    let stories = load_stories(ex, config, &issue.stories(), now).await?;
    Ok(Some(Loaded {
        issue,
        newsletter,
        stories,
    }))
}

/// One story as one kind of reader gets it.
#[derive(Serialize)]
struct StoryView<'a> {
    id: i64,
    headline: &'a str,
    standfirst: &'a str,
    section: &'a str,
    dateline: &'a str,
    url: &'a str,
    image: Option<&'a MailImage>,
    blocks: &'a [TextBlock],
    whole: bool,
    /// Why the rest is not in the mail: `subscribers` or `metered`.
    wall: &'static str,
}

/// The mail of an issue for one kind of reader, with the markers left in.
#[derive(Clone, Debug)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Rendered {
    /// The text and HTML with this recipient's links put in.
    pub fn personalise(&self, preferences: &str, unsubscribe: &str) -> (String, String) {
        let fill = |s: &str| {
            s.replace(PREFERENCES_MARK, preferences)
                .replace(UNSUBSCRIBE_MARK, unsubscribe)
        };
        (fill(&self.text), fill(&self.html))
    }
}

/// What the templates are given besides the stories.
pub struct IssueContext<'a> {
    pub site: &'a Site,
    pub config: &'a Config,
    pub newsletter: &'a Newsletter,
    pub issue: &'a Issue,
    pub stories: &'a [MailStory],
}

/// Renders the issue for one kind of reader.
pub fn render(
    renderer: &Renderer,
    c: &IssueContext<'_>,
    reader: Reader,
) -> Result<Rendered, minijinja::Error> {
    let teaser = c.site.access.teaser_paragraphs.max(1);
    let views: Vec<StoryView> = c
        .stories
        .iter()
        .map(|s| {
            let whole = whole_in_mail(s.level, reader);
            let blocks: &[TextBlock] = if whole {
                &s.blocks
            } else {
                let mut seen = 0;
                let cut = s
                    .blocks
                    .iter()
                    .position(|b| {
                        if b.kind == "paragraph" {
                            seen += 1;
                        }
                        seen >= teaser && b.kind == "paragraph"
                    })
                    .map_or(s.blocks.len(), |i| i + 1);
                &s.blocks[..cut]
            };
            StoryView {
                id: s.id,
                headline: &s.headline,
                standfirst: &s.standfirst,
                section: &s.section,
                dateline: &s.dateline,
                url: &s.url,
                image: s.image.as_ref(),
                blocks,
                whole,
                wall: match s.level {
                    Level::Subscribers => "subscribers",
                    _ => "metered",
                },
            }
        })
        .collect();
    let intro: Vec<&str> = c
        .issue
        .intro
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let ctx = context! {
        site_name => c.site.publication.name.clone(),
        home => c.config.absolute("/"),
        newsletter => val(c.newsletter),
        subject => c.issue.subject.clone(),
        intro => val(&intro),
        stories => val(&views),
        reader => match reader {
            Reader::Subscriber | Reader::Staff => "subscriber",
            Reader::Member => "member",
            _ => "reader",
        },
        preferences_url => PREFERENCES_MARK,
        unsubscribe_url => UNSUBSCRIBE_MARK,
        subscribe_url => c.config.absolute("/account"),
    };
    Ok(Rendered {
        subject: c.issue.subject.clone(),
        html: renderer.render("email/newsletter/body.html", ctx.clone())?,
        text: renderer.render("email/newsletter/body.txt", ctx)?,
    })
}

/// An issue rendered for one kind of reader, as staff preview it: the links
/// that are personal in a sent mail point at the site's newsletter page.
pub async fn preview(
    state: &crate::app::AppState,
    issue_id: i64,
    reader: Reader,
) -> anyhow::Result<Option<(Issue, Newsletter, Rendered)>> {
    let loaded = {
        let mut c = state.db.read().await?;
        load(c.ex(), &state.config, issue_id, state.now_micros()).await?
    };
    let Some(loaded) = loaded else {
        return Ok(None);
    };
    let site = state.current_site().await?;
    let ctx = loaded.context(&site, &state.config);
    let r = render(&state.renderer, &ctx, reader)?;
    let page = state.config.absolute("/newsletters");
    let (text, html) = r.personalise(&page, &page);
    Ok(Some((
        loaded.issue,
        loaded.newsletter,
        Rendered {
            subject: r.subject,
            text,
            html,
        },
    )))
}

/// Queues a test copy of an issue to one address (the transactional lane),
/// its subject marked as a test; answers the outbox row.
pub async fn send_test(
    state: &crate::app::AppState,
    issue_id: i64,
    to: &str,
    reader: Reader,
) -> anyhow::Result<i64> {
    let (_, newsletter, r) = preview(state, issue_id, reader)
        .await?
        .ok_or_else(|| anyhow::anyhow!("there is no issue {issue_id}"))?;
    let site = state.current_site().await?;
    let from = super::send::sender_of(&state.config, &site, &newsletter)?.to_string();
    let mail = crate::mail::OutgoingMail::transactional(
        to,
        (format!("[Test] {}", r.subject), r.text, Some(r.html)),
    );
    let mut tx = state.db.begin().await?;
    let id = crate::mail::enqueue(
        tx.ex(),
        &mail,
        &from,
        state.now_micros(),
        &crate::mail::message_id_domain(&state.config),
    )
    .await
    .map_err(|e| match e {
        sqlx::Error::Encode(e) => anyhow::anyhow!("{e}"),
        e => e.into(),
    })?;
    tx.commit().await?;
    crate::mail::worker::wake();
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_spends_no_allowance() {
        use Level::*;
        use Reader::*;
        #[rustfmt::skip]
        let table = [
            (Free, Anonymous, true), (Free, Member, true), (Free, Subscriber, true),
            (Metered, Anonymous, false), (Metered, Member, false),
            (Metered, Subscriber, true), (Metered, Staff, true),
            (Subscribers, Anonymous, false), (Subscribers, Member, false),
            (Subscribers, Subscriber, true), (Subscribers, Staff, true),
        ];
        for (level, reader, whole) in table {
            assert_eq!(whole_in_mail(level, reader), whole, "{level:?} {reader:?}");
        }
    }

    #[test]
    fn personalising_fills_every_marker() {
        let r = Rendered {
            subject: "S".into(),
            text: format!("a {PREFERENCES_MARK} b {UNSUBSCRIBE_MARK} {PREFERENCES_MARK}"),
            html: format!("<a href=\"{UNSUBSCRIBE_MARK}\">x</a>"),
        };
        let (t, h) = r.personalise("https://p/1", "https://u/1");
        assert_eq!(t, "a https://p/1 b https://u/1 https://p/1");
        assert_eq!(h, "<a href=\"https://u/1\">x</a>");
    }
}
