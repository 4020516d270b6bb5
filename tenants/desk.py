"""The circulation desk of one library: finds patrons through the vault and items through
the catalog, runs circulation's use cases, and keeps personal data sealed.

Shared by the GraphQL mutations and the pickup sweeper; nothing here speaks HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, Protocol, TypeVar

from domain.catalog.errors import ItemNotFoundError
from domain.catalog.item import Item, check_barcode
from domain.circulation.application import Card, Copy, Erasure
from domain.circulation.errors import (
    CopyUnknownError,
    NotOnLoanError,
    PatronBarcodeTakenError,
    PatronNotFoundError,
)
from domain.circulation.item_lending import ItemLending
from domain.circulation.patron import Patron, check_patron
from domain.circulation.policy import LoanPolicy
from domain.shared.application import Receipt
from infra.vault import BarcodeTakenError, PatronKey
from tenants.scope import TenantScope

log = logging.getLogger(__name__)
T = TypeVar("T")


class LendingReads(Protocol):
    """What the desk reads of the circulation view."""

    def item_on_loan(self, tenant: str, loan_id: str) -> str | None:
        """The barcode of the item an open loan lends."""

    def lending(self, tenant: str, item_id: str) -> dict[str, Any] | None:
        """An item's lending state."""

    def expired_pickups(self, now: datetime) -> list[tuple[str, str]]:
        """(tenant, item id) of every copy whose pickup time has passed."""

    def hold_records(self, tenant: str, borrower: str) -> list[str]:
        """The records a borrower (pseudonym) holds a place for, waiting or on the shelf."""


