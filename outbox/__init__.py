"""What we send: receipts, defect notices, digests, packets, and their transports."""
