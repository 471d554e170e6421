"""Keeping the desk alive and saying when it is not: store-fault backoff, stall alerts, health, watchdog."""
