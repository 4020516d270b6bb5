"""The GraphQL schema: the viewer now; each context adds its queries and mutations."""

from __future__ import annotations

import logging
import re
import traceback

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.types import ExecutionContext, Info
from strawberry.utils.str_converters import to_camel_case

from api.errors import status_and_code
from api.graphql.acquisition.mutations import AcquisitionMutations
from api.graphql.acquisition.queries import AcquisitionQueries
from api.graphql.catalog.mutations import CatalogMutations
from api.graphql.catalog.queries import CatalogQueries
from api.graphql.circulation.mutations import CirculationMutations
from api.graphql.circulation.queries import CirculationQueries
from api.graphql.context import Context
from api.graphql.figures.queries import FiguresQueries
from api.graphql.inventory.queries import InventoryQueries
from api.graphql.lending.mutations import LendingMutations
from api.graphql.lending.queries import LendingQueries
from api.graphql.limits import QueryLimits
from api.graphql.sharing.mutations import SharingMutations
from api.graphql.sharing.queries import SharingQueries
from api.graphql.staff.mutations import StaffMutations
from api.graphql.staff.queries import StaffQueries
from api.graphql.union_catalog.mutations import UnionCatalogMutations
from api.graphql.union_catalog.queries import UnionCatalogQueries
from api.observability import OperationMetrics

log = logging.getLogger(__name__)


@strawberry.type
class TenantType:
    """A member library."""

    slug: str
    name: str
    status: str
    isil: str | None


@strawberry.type
class Viewer:
    """Who the token belongs to."""

    client_id: str
    tenant: TenantType | None
    scopes: list[str]


_LEADING_FIELD = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?=[:\s.]|$)")


def as_client_field(message: str) -> str:
    """A domain error names the field it refuses first, in Python's spelling
    (`loan_days: ...`); GraphQL clients sent it in theirs (`loanDays`)."""
    return _LEADING_FIELD.sub(lambda m: to_camel_case(m.group(0)), message, count=1)


def _variable_refused(error: GraphQLError) -> bool:
    """A variable's value refused before execution (its type, a scalar's parse): the
    client's input, not a failure of ours."""
    return isinstance(error.original_error, StrawberryInputCoercionError) or (
        error.path is None and error.message.startswith("Variable '$"))


class DomainErrorCodes(SchemaExtension):
    """Gives every expected failure its stable `extensions.code`; hides unexpected ones."""

    def on_operation(self):  # type: ignore[no-untyped-def]
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        mapped = []
        for error in result.errors:
            original = error.original_error
            if error.extensions and "code" in error.extensions:
                mapped.append(error)
                continue
            if original is None or _variable_refused(error):
                code, message = "INVALID_INPUT", error.message  # names the variable and field
            else:
                status, code = status_and_code(original)
                message = "internal error" if status == 500 else str(original)
                if code == "INVALID_INPUT":
                    message = as_client_field(message)
            mapped.append(GraphQLError(message, nodes=error.nodes, source=error.source,
                                       positions=error.positions, path=error.path,
                                       original_error=original, extensions={"code": code}))
        result.errors = mapped


class ShareRelease(SchemaExtension):
    """Gives a request's place in its library's share back when the operation is over."""

    def on_operation(self):  # type: ignore[no-untyped-def]
        try:
            yield
        finally:
            context = self.execution_context.context
            if isinstance(context, Context):
                context.leave()


@strawberry.type
class Query(CatalogQueries, SharingQueries, CirculationQueries, InventoryQueries,
            UnionCatalogQueries, AcquisitionQueries, FiguresQueries, LendingQueries,
            StaffQueries):
    """Read access for member libraries."""

    @strawberry.field(description="The caller: its tenant and scopes.")  # type: ignore[untyped-decorator]
    async def viewer(self, info: Info[Context, None]) -> Viewer:
        caller = await info.context.principal()
        tenant = None
        if caller.tenant is not None:
            t = await run_in_threadpool(
                info.context.services.consortium.office.get_tenant, caller.tenant
            )
            tenant = TenantType(slug=t.slug, name=t.name, status=t.status, isil=t.isil)
        return Viewer(client_id=caller.client_id, tenant=tenant, scopes=sorted(caller.scopes))


@strawberry.type
class Mutation(CatalogMutations, SharingMutations, CirculationMutations,
               UnionCatalogMutations, AcquisitionMutations, LendingMutations,
               StaffMutations):
    """Changes member libraries make."""


class Schema(strawberry.Schema):
    """The schema, logging its errors as an operator needs them and erasure allows: an
    expected failure is one line (code, operation, library), never the query, its variables
    or a traceback; an unexpected one its traceback without the exception's message."""

    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        operation = (execution_context.operation_name if execution_context else None) or "-"
        context = execution_context.context if execution_context else None
        tenant = (context.tenant if isinstance(context, Context) else None) or "-"
        for error in errors:
            original = error.original_error
            code = (error.extensions or {}).get("code")
            if code is None and original is not None and not _variable_refused(error):
                code = status_and_code(original)[1]
            if code == "INTERNAL" and original is not None:
                log.error("graphql operation %s of %s failed unexpectedly (%s):\n%s",
                          operation, tenant, type(original).__name__,
                          "".join(traceback.format_tb(original.__traceback__)))
            else:
                log.info("graphql %s: operation %s of %s", code or "INVALID_INPUT", operation,
                         tenant)


schema = Schema(query=Query, mutation=Mutation,
                           extensions=[ShareRelease, QueryLimits, DomainErrorCodes,
                                       OperationMetrics,
                                       # clients send the same documents again and again
                                       # (the caches live at module level, per maxsize)
                                       lambda: ParserCache(maxsize=512),
                                       lambda: ValidationCache(maxsize=512)])


def sdl() -> str:
    """The schema as SDL, as `commonshelf schema --graphql` prints it and docs/ keeps it."""
    return schema.as_str() + "\n"
