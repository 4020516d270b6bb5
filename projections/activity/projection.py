"""The activity projection: each tenant's events counted per aggregate type per day."""

from __future__ import annotations

from collections import Counter
from typing import Any

from psycopg import Cursor

from projections.activity.postgres import NAME, TABLES, ActivityTables
from projections.framework import Delivery, DomainEvent, Projection


def aggregate_of(event: DomainEvent) -> str:
    """The name of the aggregate an event belongs to (`Item` for `Item.Added`)."""
    return type(event).__qualname__.rpartition(".")[0]


class Activity(Projection):
    """Counts each tenant's events per aggregate type per day (every event of every log)."""

    name = NAME
    tables = TABLES
    events = (DomainEvent,)
    skip_poison = True  # counts per tenant, day and aggregate: a parked event is one count short

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        self.store = ActivityTables(generation)

    def create_tables(self, cur: Cursor[Any]) -> None:
        self.store.create(cur)

    def apply(self, cur: Cursor[Any], delivery: Delivery) -> None:
        self.apply_batch(cur, [delivery])

    def apply_batch(self, cur: Cursor[Any], deliveries: list[Delivery]) -> None:
        """Counts are additive: one upsert per tenant, day and aggregate of the batch."""
        counts = Counter((d.tenant, d.event.timestamp.date(), aggregate_of(d.event))
                         for d in deliveries)
        self.store.add(cur, sorted(counts.items()))
