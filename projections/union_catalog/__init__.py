"""The union catalog: every member's records clustered into one entry per edition."""
