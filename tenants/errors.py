"""Errors of tenancy: tenants and their API clients."""


class TenancyError(Exception):
    """Base of every tenancy rule broken."""


class TenantSlugInvalidError(TenancyError):
    """A slug breaks the rule: 2-40 lowercase letters, digits and hyphens."""


class TenantFieldInvalidError(TenancyError):
    """A tenant's name or ISIL is malformed."""


class TenantSlugTakenError(TenancyError):
    """Another tenant already has this slug (archived tenants keep theirs)."""


class TenantNotFoundError(TenancyError):
    """No tenant has this slug."""


class TenantStatusError(TenancyError):
    """The tenant's status does not allow this change."""


class ClientNotFoundError(TenancyError):
    """No API client has this id."""


class ClientScopeInvalidError(TenancyError):
    """A client was asked for a scope that does not exist or is not for its kind."""


class IdempotencyKeyReusedError(TenancyError):
    """An idempotency key came back with another operation or another input."""

    def __init__(self, message: str, first_operation: str) -> None:
        super().__init__(message)
        self.first_operation = first_operation


class IdempotencyKeyInvalidError(TenancyError):
    """An idempotency key that cannot be kept (empty, too long, control characters)."""


class ClientRevokedError(TenancyError):
    """The client is revoked: nothing more can change it."""


class TenantServerUnknownError(TenancyError):
    """A tenant was asked to live on a database server the configuration does not name."""


class TenantMoveError(TenancyError):
    """A tenant cannot be moved (or deleted) as asked."""
