-- The publication: its settings, sections, topics, authors, photos and stories.
-- Type rules shared with the PostgreSQL migrations: ids are 64-bit integers,
-- instants are UTC microseconds since the Unix epoch, booleans are true/false.

create table settings (
    key text primary key,
    value text not null
);

-- Change counters that caches poll: a bump tells every instance that what it
-- rendered from the counted rows may be stale.
create table counters (
    name text primary key,
    value bigint not null
);
insert into counters (name, value) values ('content', 1);

create table sections (
    id integer primary key,
    slug text not null,
    name text not null,
    description text not null default '',
    position integer not null default 0,
    is_demo boolean not null default false,
    constraint sections_slug_key unique (slug)
);

create table topics (
    id integer primary key,
    slug text not null,
    name text not null,
    description text not null default '',
    is_demo boolean not null default false,
    constraint topics_slug_key unique (slug)
);

create table authors (
    id integer primary key,
    slug text not null,
    name text not null,
    kind text not null check (kind in ('person', 'agency')),
    short_name text not null default '',
    title text not null default '',
    bio text not null default '',
    is_demo boolean not null default false,
    constraint authors_slug_key unique (slug)
);

create table media (
    id integer primary key,
    sha256 text not null,
    ext text not null,
    mime text not null,
    width integer not null,
    height integer not null,
    byte_size bigint not null,
    created_at bigint not null,
    is_demo boolean not null default false,
    constraint media_sha256_key unique (sha256)
);

create table stories (
    id integer primary key,
    section_id bigint not null references sections (id),
    slug text not null,
    headline text not null,
    standfirst text not null default '',
    dateline text not null default '',
    body text not null,
    lead_media_id bigint references media (id),
    lead_alt text not null default '',
    lead_caption text not null default '',
    lead_credit text not null default '',
    access_level text not null default 'metered' check (access_level in ('free', 'metered', 'subscribers')),
    status text not null default 'draft' check (status in ('draft', 'published')),
    published_at bigint,
    updated_at bigint,
    modified_at bigint not null,
    version bigint not null default 1,
    is_demo boolean not null default false
);
create index stories_published_idx on stories (status, published_at desc);
create index stories_section_idx on stories (section_id, status, published_at desc);

create table story_authors (
    story_id bigint not null references stories (id) on delete cascade,
    author_id bigint not null references authors (id),
    position integer not null,
    primary key (story_id, author_id)
);
create index story_authors_author_idx on story_authors (author_id, story_id);

create table story_topics (
    story_id bigint not null references stories (id) on delete cascade,
    topic_id bigint not null references topics (id),
    primary key (story_id, topic_id)
);
create index story_topics_topic_idx on story_topics (topic_id, story_id);
