"""The shared acquisition read model: suggestions, orders and demand across members."""
