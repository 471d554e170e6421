"""Composing outgoing mail: replies, decision mails, packet mails, headers, threads, loops, templates."""
