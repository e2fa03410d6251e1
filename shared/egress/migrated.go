package egress

// EventMigrated closes the history of a request imported from the Python
// add-on's requests table (shared/migrate): the events before it were
// rebuilt from that table's item, not recorded as they happened.
const EventMigrated = "MIGRATED"

// ActorMigration is the actor of the events the import adds itself (the
// downloads summary and EventMigrated).
const ActorMigration = "migration"
