"""Errors of the shared value objects."""


class DescriptionInvalidError(ValueError):
    """A bibliographic description's field is missing or malformed (the message names it)."""
