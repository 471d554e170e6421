"""The IMAP source: connect, watch (IDLE + resync), post-actions."""
