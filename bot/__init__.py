"""The intake desk: sources, store, processing, officers, digests, packets upstream, health and the CLI."""
