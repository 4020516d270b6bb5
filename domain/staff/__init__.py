"""Staff identity: the people who work for a library or the consortium office, their roles
and the scopes those roles grant, the password rules and the throttle of failed sign-ins."""
