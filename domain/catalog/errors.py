"""Errors of the catalog: records and items."""


class CatalogError(Exception):
    """Base of every catalog rule broken."""


class RecordNotFoundError(CatalogError):
    """No record has this id in the tenant."""


class RecordFieldInvalidError(CatalogError):
    """A record's field is missing or malformed (the message names it)."""


class ItemNotFoundError(CatalogError):
    """No item has this barcode (or EPC) in the tenant."""


class ItemFieldInvalidError(CatalogError):
    """An item's field is missing or malformed (the message names it)."""


class BarcodeTakenError(CatalogError):
    """Another item of the tenant already has this barcode."""


class EpcTakenError(CatalogError):
    """Another item of the tenant already carries this RFID EPC."""


class ItemWithdrawnError(CatalogError):
    """The item was withdrawn: it cannot be moved or changed any more."""


class RecordLinkedError(CatalogError):
    """The record shows a shared record's metadata: edit that, or unlink first."""


class RecordNotLinkedError(CatalogError):
    """The record is not linked to a shared record."""
