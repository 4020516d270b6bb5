"""Errors of inventory scans."""


class InventoryError(Exception):
    """Base of every inventory rule broken."""


class ScanNotFoundError(InventoryError):
    """No scan has this id in the library."""


class ScanStateError(InventoryError):
    """The scan is not in a state that allows this."""


class RobotProfileInvalidError(InventoryError):
    """A robot profile's field is out of range; `field` names it."""

    def __init__(self, field: str, expected: str) -> None:
        super().__init__(f"{field}: {expected}")
        self.field = field
