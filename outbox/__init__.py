"""What we send: mails composed and finished, their delivery queue and transports, and the documents."""