class Desk:
    """One library's circulation, as its staff and systems use it."""

    def __init__(self, scope: TenantScope, reads: LendingReads) -> None:
        self.tenant = scope.slug
        self.vault = scope.vault
        self.circulation = scope.circulation
        self.catalog = scope.catalog
        self.reads = reads

    # Patrons

    def register_patron(self, barcode: str, name: str, email: str | None, patron_group: str,
                        expires_on: date, *, receipt: Receipt | None = None) -> Patron:
        """A new patron: a key of their own in the vault, their personal data sealed with it."""
        barcode, group = barcode.strip(), patron_group.strip().lower()
        check_patron(barcode, name, email, group)
        patron_id = uuid.uuid4()
        try:
            key = self.vault.create(patron_id, barcode)
        except BarcodeTakenError as error:
            raise PatronBarcodeTakenError(str(error)) from None
        sealed = key.seal({"barcode": barcode, "name": name.strip(), "email": email})
        try:
            return self.circulation.register_patron(patron_id, sealed, group, expires_on,
                                                    receipt)
        except BaseException:
            self.vault.destroy(patron_id)
            raise

    def key_of(self, barcode: str) -> PatronKey:
        """The vault's row of the patron with this barcode (erased patrons have none)."""
        key = self.vault.by_barcode(barcode.strip())
        if key is None:
            raise PatronNotFoundError(f"no patron with barcode {barcode!r} in this library")
        return key

    def card(self, barcode: str) -> Card:
        """The patron with this barcode, as circulation knows them."""
        key = self.key_of(barcode)
        return Card(key.patron_id, key.pseudonym)

    def patron(self, *, barcode: str | None = None,
               patron_id: uuid.UUID | None = None) -> dict[str, Any]:
        """A patron with their personal data opened; an erased one shows as erased."""
        key: PatronKey | None
        if barcode is not None:
            key = self.key_of(barcode)
            patron = self.circulation.get_patron(key.patron_id)
        elif patron_id is not None:
            patron = self.circulation.get_patron(patron_id)
            key = self.vault.by_patron(patron_id)
        else:
            raise PatronNotFoundError("give a patron's barcode or id")
        personal = key.open(patron.sealed) if key and not patron.erased else {}
        return {"id": patron.id, "barcode": personal.get("barcode"),
                "name": personal.get("name"), "email": personal.get("email"),
                "patron_group": patron.patron_group, "expires_on": patron.expires_on,
                "blocks": list(patron.blocks), "erased": patron.erased,
                "pseudonym": key.pseudonym if key else None}

    def erase_patron(self, barcode: str, receipt: Receipt | None = None) -> Erasure:
        """Crypto-shreds the patron: the erasure is recorded with the cancellation of their
        holds (those placed before circulation noted them are found in the circulation
        view), then their key destroyed."""
        key = self.key_of(barcode)
        titles = [uuid.UUID(r) for r in self.reads.hold_records(self.tenant,
                                                                 str(key.pseudonym))]
        erasure = self.circulation.erase_patron(Card(key.patron_id, key.pseudonym), receipt,
                                                record_ids=titles)
        self.vault.destroy(key.patron_id)
        return erasure

    def patron_held_for(self, item_barcode: str, hold_id: uuid.UUID) -> uuid.UUID | None:
        """The patron a copy waits for on the hold shelf under this hold: what a hold slip
        prints (None once the copy left the shelf or the patron was erased). Looked up when
        asked, never kept with a command's answer, so erasure leaves no link behind."""
        held = self.circulation.lending_of(self.copy(item_barcode)).held_for
        if held is None or held.hold_id != hold_id:
            return None
        key = self.vault.by_pseudonym(held.borrower)
        return key.patron_id if key else None

    # Items and loans

    def copy(self, item_barcode: str) -> Copy:
        """The catalog's item with this barcode, as circulation needs it (circulation learns
        its facts with the command, and decides on those it knows)."""
        try:
            item = self.catalog.item_by_barcode(item_barcode)
        except ItemNotFoundError:
            raise ItemNotFoundError(
                f"no item with barcode {item_barcode!r} in this library") from None
        return copy_of(item)

    def _on_copy(self, item_barcode: str, command: Callable[[Copy | uuid.UUID], T]) -> T:
        """Runs a circulation command on the copy as circulation knows it (fed from the
        catalog's events); a copy it has not heard of yet (added a moment ago) it learns
        from the catalog with the command."""
        try:
            return command(Item.create_id(check_barcode(item_barcode)))
        except CopyUnknownError:
            return command(self.copy(item_barcode))

    def check_out(self, item_barcode: str, patron_barcode: str,
                  receipt: Receipt | None = None) -> ItemLending:
        """Lends an item to a patron."""
        card = self.card(patron_barcode)
        return self._on_copy(item_barcode,
                             lambda copy: self.circulation.check_out(copy, card, receipt))

    def check_in(self, item_barcode: str, receipt: Receipt | None = None) -> ItemLending:
        """Takes an item back (to the hold shelf if someone waits for its title)."""
        return self._on_copy(item_barcode,
                             lambda copy: self.circulation.check_in(copy, receipt))

    def renew(self, item_barcode: str, receipt: Receipt | None = None) -> ItemLending:
        """Renews the loan of an item."""
        return self._on_copy(item_barcode, lambda copy: self.circulation.renew(copy, receipt))

    def declare_item_lost(self, item_barcode: str, receipt: Receipt | None = None) -> ItemLending:
        """Closes the loan of an item that will not come back; the copy is lost."""
        return self._on_copy(item_barcode,
                             lambda copy: self.circulation.declare_item_lost(copy, receipt))

    def place_hold(self, record_id: uuid.UUID, patron_barcode: str,
                   receipt: Receipt | None = None) -> tuple[uuid.UUID, int]:
        """Puts a patron in a record's queue."""
        self.catalog.get_record(record_id)
        return self.circulation.place_hold(record_id, self.card(patron_barcode), receipt)

    def set_policy(self, patron_group: str, material_type: str, policy: LoanPolicy,
                   receipt: Receipt | None = None) -> None:
        """Sets a loan policy."""
        self.circulation.set_policy(patron_group, material_type, policy, receipt)

    def item_on_loan(self, loan_id: uuid.UUID) -> str:
        """The barcode of the item lent by this open loan."""
        barcode = self.reads.item_on_loan(self.tenant, str(loan_id))
        if barcode is None:
            raise NotOnLoanError(f"no open loan {loan_id} in this library")
        return barcode

    def lending_state(self, item_id: uuid.UUID) -> dict[str, Any] | None:
        """An item's lending state from the circulation view."""
        return self.reads.lending(self.tenant, str(item_id))


async def sweep_pickups(desk_of: Callable[[str], Desk], reads: LendingReads,
                        exclusive: Callable[[], contextlib.AbstractContextManager[bool]],
                        stop: asyncio.Event, every_s: float = 60) -> None:
    """Expires holds nobody collected in time, so their copy passes to the next patron. Every
    process that runs it tries each round; one at a time sweeps (the others skip it)."""

    def sweep() -> int:
        with exclusive() as mine:
            return expire_uncollected(desk_of, reads) if mine else 0

    while not stop.is_set():
        try:
            await asyncio.to_thread(sweep)
        except Exception:
            log.exception("expiring uncollected holds failed; retrying in %s s", every_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)


def copy_of(item: Item) -> Copy:
    """A catalog item as circulation needs it, with the version its facts were read at."""
    return Copy(item.id, item.barcode, item.record_id, item.material_type, item.status,
                item.version)


def expire_uncollected(desk_of: Callable[[str], Desk], reads: LendingReads,
                       at: datetime | None = None) -> int:
    """Expires every hold not collected by `at` (now); how many."""
    now = at or datetime.now(UTC)
    expired = 0
    for tenant, item_id in reads.expired_pickups(now):
        desk = desk_of(tenant)
        item: Item = desk.catalog.repository.get(uuid.UUID(item_id))
        expired += desk.circulation.expire_pickup(copy_of(item), now)
    return expired
