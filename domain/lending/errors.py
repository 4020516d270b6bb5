"""Errors of interlibrary lending; each has a stable code in the API (see api/errors.py)."""


class LendingError(Exception):
    """Base of every interlibrary-lending rule broken."""


class LendingRequestNotFoundError(LendingError):
    """No interlibrary request of this library has this id."""


class LendingTransitionError(LendingError):
    """The request's state does not allow this status or action (the message names both)."""


class LendingInputInvalidError(LendingError):
    """A field of a lending command is missing or malformed (the message names it)."""

