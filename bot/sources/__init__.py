"""Where inputs come from: IMAP mailboxes, drop folders, Maildir."""
