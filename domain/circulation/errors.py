"""Errors of circulation; each has a stable code in the API (see api/errors.py)."""


class CirculationError(Exception):
    """Base of every circulation rule broken."""


class PatronNotFoundError(CirculationError):
    """No patron has this barcode (or id) in the library."""


class PatronFieldInvalidError(CirculationError):
    """A patron's field is missing or malformed (the message names it)."""


class PatronBarcodeTakenError(CirculationError):
    """Another patron of the library has this barcode."""


class PatronBlockedError(CirculationError):
    """The patron is blocked (the message says why)."""


class PatronExpiredError(CirculationError):
    """The patron's registration has expired."""


class PatronErasedError(CirculationError):
    """The patron was erased: nothing more can be done for them."""


class PatronHasLoansError(CirculationError):
    """A patron with items on loan cannot be erased."""


class LimitReachedError(CirculationError):
    """The patron has as many items on loan as the policy allows."""


class ItemNotAvailableError(CirculationError):
    """The item cannot be lent now (on loan, in transit, missing, lost, withdrawn)."""


class CopyUnknownError(CirculationError):
    """Circulation does not know the copy's facts yet: give the copy as the catalog has it."""


class HeldForAnotherError(CirculationError):
    """The item waits on the hold shelf for another patron."""


class NotOnLoanError(CirculationError):
    """The item is not on loan (nor, to be found again, lost)."""


class RenewalLimitError(CirculationError):
    """The loan was renewed as often as the policy allows."""


class HoldWaitingError(CirculationError):
    """Another patron waits for this title, and the policy lets that block renewals."""


class HoldExistsError(CirculationError):
    """The patron already holds a place in this title's queue."""


class HoldNotFoundError(CirculationError):
    """No waiting hold has this id."""


class PolicyInvalidError(CirculationError):
    """A loan policy's value is out of range (the message names it)."""
