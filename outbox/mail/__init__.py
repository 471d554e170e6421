"""Composing outgoing mail: replies, decision mails, packet mails, alerts, headers, threads, loops; wording in templates/."""
