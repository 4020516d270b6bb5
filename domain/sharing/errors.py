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
