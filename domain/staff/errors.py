"""Errors of staff identity."""


class StaffError(Exception):
    """Base of every staff identity rule broken."""


class StaffFieldInvalidError(StaffError):
    """A staff user's field is missing or malformed (the message names it)."""


class StaffRoleInvalidError(StaffError):
    """A role is unknown, or not for this kind of tenant (office or library)."""


class PasswordRejectedError(StaffError):
    """A new password breaks the password rules (the message says which and what to do)."""


class StaffUsernameTakenError(StaffError):
    """Another staff user of the tenant already has this username."""


class StaffUserNotFoundError(StaffError):
    """No staff user has this username (or id) in the tenant."""


class StaffUserDisabledError(StaffError):
    """The account is disabled: it cannot sign in, and its sessions have ended."""
