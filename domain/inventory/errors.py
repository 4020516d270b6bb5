"""Errors of inventory scans."""


class InventoryError(Exception):
    """Base of every inventory rule broken."""


class ScanNotFoundError(InventoryError):
    """No scan has this id in the library."""


class ScanStateError(InventoryError):
    """The scan is not in a state that allows this."""
