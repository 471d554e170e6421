"""dossier-intake: the intake desk daemon (watchers, store, scheduler, CLI)."""
