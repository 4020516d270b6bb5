"""ISO 18626's vocabulary and the rules of its state model: the supplier's statuses, the
requester's actions, which status may follow which, and which action each status allows."""

from __future__ import annotations

from domain.lending.errors import LendingTransitionError

REQUEST_RECEIVED = "RequestReceived"
EXPECT_TO_SUPPLY = "ExpectToSupply"
WILL_SUPPLY = "WillSupply"
LOANED = "Loaned"
OVERDUE = "Overdue"
RECALLED = "Recalled"
RETRY_POSSIBLE = "RetryPossible"
UNFILLED = "Unfilled"
COPY_COMPLETED = "CopyCompleted"
LOAN_COMPLETED = "LoanCompleted"
COMPLETED_WITHOUT_RETURN = "CompletedWithoutReturn"
CANCELLED = "Cancelled"

STATUSES = (REQUEST_RECEIVED, EXPECT_TO_SUPPLY, WILL_SUPPLY, LOANED, OVERDUE, RECALLED,
            RETRY_POSSIBLE, UNFILLED, COPY_COMPLETED, LOAN_COMPLETED,
            COMPLETED_WITHOUT_RETURN, CANCELLED)
FINAL = frozenset({UNFILLED, COPY_COMPLETED, LOAN_COMPLETED, COMPLETED_WITHOUT_RETURN,
                   CANCELLED})
# The copy is with the requester (or on its way there).
OUT = frozenset({LOANED, OVERDUE, RECALLED})
# The supplier has not shipped yet: the requester may still cancel.
OPEN = frozenset({REQUEST_RECEIVED, EXPECT_TO_SUPPLY, WILL_SUPPLY, RETRY_POSSIBLE})

RECEIVED = "Received"
SHIPPED_RETURN = "ShippedReturn"
CANCEL = "Cancel"
RENEW = "Renew"
STATUS_REQUEST = "StatusRequest"
NOTIFICATION = "Notification"
ACTIONS = (RECEIVED, SHIPPED_RETURN, CANCEL, RENEW, STATUS_REQUEST, NOTIFICATION)

# Which status may follow which (a status may also repeat: Loaned again after a renewal).
MOVES: dict[str, frozenset[str]] = {
    REQUEST_RECEIVED: frozenset({EXPECT_TO_SUPPLY, WILL_SUPPLY, RETRY_POSSIBLE, UNFILLED,
                                 LOANED, COPY_COMPLETED, CANCELLED}),
    EXPECT_TO_SUPPLY: frozenset({WILL_SUPPLY, RETRY_POSSIBLE, UNFILLED, LOANED,
                                 COPY_COMPLETED, CANCELLED}),
    RETRY_POSSIBLE: frozenset({EXPECT_TO_SUPPLY, WILL_SUPPLY, UNFILLED, LOANED, CANCELLED}),
    WILL_SUPPLY: frozenset({LOANED, UNFILLED, COPY_COMPLETED, CANCELLED}),
    LOANED: frozenset({LOANED, OVERDUE, RECALLED, LOAN_COMPLETED, COMPLETED_WITHOUT_RETURN}),
    OVERDUE: frozenset({LOANED, RECALLED, LOAN_COMPLETED, COMPLETED_WITHOUT_RETURN}),
    RECALLED: frozenset({OVERDUE, LOAN_COMPLETED, COMPLETED_WITHOUT_RETURN}),
}
# How far along the transaction a status is: a message that would move a request back is
# late (it was overtaken by one sent after it), not a new turn.
STAGE = {REQUEST_RECEIVED: 0, EXPECT_TO_SUPPLY: 1, RETRY_POSSIBLE: 1, WILL_SUPPLY: 2,
         LOANED: 3, OVERDUE: 4, RECALLED: 4, UNFILLED: 9, COPY_COMPLETED: 9,
         LOAN_COMPLETED: 9, COMPLETED_WITHOUT_RETURN: 9, CANCELLED: 9}


def check_status(value: str, field: str = "status") -> str:
    """One of ISO 18626's supplier statuses, as spelt there."""
    if value not in STATUSES:
        raise ValueError(f"{field}: {value!r} is not an ISO 18626 status ({', '.join(STATUSES)})")
    return value


def check_action(value: str, field: str = "action") -> str:
    """One of ISO 18626's requester actions, as spelt there."""
    if value not in ACTIONS:
        raise ValueError(f"{field}: {value!r} is not an ISO 18626 action ({', '.join(ACTIONS)})")
    return value


def may_follow(current: str, new: str) -> bool:
    """Whether the supplier may move a request from `current` to `new` directly."""
    return new in MOVES.get(current, frozenset())


def check_move(current: str, new: str, request: str) -> None:
    """A status that may not follow the current one is refused, naming both."""
    if not may_follow(current, new):
        raise LendingTransitionError(
            f"request {request} is {current}: it cannot become {new}"
            + (" (the transaction is over)" if current in FINAL else ""))


def is_late(current: str, new: str) -> bool:
    """A status from earlier in the transaction than the current one: a message overtaken
    by a later one (a WillSupply arriving after its Loaned), applied as history only. After
    the end, only the message's time tells a late message from an illegal one."""
    return current not in FINAL and STAGE[new] < STAGE[current]
