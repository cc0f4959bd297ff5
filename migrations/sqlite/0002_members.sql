-- Members, their sessions, their meter reads and saved stories, and the
-- entitlements (subscriptions) that lift the meter.

create table members (
    id integer primary key,
    -- The address as the member typed it, and the form compared and kept
    -- unique (lower-case), because the two databases compare case differently.
    email text not null,
    email_normalized text not null,
    display_name text not null default '',
    -- argon2id PHC string; null for members who sign in by e-mailed link only.
    password_hash text,
    role text not null default 'member' check (role in ('member', 'contributor', 'editor', 'moderator', 'admin')),
    email_verified_at bigint,
    created_at bigint not null,
    constraint members_email_key unique (email_normalized)
);

-- A signed-in browser. The cookie holds a random token; the row holds only
-- its SHA-256, so a copy of the database signs no one in.
create table sessions (
    token_hash text primary key,
    member_id bigint not null references members (id) on delete cascade,
    csrf_token text not null,
    created_at bigint not null,
    last_seen_at bigint not null,
    expires_at bigint not null
);
create index sessions_member_idx on sessions (member_id);

-- One row per member, period (YYYY-MM in the publication's zone) and story.
create table meter_reads (
    member_id bigint not null references members (id) on delete cascade,
    period text not null,
    story_id bigint not null,
    read_at bigint not null,
    primary key (member_id, period, story_id)
);

create table saved_stories (
    member_id bigint not null references members (id) on delete cascade,
    story_id bigint not null references stories (id) on delete cascade,
    saved_at bigint not null,
    primary key (member_id, story_id)
);

-- A subscription is an entitlement with an end, checked against the clock,
-- so a missed cancellation cannot give free access for ever.
create table entitlements (
    id integer primary key,
    member_id bigint not null references members (id) on delete cascade,
    source text not null,
    starts_at bigint not null,
    valid_until bigint not null,
    event_id text not null,
    created_at bigint not null,
    revoked_at bigint,
    constraint entitlements_event_key unique (event_id)
);
create index entitlements_member_idx on entitlements (member_id, valid_until);

-- One-time tokens sent by e-mail (verify an address, sign in without a
-- password, reset a password). Only the token's SHA-256 is kept; a token is
-- used once, and expires.
create table auth_tokens (
    token_hash text primary key,
    purpose text not null check (purpose in ('verify', 'sign_in', 'reset')),
    member_id bigint not null references members (id) on delete cascade,
    created_at bigint not null,
    expires_at bigint not null,
    used_at bigint
);
create index auth_tokens_member_idx on auth_tokens (member_id);
