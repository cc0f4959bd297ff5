//! What an export carries: one record type per table, its columns and the
//! key it is paged (and written) by. The order of [`TABLES`] is the
//! dependency order: a record only refers to records written before it.
//!
//! The tables not listed are process state, named in [`NOT_EXPORTED`] with
//! the reason; a test checks that every table of the schema is in one list
//! or the other, so a new migration has to decide.

/// How a column is read, written and shown in a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A 64-bit integer (ids, instants in UTC microseconds, counts).
    Int,
    OptInt,
    Text,
    OptText,
    Bool,
    /// Text holding JSON: written into the record as JSON, not as a string.
    Json,
}

impl Kind {
    pub fn nullable(self) -> bool {
        matches!(self, Kind::OptInt | Kind::OptText)
    }
}

pub struct Table {
    /// The record's `type`.
    pub record: &'static str,
    pub table: &'static str,
    pub columns: &'static [(&'static str, Kind)],
    /// The columns the table is paged and written in order of: its primary
    /// key, or for comments (depth, id) so a parent comes before its replies.
    pub key: &'static [&'static str],
    /// Whether `id` is an identity column whose sequence PostgreSQL must be
    /// moved past the imported ids.
    pub identity: bool,
}

use Kind::*;

pub const TABLES: &[Table] = &[
    Table {
        record: "setting",
        table: "settings",
        columns: &[("key", Text), ("value", Json)],
        key: &["key"],
        identity: false,
    },
    Table {
        record: "section",
        table: "sections",
        columns: &[
            ("id", Int),
            ("slug", Text),
            ("name", Text),
            ("description", Text),
            ("position", Int),
            ("is_demo", Bool),
        ],
        key: &["id"],
        identity: true,
    },
    Table {
        record: "topic",
        table: "topics",
        columns: &[
            ("id", Int),
            ("slug", Text),
            ("name", Text),
            ("description", Text),
            ("is_demo", Bool),
        ],
        key: &["id"],
        identity: true,
    },
    Table {
        record: "author",
        table: "authors",
        columns: &[
            ("id", Int),
            ("slug", Text),
            ("name", Text),
            ("kind", Text),
            ("short_name", Text),
            ("title", Text),
            ("bio", Text),
            ("is_demo", Bool),
        ],
        key: &["id"],
        identity: true,
    },
    Table {
        record: "media",
        table: "media",
        columns: &[
            ("id", Int),
            ("sha256", Text),
            ("ext", Text),
            ("mime", Text),
            ("width", Int),
            ("height", Int),
            ("byte_size", Int),
            ("created_at", Int),
            ("is_demo", Bool),
        ],
        key: &["id"],
        identity: true,
    },
    Table {
        record: "story",
        table: "stories",
        columns: &[
            ("id", Int),
            ("section_id", Int),
            ("slug", Text),
            ("headline", Text),
            ("standfirst", Text),
            ("dateline", Text),
            ("body", Json),
            ("lead_media_id", OptInt),
            ("lead_alt", Text),
            ("lead_caption", Text),
            ("lead_credit", Text),
            ("access_level", Text),
            ("status", Text),
            ("published_at", OptInt),
            ("updated_at", OptInt),
            ("modified_at", Int),
            ("version", Int),
            ("is_demo", Bool),
            ("comments_closed", Bool),
        ],
        key: &["id"],
        identity: true,
    },
    Table {
        record: "story_author",
        table: "story_authors",
        columns: &[("story_id", Int), ("author_id", Int), ("position", Int)],
        key: &["story_id", "author_id"],
        identity: false,
    },
    Table {
        record: "story_topic",
        table: "story_topics",
        columns: &[("story_id", Int), ("topic_id", Int)],
        key: &["story_id", "topic_id"],
        identity: false,
    },
    Table {
        record: "member",
        table: "members",
        columns: &[
            ("id", Int),
            ("email", Text),
            ("email_normalized", Text),
            ("display_name", Text),
            ("password_hash", OptText),
            ("role", Text),
            ("email_verified_at", OptInt),
            ("created_at", Int),
            ("banned_until", OptInt),
            ("reply_mail", Bool),
            ("comments_seen_at", OptInt),
        ],
        key: &["id"],
        identity: true,
    },
    Table {
        record: "entitlement",
        table: "entitlements",
        columns: &[
            ("id", Int),
            ("member_id", Int),
            ("source", Text),
            ("starts_at", Int),
            ("valid_until", Int),
            ("event_id", Text),
            ("created_at", Int),
            ("revoked_at", OptInt),
        ],
        key: &["id"],
        identity: true,
    },
    Table {
        record: "saved_story",
        table: "saved_stories",
        columns: &[("member_id", Int), ("story_id", Int), ("saved_at", Int)],
        key: &["member_id", "story_id"],
        identity: false,
    },
    Table {
        record: "meter_read",
        table: "meter_reads",
        columns: &[
            ("member_id", Int),
            ("period", Text),
            ("story_id", Int),
            ("read_at", Int),
        ],
        key: &["member_id", "period", "story_id"],
        identity: false,
    },
    Table {
        record: "comment",
        table: "comments",
        columns: &[
            ("id", Int),
            ("story_id", Int),
            ("member_id", OptInt),
            ("parent_id", OptInt),
            ("root_id", OptInt),
            ("depth", Int),
            ("author_name", Text),
            ("body", Text),
            ("status", Text),
            ("verdict", Text),
            ("reasons", Json),
            ("scores", Json),
            ("created_at", Int),
            ("edited_at", OptInt),
            ("deleted_at", OptInt),
            ("like_count", Int),
            ("reply_count", Int),
            ("pinned", Bool),
            ("featured", Bool),
            ("idempotency_key", OptText),
            ("import_id", OptInt),
            ("source_id", OptText),
        ],
        key: &["depth", "id"],
        identity: true,
    },
    Table {
        record: "comment_like",
        table: "comment_likes",
        columns: &[("comment_id", Int), ("member_id", Int), ("created_at", Int)],
        key: &["comment_id", "member_id"],
        identity: false,
    },
    Table {
        record: "comment_report",
        table: "comment_reports",
        columns: &[
            ("id", Int),
            ("comment_id", Int),
            ("member_id", OptInt),
            ("reason", Text),
            ("note", Text),
            ("created_at", Int),
            ("resolved_at", OptInt),
        ],
        key: &["id"],
        identity: true,
    },
    Table {
        record: "moderation_action",
        table: "moderation_log",
        columns: &[
            ("id", Int),
            ("moderator_id", OptInt),
            ("moderator_name", Text),
            ("action", Text),
            ("comment_id", OptInt),
            ("member_id", OptInt),
            ("note", Text),
            ("created_at", Int),
        ],
        key: &["id"],
        identity: true,
    },
    Table {
        record: "newsletter",
        table: "newsletters",
        columns: &[
            ("id", Int),
            ("slug", Text),
            ("name", Text),
            ("description", Text),
            ("from_name", Text),
            ("from_address", Text),
            ("reply_to", Text),
            ("schedule", Text),
            ("kind", Text),
            ("subscribe_on_register", Bool),
            ("position", Int),
            ("archived_at", OptInt),
            ("created_at", Int),
        ],
        key: &["id"],
        identity: true,
    },
    Table {
        record: "subscriber",
        table: "subscribers",
        columns: &[
            ("id", Int),
            ("email", Text),
            ("email_normalized", Text),
            ("member_id", OptInt),
            ("created_at", Int),
        ],
        key: &["id"],
        identity: true,
    },
    Table {
        record: "subscription",
        table: "newsletter_subscriptions",
        columns: &[
            ("newsletter_id", Int),
            ("subscriber_id", Int),
            ("state", Text),
            ("source", Text),
            ("created_at", Int),
            ("confirmed_at", OptInt),
            ("unsubscribed_at", OptInt),
            ("updated_at", Int),
        ],
        key: &["newsletter_id", "subscriber_id"],
        identity: false,
    },
    Table {
        record: "consent",
        table: "consents",
        columns: &[
            ("id", Int),
            ("subscriber_id", Int),
            ("purpose", Text),
            ("granted", Bool),
            ("words", Text),
            ("source", Text),
            ("created_at", Int),
        ],
        key: &["id"],
        identity: true,
    },
    Table {
        record: "newsletter_issue",
        table: "newsletter_issues",
        columns: &[
            ("id", Int),
            ("newsletter_id", Int),
            ("subject", Text),
            ("intro", Text),
            ("story_ids", Json),
            ("state", Text),
            ("scheduled_at", OptInt),
            ("expanded_through", Int),
            ("expanded_at", OptInt),
            ("created_by", OptInt),
            ("created_at", Int),
            ("updated_at", Int),
            ("started_at", OptInt),
            ("finished_at", OptInt),
        ],
        key: &["id"],
        identity: true,
    },
    Table {
        record: "issue_recipient",
        table: "issue_recipients",
        columns: &[
            ("issue_id", Int),
            ("subscriber_id", Int),
            ("email", Text),
            ("member_id", OptInt),
            ("state", Text),
            ("attempts", Int),
            ("next_attempt_at", Int),
            ("lease_until", OptInt),
            ("last_error", Text),
            ("sent_at", OptInt),
        ],
        key: &["issue_id", "subscriber_id"],
        identity: false,
    },
    Table {
        record: "mail_suppression",
        table: "mail_suppressions",
        columns: &[
            ("email_normalized", Text),
            ("reason", Text),
            ("detail", Text),
            ("created_at", Int),
        ],
        key: &["email_normalized"],
        identity: false,
    },
    Table {
        record: "mail_event",
        table: "mail_events",
        columns: &[
            ("id", Int),
            ("email_normalized", Text),
            ("kind", Text),
            ("issue_id", OptInt),
            ("detail", Text),
            ("source", Text),
            ("created_at", Int),
        ],
        key: &["id"],
        identity: true,
    },
];

/// Tables an export leaves out, and why: each holds the state of a running
/// process, not the publication.
pub const NOT_EXPORTED: &[(&str, &str)] = &[
    ("counters", "cache change counters; an import bumps its own"),
    (
        "sessions",
        "signed-in browsers; members sign in again on the new store",
    ),
    (
        "auth_tokens",
        "one-time links and codes in flight; they expire within hours",
    ),
    (
        "mail_outbox",
        "mail waiting for delivery; let the worker empty it before exporting",
    ),
    (
        "comment_reply_mail",
        "the one-reply-mail-an-hour rate counter",
    ),
    (
        "_sqlx_migrations",
        "the schema's own version, made by `masthead migrate`",
    ),
];

pub fn by_record(record: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.record == record)
}
