"""The consortium office's choice whether members see each other's order prices (off until
the office turns it on). One per consortium, in the office's log."""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

PRICE_SHARING_ID = uuid5(NAMESPACE_URL, "commonshelf:acquisition:price-sharing")


class PriceSharing(Aggregate):
    """Whether members see the prices of each other's orders."""

    class Started(Aggregate.Created):
        started_at: datetime

    class Changed(Aggregate.Event):
        enabled: bool
        changed_at: datetime

    @staticmethod
    def create_id() -> UUID:
        """There is one setting per consortium."""
        return PRICE_SHARING_ID

    @event(Started)
    def __init__(self, started_at: datetime) -> None:
        self.enabled = False
        self.changed_at = started_at

    def set(self, enabled: bool, at: datetime) -> bool:
        """Turns sharing on or off; False if it already was."""
        if enabled == self.enabled:
            return False
        self._changed(enabled, at)
        return True

    @event(Changed)
    def _changed(self, enabled: bool, changed_at: datetime) -> None:
        self.enabled = enabled
        self.changed_at = changed_at
