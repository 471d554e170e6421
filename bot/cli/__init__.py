"""The ``intake`` command line, one module per verb group."""
