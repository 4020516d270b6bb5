"""Per-tenant activity: events per aggregate type per day."""
