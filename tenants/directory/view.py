"""What others may ask of the tenant directory."""

from __future__ import annotations

from typing import TypedDict

from projections.framework import View
from tenants.directory.postgres import NAME, DirectoryTables


class ListedTenant(TypedDict):
    """A member library as the directory lists it."""

    slug: str
    name: str
    isil: str | None
    status: str
    suspension_reason: str | None


class TenantDirectoryView(View):
    """The consortium's member libraries, as the office lists them."""

    name = NAME

    def tenants(self) -> list[ListedTenant]:
        """The directory, by slug."""
        return [ListedTenant(slug=r[0], name=r[1], isil=r[2], status=r[3],
                             suspension_reason=r[4])
                for r in DirectoryTables(self.generation).listed(self.cur)]
