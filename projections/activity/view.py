"""What others may ask of the activity read model."""

from __future__ import annotations

from datetime import date

from projections.activity.postgres import NAME, ActivityTables
from projections.framework import View


class ActivityView(View):
    """Events per aggregate type per day, per tenant."""

    name = NAME

    def daily(self, tenant: str) -> list[tuple[date, str, int]]:
        """The tenant's activity, oldest day first: (day, aggregate, events)."""
        return ActivityTables(self.generation).daily_of(self.cur, tenant)
