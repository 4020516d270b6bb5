"""What the domain contexts share: value objects and their rules (no context of its own)."""
