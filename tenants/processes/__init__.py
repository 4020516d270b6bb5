"""Process managers: reactions to one tenant's (or the office's) events that issue commands
to the same or another tenant, exactly once per source event."""
