-- Newsletters: the lists staff define, the addresses that receive them and
-- what each reader agreed to, the issues sent and their recipients, and the
-- addresses no bulk mail goes to (bounces, complaints).
-- Type rules as in 0001: ids are 64-bit integers, instants are UTC
-- microseconds since the Unix epoch, booleans are true/false.

create table newsletters (
    id integer primary key,
    slug text not null,
    name text not null,
    description text not null default '',
    -- The sender; an empty address means the publication's own sender.
    from_name text not null default '',
    from_address text not null default '',
    reply_to text not null default '',
    -- Shown to readers ("Every weekday at 6 am"); sending is up to staff.
    schedule text not null default '',
    -- `offers` mail goes only to readers who gave their explicit consent.
    kind text not null default 'editorial' check (kind in ('editorial', 'offers')),
    -- Members are subscribed when they register (never to offers).
    subscribe_on_register boolean not null default false,
    position bigint not null default 0,
    archived_at bigint,
    created_at bigint not null,
    constraint newsletters_slug_key unique (slug)
);

-- One row per address that receives, or asked to receive, any newsletter:
-- a member's address or an anonymous visitor's. Unsubscribe and preference
-- links name this row, so they work without signing in.
create table subscribers (
    id integer primary key,
    email text not null,
    email_normalized text not null,
    -- The member whose address this is, if any.
    member_id bigint references members (id) on delete set null,
    created_at bigint not null,
    constraint subscribers_email_key unique (email_normalized),
    constraint subscribers_member_key unique (member_id)
);

-- A subscriber's subscription to one newsletter. `pending` waits for the
-- confirmation of a double opt-in; only `active` rows receive issues.
create table newsletter_subscriptions (
    newsletter_id bigint not null references newsletters (id) on delete cascade,
    subscriber_id bigint not null references subscribers (id) on delete cascade,
    state text not null check (state in ('pending', 'active', 'unsubscribed')),
    -- Where it was asked for: story, newsletter-page, account, registration,
    -- preferences, import, admin.
    source text not null default '',
    created_at bigint not null,
    confirmed_at bigint,
    unsubscribed_at bigint,
    updated_at bigint not null,
    primary key (newsletter_id, subscriber_id)
);
create index newsletter_subscriptions_subscriber on newsletter_subscriptions (subscriber_id);

-- What a reader agreed to, or withdrew, and when, where and in what words:
-- append-only, the latest row of a purpose is in force.
create table consents (
    id integer primary key,
    subscriber_id bigint not null references subscribers (id) on delete cascade,
    purpose text not null check (purpose in ('offers')),
    granted boolean not null,
    -- The words next to the box the reader ticked, as shown.
    words text not null,
    source text not null,
    created_at bigint not null
);
create index consents_subscriber on consents (subscriber_id, purpose, id);

-- An issue of a newsletter, composed by staff. Its recipients are copied
-- from the active subscriptions in batches (`expanded_through` is the last
-- subscriber id copied), then delivered by the mail workers.
create table newsletter_issues (
    id integer primary key,
    newsletter_id bigint not null references newsletters (id) on delete cascade,
    subject text not null,
    intro text not null default '',
    -- The stories, in order: a JSON array of story ids.
    story_ids text not null default '[]',
    state text not null default 'draft'
        check (state in ('draft', 'scheduled', 'sending', 'sent', 'cancelled')),
    scheduled_at bigint,
    expanded_through bigint not null default 0,
    expanded_at bigint,
    created_by bigint references members (id) on delete set null,
    created_at bigint not null,
    updated_at bigint not null,
    started_at bigint,
    finished_at bigint
);
create index newsletter_issues_newsletter on newsletter_issues (newsletter_id, id);

-- One row per (issue, recipient): the key that makes expansion idempotent
-- and the unit a worker claims. The message itself is rendered at send time
-- for the recipient's kind of reader; its Message-ID is derived from this key.
create table issue_recipients (
    issue_id bigint not null references newsletter_issues (id) on delete cascade,
    subscriber_id bigint not null,
    email text not null,
    member_id bigint,
    -- `skipped`: suppressed or unsubscribed by the time its turn came.
    state text not null default 'queued' check (state in ('queued', 'sent', 'failed', 'skipped')),
    attempts bigint not null default 0,
    next_attempt_at bigint not null,
    lease_until bigint,
    last_error text not null default '',
    sent_at bigint,
    primary key (issue_id, subscriber_id)
);
create index issue_recipients_due on issue_recipients (next_attempt_at, issue_id, subscriber_id) where state = 'queued';

-- Addresses no bulk mail goes to: hard bounces, complaints, soft bounces past
-- the threshold, and addresses an admin added by hand.
create table mail_suppressions (
    email_normalized text primary key,
    reason text not null check (reason in ('hard_bounce', 'soft_bounces', 'complaint', 'manual')),
    detail text not null default '',
    created_at bigint not null
);

-- What came back: bounces, complaints, unsubscribes by mail. Soft bounces
-- are counted from here.
create table mail_events (
    id integer primary key,
    email_normalized text not null,
    kind text not null check (kind in ('hard_bounce', 'soft_bounce', 'complaint', 'unsubscribe')),
    issue_id bigint,
    detail text not null default '',
    -- `mail` (ingested), `webhook`, `admin`.
    source text not null,
    created_at bigint not null
);
create index mail_events_email on mail_events (email_normalized, kind, created_at);
