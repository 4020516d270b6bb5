"""Circulation figures: what each member holds, lends and is asked for, counted."""
