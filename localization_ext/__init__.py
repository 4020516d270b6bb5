"""RFID localization: a Cython kernel and its numpy twin (standalone)."""
