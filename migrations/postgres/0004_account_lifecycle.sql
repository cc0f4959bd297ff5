-- The rest of the account lifecycle: sign-in by e-mailed link or code,
-- password reset, e-mail change. One-time tokens gain two purposes and what
-- those need. Type rules as in 0001: instants are UTC microseconds.

alter table auth_tokens drop constraint auth_tokens_purpose_check;
alter table auth_tokens add constraint auth_tokens_purpose_check
    check (purpose in ('verify', 'sign_in', 'reset', 'change_email'));

-- sign_in: the address the mail went to; the code works only with it.
-- change_email: the new address, which becomes the member's when the link is
-- used. As typed, and lower-case (compared).
alter table auth_tokens add column email text;
alter table auth_tokens add column email_normalized text;
-- sign_in: an HMAC (keyed with the site's secret key, bound to this row) of
-- the short code in the mail, so a copy of the database does not give the
-- code away even though codes are short.
alter table auth_tokens add column code_hash text;
-- Wrong codes typed for this token; after a few it is used up.
alter table auth_tokens add column attempts bigint not null default 0;

-- A typed code is looked up by the address it was sent to.
create index auth_tokens_email_idx on auth_tokens (email_normalized, purpose) where used_at is null;
