-- The rest of the account lifecycle: sign-in by e-mailed link or code,
-- password reset, e-mail change. One-time tokens gain two purposes and what
-- those need. Type rules as in 0001: instants are UTC microseconds.
--
-- SQLite cannot change a check constraint in place, so the table is made
-- again with the same rows (nothing references auth_tokens).

create table auth_tokens_new (
    token_hash text primary key,
    purpose text not null check (purpose in ('verify', 'sign_in', 'reset', 'change_email')),
    member_id bigint not null references members (id) on delete cascade,
    -- sign_in: the address the mail went to; the code works only with it.
    -- change_email: the new address, which becomes the member's when the
    -- link is used. As typed, and lower-case (compared).
    email text,
    email_normalized text,
    -- sign_in: an HMAC (keyed with the site's secret key, bound to this row)
    -- of the short code in the mail, so a copy of the database does not give
    -- the code away even though codes are short.
    code_hash text,
    -- Wrong codes typed for this token; after a few it is used up.
    attempts bigint not null default 0,
    created_at bigint not null,
    expires_at bigint not null,
    used_at bigint
);

insert into auth_tokens_new (token_hash, purpose, member_id, created_at, expires_at, used_at)
select token_hash, purpose, member_id, created_at, expires_at, used_at from auth_tokens;

drop table auth_tokens;
alter table auth_tokens_new rename to auth_tokens;

create index auth_tokens_member_idx on auth_tokens (member_id);
-- A typed code is looked up by the address it was sent to.
create index auth_tokens_email_idx on auth_tokens (email_normalized, purpose) where used_at is null;
