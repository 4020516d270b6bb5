"""Read models fed from the event pipeline."""
