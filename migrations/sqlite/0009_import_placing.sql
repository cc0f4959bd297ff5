-- Replies an import wrote at the top level because their parent was not
-- stored yet (it came later in the file, or is in another file): few, and
-- looked up at the end of every import to put them under their parent.
create index comments_unplaced_idx on comments (source_kind, id)
    where parent_id is null and source_parent is not null;
