-- Comments (and, from WordPress, stories) brought from another platform.
-- An import is one run over one file; running the same file again resumes
-- or repeats that import under the same id and adds nothing twice.

create table imports (
    id integer primary key,
    -- disqus, wxr, comments-json
    kind text not null,
    file_name text not null,
    file_sha256 text not null,
    -- The flags it ran with (JSON object).
    options text not null default '{}',
    state text not null check (state in ('running', 'finished', 'failed', 'undone')),
    -- imported, skipped by reason, unmatched threads, authors (JSON object).
    counts text not null default '{}',
    started_at bigint not null,
    finished_at bigint
);
create index imports_file_idx on imports (kind, file_sha256);

-- Where a comment came from: the platform and its id there make a key, so
-- a second run of a file inserts nothing it inserted before; the parent's
-- id there is kept until the parent is found.
alter table comments add column source_kind text;
alter table comments add column source_parent text;
alter table comments add column import_identity_id bigint;
create unique index comments_source_key on comments (source_kind, source_id);
create index comments_import_idx on comments (import_id, id);
create index comments_identity_idx on comments (import_identity_id);

-- Threads of the old platform that matched no story: kept so they can be
-- matched later (a mapping file and the same import run again).
create table import_threads (
    id integer primary key,
    import_id bigint not null references imports (id) on delete cascade,
    source_id text not null,
    link text not null default '',
    identifier text not null default '',
    title text not null default '',
    posts bigint not null default 0,
    constraint import_threads_key unique (import_id, source_id)
);

-- The authors of imported comments ("unclaimed identities"). `verified`:
-- the old platform knew the address as a registered, non-anonymous
-- account's; only then is a member with that address, verified here,
-- offered the comments. Others are attached by a moderator.
create table import_identities (
    id integer primary key,
    import_id bigint not null references imports (id) on delete cascade,
    author_key text not null,
    name text not null,
    -- Normalised (lower case), or null when the platform gave none.
    email text,
    verified boolean not null default false,
    claimed_by bigint references members (id) on delete set null,
    claimed_at bigint,
    constraint import_identities_key unique (import_id, author_key)
);
create index import_identities_email_idx on import_identities (email);

-- Old addresses of imported stories, answered with a 301 to the new one.
create table redirects (
    id integer primary key,
    old_path text not null,
    story_id bigint not null references stories (id) on delete cascade,
    import_id bigint references imports (id) on delete cascade,
    constraint redirects_old_path_key unique (old_path)
);
