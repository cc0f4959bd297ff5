-- The mail outbox: every mail is a row here first, written in the same
-- transaction as what caused it, then claimed and delivered by a worker.
-- Type rules as in 0001: ids are 64-bit integers, instants are UTC
-- microseconds since the Unix epoch, booleans are true/false.

create table mail_outbox (
    id integer primary key,
    -- Transactional mail (sign-in links, verifications, replies) is claimed
    -- ahead of bulk mail (newsletters).
    lane text not null check (lane in ('transactional', 'bulk')),
    to_address text not null,
    from_address text not null,
    reply_to text,
    subject text not null,
    text_body text not null,
    html_body text,
    -- Extra headers (List-Unsubscribe ...) as a JSON object of name to value.
    headers text not null default '{}',
    -- Made at enqueue and sent on every attempt, so a repeat is recognisable.
    message_id text not null,
    state text not null default 'queued' check (state in ('queued', 'sent', 'failed')),
    -- Delivery attempts started (counted when a worker claims the row).
    attempts integer not null default 0,
    next_attempt_at bigint not null,
    -- While set and in the future, a worker holds the row; a worker that dies
    -- leaves it to expire, and the row is claimed again.
    lease_until bigint,
    last_error text not null default '',
    created_at bigint not null,
    sent_at bigint,
    constraint mail_outbox_message_id_key unique (message_id)
);

-- Claiming reads the due queued rows of one lane, oldest first.
create index mail_outbox_due on mail_outbox (lane, next_attempt_at, id) where state = 'queued';
