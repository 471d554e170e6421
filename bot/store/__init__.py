"""The store: SQLite access and schema, the content-addressed archive, the ledger, facts codec, decisions."""
