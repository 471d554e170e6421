"""The officers' digest: what to report and when."""
