"""The desk's pages, one module per group; each exposes ``routes()``."""
