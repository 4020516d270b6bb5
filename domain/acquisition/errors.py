"""Errors of acquisition: suggestions, orders and the office's settings."""


class AcquisitionError(Exception):
    """Base of every acquisition rule broken."""


class WantedInvalidError(AcquisitionError):
    """What is wanted is not said well enough: no union entry, title or ISBN, or a malformed
    one (the message names the field)."""


class WantedEntryNotFoundError(AcquisitionError):
    """No union catalog entry has this id."""


class CopiesInvalidError(AcquisitionError):
    """An order's number of copies is not a whole number from 1 to the most one order takes."""


class PriceInvalidError(AcquisitionError):
    """A price is not a positive amount in cents a library could pay, in a known currency."""


class OrderNotFoundError(AcquisitionError):
    """No order has this id in the library."""


class SuggestionNotFoundError(AcquisitionError):
    """No purchase suggestion has this id in the library."""


class OrderCancelledError(AcquisitionError):
    """The order was cancelled: it cannot be received."""


class OrderReceivedError(AcquisitionError):
    """The order was received: it cannot be cancelled or received again."""


class ReceiptInvalidError(AcquisitionError):
    """What was received does not match the order (the message names the field)."""
