"""Delivering outgoing mail: the queue, the sender loop, SMTP and file transports."""
