-- Indexes a bulk import (`masthead import … --bulk`) dropped while it
-- writes, with their definitions: built again at its end, or by the next
-- command that opens the store if the import stopped before.
create table set_aside_indexes (
    name text primary key,
    definition text not null
);
