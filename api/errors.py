"""One place that maps every expected failure to its HTTP status and stable code."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.auth import AuthError
from domain.acquisition.errors import (
    AcquisitionError,
    CopiesInvalidError,
    OrderCancelledError,
    OrderNotFoundError,
    OrderReceivedError,
    PriceInvalidError,
    ReceiptInvalidError,
    SuggestionNotFoundError,
    WantedEntryNotFoundError,
    WantedInvalidError,
)
from domain.catalog.errors import (
    BarcodeTakenError,
    CatalogError,
    EpcTakenError,
    ItemFieldInvalidError,
    ItemNotFoundError,
    ItemWithdrawnError,
    RecordFieldInvalidError,
    RecordLinkedError,
    RecordNotFoundError,
    RecordNotLinkedError,
)
from domain.circulation.errors import (
    CirculationError,
    HeldForAnotherError,
    HoldExistsError,
    HoldNotFoundError,
    HoldWaitingError,
    ItemNotAvailableError,
    LimitReachedError,
    NotOnLoanError,
    PatronBarcodeTakenError,
    PatronBlockedError,
    PatronErasedError,
    PatronExpiredError,
    PatronFieldInvalidError,
    PatronHasLoansError,
    PatronNotFoundError,
    PolicyInvalidError,
    RenewalLimitError,
)
from domain.inventory.errors import InventoryError, ScanNotFoundError, ScanStateError
from domain.lending.errors import (
    LendingError,
    LendingInputInvalidError,
    LendingRequestNotFoundError,
    LendingTransitionError,
)
from domain.shared.errors import DescriptionInvalidError
from domain.sharing.errors import (
    MergeInvalidError,
    NotContributorError,
    RecordNotInEntryError,
    SharedRecordMergedError,
    SharedRecordNotFoundError,
    SharingError,
    UnionEntryNotFoundError,
    UnionOverrideInvalidError,
)
from domain.staff.errors import (
    PasswordRejectedError,
    StaffError,
    StaffFieldInvalidError,
    StaffRoleInvalidError,
    StaffUserDisabledError,
    StaffUsernameTakenError,
    StaffUserNotFoundError,
)
from tenants.errors import (
    ClientNotFoundError,
    ClientRevokedError,
    ClientScopeInvalidError,
    IdempotencyKeyInvalidError,
    IdempotencyKeyReusedError,
    TenancyError,
    TenantFieldInvalidError,
    TenantMoveError,
    TenantNotFoundError,
    TenantServerUnknownError,
    TenantSlugInvalidError,
    TenantSlugTakenError,
    TenantStatusError,
)

DOMAIN_ERRORS: dict[type[Exception], tuple[int, str]] = {
    TenantSlugInvalidError: (422, "INVALID_INPUT"),
    TenantFieldInvalidError: (422, "INVALID_INPUT"),
    TenantServerUnknownError: (422, "INVALID_INPUT"),
    TenantMoveError: (409, "CONFLICT"),
    ClientScopeInvalidError: (422, "INVALID_INPUT"),
    TenantSlugTakenError: (409, "CONFLICT"),
    TenantStatusError: (409, "CONFLICT"),
    TenantNotFoundError: (404, "NOT_FOUND"),
    ClientNotFoundError: (404, "NOT_FOUND"),
    ClientRevokedError: (409, "CONFLICT"),
    RecordNotFoundError: (404, "NOT_FOUND"),
    ItemNotFoundError: (404, "NOT_FOUND"),
    RecordFieldInvalidError: (422, "INVALID_INPUT"),
    DescriptionInvalidError: (422, "INVALID_INPUT"),
    ItemFieldInvalidError: (422, "INVALID_INPUT"),
    BarcodeTakenError: (409, "BARCODE_TAKEN"),
    EpcTakenError: (409, "EPC_TAKEN"),
    ItemWithdrawnError: (409, "ITEM_WITHDRAWN"),
    RecordLinkedError: (409, "RECORD_LINKED"),
    RecordNotLinkedError: (409, "RECORD_NOT_LINKED"),
    SharedRecordNotFoundError: (404, "NOT_FOUND"),
    SharedRecordMergedError: (409, "SHARED_RECORD_MERGED"),
    NotContributorError: (403, "FORBIDDEN"),
    MergeInvalidError: (422, "INVALID_INPUT"),
    UnionEntryNotFoundError: (404, "NOT_FOUND"),
    RecordNotInEntryError: (422, "RECORD_NOT_IN_ENTRY"),
    UnionOverrideInvalidError: (422, "INVALID_INPUT"),
    PatronNotFoundError: (404, "NOT_FOUND"),
    PatronFieldInvalidError: (422, "INVALID_INPUT"),
    PatronBarcodeTakenError: (409, "PATRON_BARCODE_TAKEN"),
    PatronBlockedError: (409, "PATRON_BLOCKED"),
    PatronExpiredError: (409, "PATRON_EXPIRED"),
    PatronErasedError: (409, "PATRON_ERASED"),
    PatronHasLoansError: (409, "PATRON_HAS_LOANS"),
    LimitReachedError: (409, "LIMIT_REACHED"),
    ItemNotAvailableError: (409, "ITEM_NOT_AVAILABLE"),
    HeldForAnotherError: (409, "HELD_FOR_ANOTHER_PATRON"),
    NotOnLoanError: (409, "NOT_ON_LOAN"),
    RenewalLimitError: (409, "RENEWAL_LIMIT_REACHED"),
    HoldWaitingError: (409, "HOLD_WAITING"),
    HoldExistsError: (409, "HOLD_EXISTS"),
    HoldNotFoundError: (404, "NOT_FOUND"),
    PolicyInvalidError: (422, "INVALID_INPUT"),
    IdempotencyKeyReusedError: (422, "IDEMPOTENCY_KEY_REUSED"),
    IdempotencyKeyInvalidError: (422, "INVALID_INPUT"),
    ScanNotFoundError: (404, "NOT_FOUND"),
    ScanStateError: (409, "CONFLICT"),
    WantedInvalidError: (422, "INVALID_INPUT"),
    WantedEntryNotFoundError: (404, "UNION_ENTRY_NOT_FOUND"),
    CopiesInvalidError: (422, "COPIES_INVALID"),
    PriceInvalidError: (422, "PRICE_INVALID"),
    ReceiptInvalidError: (422, "INVALID_INPUT"),
    OrderNotFoundError: (404, "NOT_FOUND"),
    SuggestionNotFoundError: (404, "NOT_FOUND"),
    OrderCancelledError: (409, "ORDER_CANCELLED"),
    OrderReceivedError: (409, "ORDER_RECEIVED"),
    LendingRequestNotFoundError: (404, "NOT_FOUND"),
    LendingTransitionError: (409, "ILLEGAL_TRANSITION"),
    LendingInputInvalidError: (422, "INVALID_INPUT"),
    StaffFieldInvalidError: (422, "INVALID_INPUT"),
    StaffRoleInvalidError: (422, "INVALID_INPUT"),
    PasswordRejectedError: (422, "INVALID_INPUT"),
    StaffUsernameTakenError: (409, "USERNAME_TAKEN"),
    StaffUserNotFoundError: (404, "NOT_FOUND"),
    StaffUserDisabledError: (409, "CONFLICT"),
}


def status_and_code(error: Exception) -> tuple[int, str]:
    """The HTTP status and stable code of an expected failure (500/INTERNAL otherwise)."""
    if isinstance(error, AuthError):
        return error.status, error.code
    for kind in type(error).__mro__:
        if kind in DOMAIN_ERRORS:
            return DOMAIN_ERRORS[kind]
    return 500, "INTERNAL"


def _body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"detail": message, "code": code, **extra}


def install(app: FastAPI) -> None:
    """Registers the handlers that turn failures into clear JSON answers."""

    @app.exception_handler(AuthError)
    async def on_auth(_: Request, error: AuthError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return JSONResponse(_body(error.code, error.message), error.status, headers=headers)

    @app.exception_handler(TenancyError)
    @app.exception_handler(CatalogError)
    @app.exception_handler(SharingError)
    @app.exception_handler(CirculationError)
    @app.exception_handler(InventoryError)
    @app.exception_handler(AcquisitionError)
    @app.exception_handler(LendingError)
    @app.exception_handler(DescriptionInvalidError)
    @app.exception_handler(StaffError)
    async def on_domain(_: Request, error: Exception) -> JSONResponse:
        status, code = status_and_code(error)
        return JSONResponse(_body(code, str(error)), status)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
            for e in error.errors()
        ]
        if any(e.get("type") == "json_invalid" for e in error.errors()):
            return JSONResponse(_body("MALFORMED_JSON", "the body is not valid JSON: "
                                      + "; ".join(p["problem"] for p in problems),
                                      errors=problems), 400)
        summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        return JSONResponse(_body("INVALID_INPUT", f"invalid input: {summary}", errors=problems),
                            422)

    @app.exception_handler(HTTPException)
    async def on_http(_: Request, error: HTTPException) -> JSONResponse:
        code = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
                409: "CONFLICT", 413: "TOO_LARGE", 415: "UNSUPPORTED_FORMAT",
                422: "INVALID_INPUT"}.get(
            error.status_code, "HTTP_ERROR")
        return JSONResponse(_body(code, str(error.detail)), error.status_code)
