-- Comments on stories, what readers do to them (likes, reports), and the
-- moderators' record of what they decided.

-- A comment. `status` is what readers see of it: `visible`; `pending` (held
-- for a moderator, shown to its author as awaiting review); `rejected`
-- (refused by the guidelines check or a moderator, shown to no one but
-- kept for the record); `spam`; `deleted` (by its author or with their
-- account; the body is emptied, the row stays so replies keep their place).
create table comments (
    id integer primary key,
    story_id bigint not null references stories (id) on delete cascade,
    -- Null once the account is deleted (anonymised), or for an imported
    -- comment whose author has no account here.
    member_id bigint references members (id) on delete set null,
    parent_id bigint references comments (id),
    -- The top-level comment of the thread (itself for a top-level one).
    root_id bigint,
    depth bigint not null default 0,
    author_name text not null,
    body text not null,
    status text not null check (status in ('visible', 'pending', 'rejected', 'spam', 'deleted')),
    -- The guidelines check's verdict, reasons (JSON list) and scores (JSON).
    verdict text not null default 'approve',
    reasons text not null default '[]',
    scores text not null default '{}',
    created_at bigint not null,
    edited_at bigint,
    deleted_at bigint,
    like_count bigint not null default 0,
    -- Visible replies, at any depth below this one.
    reply_count bigint not null default 0,
    pinned boolean not null default false,
    featured boolean not null default false,
    -- The comment form's one-time token: a double submit makes one comment.
    idempotency_key text,
    -- Comments brought from another platform (the import that made them).
    import_id bigint,
    source_id text,
    constraint comments_idempotency_key unique (member_id, idempotency_key)
);
create index comments_story_idx on comments (story_id, status, created_at);
create index comments_root_idx on comments (root_id, created_at);
create index comments_member_idx on comments (member_id, created_at);
create index comments_queue_idx on comments (status, created_at);
create index comments_parent_idx on comments (parent_id);

create table comment_likes (
    comment_id bigint not null references comments (id) on delete cascade,
    member_id bigint not null references members (id) on delete cascade,
    created_at bigint not null,
    primary key (comment_id, member_id)
);

create table comment_reports (
    id integer primary key,
    comment_id bigint not null references comments (id) on delete cascade,
    member_id bigint references members (id) on delete set null,
    reason text not null check (reason in ('off_topic', 'abusive', 'personal', 'spam', 'other')),
    note text not null default '',
    created_at bigint not null,
    resolved_at bigint,
    constraint comment_reports_once unique (comment_id, member_id)
);
create index comment_reports_open_idx on comment_reports (resolved_at, comment_id);

-- Every moderator action, written in the same transaction as the action.
create table moderation_log (
    id integer primary key,
    moderator_id bigint references members (id) on delete set null,
    moderator_name text not null,
    action text not null,
    comment_id bigint references comments (id) on delete set null,
    member_id bigint references members (id) on delete set null,
    note text not null default '',
    created_at bigint not null
);
create index moderation_log_comment_idx on moderation_log (comment_id);
create index moderation_log_member_idx on moderation_log (member_id, created_at);

-- At most one reply mail per member and thread an hour.
create table comment_reply_mail (
    member_id bigint not null references members (id) on delete cascade,
    root_id bigint not null,
    sent_at bigint not null,
    primary key (member_id, root_id)
);

alter table stories add column comments_closed boolean not null default false;
-- Banned from commenting until this instant (a far future one: for good).
alter table members add column banned_until bigint;
-- Mail me when someone replies to my comments.
alter table members add column reply_mail boolean not null default false;
-- When the member last opened "My comments and replies".
alter table members add column comments_seen_at bigint;
