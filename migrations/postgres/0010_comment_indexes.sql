-- Indexes of comments that hold only the rows their queries ask for. Most
-- comments are shown, top-level and (when imported) have no member here,
-- and each index left out of a row's insert makes writing comments
-- quicker, an import's above all.

-- A member's comments: imported comments have none until claimed.
drop index comments_member_idx;
create index comments_member_idx on comments (member_id, created_at) where member_id is not null;

-- The moderators' queue reads held comments, oldest first (reported ones
-- are found through their open reports).
drop index comments_queue_idx;
create index comments_pending_idx on comments (status, created_at) where status = 'pending';

-- Replies of a comment.
drop index comments_parent_idx;
create index comments_parent_idx on comments (parent_id) where parent_id is not null;

-- The comments of an old platform's author.
drop index comments_identity_idx;
create index comments_identity_idx on comments (import_identity_id) where import_identity_id is not null;
