"""The notice's rules as a catalogue of findings, and campaign profiles."""
