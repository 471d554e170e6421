"""The next level: ranking, the summary, building and sending packets, packet intake."""
