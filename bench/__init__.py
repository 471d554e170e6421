"""Benchmarks of dossier-intake against the physical limit of each job (``bench/run.py``)."""
