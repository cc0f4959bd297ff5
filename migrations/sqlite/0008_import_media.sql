-- Photos a WordPress import stored that were not in the library before
-- (`masthead import wxr --uploads DIR`): its undo removes those no other
-- story uses. A photo the library already had is not listed, so an undo
-- never takes away a picture it did not bring.

create table import_media (
    import_id bigint not null references imports (id) on delete cascade,
    media_id bigint not null references media (id) on delete cascade,
    primary key (import_id, media_id)
);
create index import_media_media_idx on import_media (media_id);
