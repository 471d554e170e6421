"""The store, the only place with SQL: the database, the numbered schema, the archive, the ledger, decisions, digests, packets."""
