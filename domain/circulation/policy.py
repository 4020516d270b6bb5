"""Loan policies: per patron group and material type, with the library's defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.circulation.errors import PolicyInvalidError

ANY = "*"  # a policy for every patron group, or every material type


@dataclass(frozen=True)
class LoanPolicy:
    """How long, how often, how many."""

    loan_days: int = 21
    max_renewals: int = 2
    max_loans: int = 10
    hold_blocks_renewal: bool = True
    hold_shelf_days: int = 7

    def checked(self) -> LoanPolicy:
        """The policy, or the first value out of range."""
        for name, low, high in (("loan_days", 1, 3650), ("max_renewals", 0, 100),
                                ("max_loans", 0, 10_000), ("hold_shelf_days", 1, 365)):
            value = getattr(self, name)
            if not isinstance(value, int) or not low <= value <= high:
                raise PolicyInvalidError(f"{name}: {value!r} is out of range {low}-{high}")
        return self


DEFAULT = LoanPolicy()


class LoanPolicies(Aggregate):
    """The library's policies; the most specific one applies (group and type, then group,
    then type, then the library's default)."""

    class Started(Aggregate.Created):
        pass

    class PolicySet(Aggregate.Event):
        patron_group: str
        material_type: str
        policy: dict[str, Any]

    @staticmethod
    def create_id() -> UUID:
        """One per tenant."""
        return uuid5(NAMESPACE_URL, "commonshelf:loan-policies")

    @event(Started)
    def __init__(self) -> None:
        self.rules: dict[str, dict[str, Any]] = {}

    def set(self, patron_group: str, material_type: str, policy: LoanPolicy) -> None:
        """Sets the policy for a group and a type ("*" for any)."""
        group, material = patron_group.strip().lower(), material_type.strip().lower()
        if not group or not material:
            raise PolicyInvalidError("patronGroup and materialType: give one each, or '*'")
        self._set(group, material, asdict(policy.checked()))

    @event(PolicySet)
    def _set(self, patron_group: str, material_type: str, policy: dict[str, Any]) -> None:
        self.rules[f"{patron_group}|{material_type}"] = policy

    def for_loan(self, patron_group: str, material_type: str) -> LoanPolicy:
        """The policy that applies to this group borrowing this type."""
        for key in (f"{patron_group}|{material_type}", f"{patron_group}|{ANY}",
                    f"{ANY}|{material_type}", f"{ANY}|{ANY}"):
            if key in self.rules:
                return LoanPolicy(**self.rules[key])
        return DEFAULT
