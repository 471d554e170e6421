"""Processing one taken input: parse, thread onto a dossier, judge, queue the reply."""
