"""Errors of shared metadata."""


class SharingError(Exception):
    """Base of every sharing rule broken."""


class SharedRecordNotFoundError(SharingError):
    """No shared record has this id."""


class SharedRecordMergedError(SharingError):
    """The shared record was merged into another; use the survivor."""


class NotContributorError(SharingError):
    """Only the contributing library or the consortium office may do this."""


class MergeInvalidError(SharingError):
    """A shared record cannot be merged into itself or into one already merged."""


class UnionEntryNotFoundError(SharingError):
    """No union catalog entry has this id (or none of its members is in sight)."""


class RecordNotInEntryError(SharingError):
    """A record named is not in the union catalog entry named."""


class UnionOverrideInvalidError(SharingError):
    """A merge or split of union catalog entries that cannot be: too few entries, no
    record left, a note too long."""
