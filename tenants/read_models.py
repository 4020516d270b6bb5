"""Every read model the service runs, by name: the projections, and the office's tenant
directory (it reads the Tenant aggregate's events, which live in this layer)."""

from __future__ import annotations

from projections.catalogue import PROJECTIONS
from projections.framework import Projection
from tenants.directory.projection import TenantDirectory
from tenants.directory.union_catalog import MembersUnionCatalog

READ_MODELS: dict[str, type[Projection]] = {
    **PROJECTIONS, TenantDirectory.name: TenantDirectory,
    # the union catalog also reads the office's Tenant events, which live in this layer
    MembersUnionCatalog.name: MembersUnionCatalog}
