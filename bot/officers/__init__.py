"""Officers: decisions by command line and by mail, and carrying them out."""
