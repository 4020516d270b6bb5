"""Circulation: patrons, loan policies, loans, renewals and holds."""
