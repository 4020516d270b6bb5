"""What one request, and one library, may ask of the service: a query's cost (each field 1,
a page multiplying what is inside it), its aliases, one mutation per request; and a fair
share per library of the process's time (at most so many operations at once, at most so
many a second). Refusals are GraphQL errors with `QUERY_TOO_COMPLEX` or `RATE_LIMITED`."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    visit,
)
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension

MAX_COST = 20_000  # records(first: 100) with every field and each record's items is ~6,000
MAX_ALIASES = 30
MAX_MUTATIONS = 1
MAX_DOCUMENT_CHARS = 50_000
LIST_GUESS = 10  # a list without `first` (a record's items, a patron's loans) counts as 10
MAX_DEPTH = 15
# Fields whose work is more than a row: what they add to the query's cost, by (type, field).
# A union catalog search and an entry's holdings join several tables. (Its facets, which
# count over every entry found, need nothing more: a connection's fields are multiplied by
# its `first`, so their lists already weigh about 80 per entry of the page asked.)
EXTRA_COST: dict[tuple[str, str], int] = {
    ("Query", "unionCatalog"): 50,
    ("UnionEntry", "holdings"): 5,
    ("Record", "unionEntry"): 5,
}


MAX_SEARCH_CHARS = 500
MAX_SEARCH_WORDS = 32
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class TooComplexError(Exception):
    """The request asks for more than one request may."""


class TextInvalidError(ValueError):
    """A text the service cannot keep or search: control characters, broken Unicode."""


def check_text(value: object, where: str) -> None:
    """Every string inside a value is text the service can keep: no control characters but
    tab and line breaks, no lone surrogates (TextInvalidError naming where)."""
    if isinstance(value, str):
        if _CONTROL.search(value):
            raise TextInvalidError(f"{where}: control characters (such as NUL) are not "
                                   "allowed; only tab and line breaks")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise TextInvalidError(f"{where}: not valid Unicode text (a lone surrogate)") from None
    elif isinstance(value, dict):
        for key, inner in value.items():
            check_text(inner, f"{where}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            check_text(inner, f"{where}[{index}]")


def check_search(query: str | None) -> None:
    """A search the service answers quickly: at most 500 characters and 32 words."""
    if query is None:
        return
    check_text(query, "query")
    if len(query) > MAX_SEARCH_CHARS or len(query.split()) > MAX_SEARCH_WORDS:
        raise TextInvalidError(f"query: at most {MAX_SEARCH_CHARS} characters and "
                               f"{MAX_SEARCH_WORDS} words")


def too_complex(message: str) -> GraphQLError:
    """The refusal of a request that asks too much."""
    return GraphQLError(message, extensions={"code": "QUERY_TOO_COMPLEX"})


@dataclass
class _Walk:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]
    aliases: int = 0

    def cost(self, parent: GraphQLNamedType | None, selections: SelectionSetNode | None,
             depth: int = 0, paged: bool = False) -> int:
        """What the selections cost; `paged`: their parent took a page (`first`), which the
        list inside it (a connection's edges) is."""
        if selections is None:
            return 0
        if depth > MAX_DEPTH:
            raise TooComplexError(f"the query nests deeper than {MAX_DEPTH} levels")
        total = 0
        for node, owner in self._fields(parent, selections, set()):
            if node.alias is not None:
                self.aliases += 1
                if self.aliases > MAX_ALIASES:
                    raise TooComplexError(f"more than {MAX_ALIASES} aliases in one request")
            inner, many = self._type_of(owner, node.name.value)
            page = self._first(node)
            if page is not None:
                size, paging = page, True
            else:
                size, paging = (1 if paged or not many else LIST_GUESS), False
            extra = EXTRA_COST.get((owner.name, node.name.value), 0) if owner else 0
            total += 1 + extra + size * self.cost(inner, node.selection_set, depth + 1, paging)
            if total > MAX_COST:
                raise TooComplexError(
                    f"the query would cost more than {MAX_COST:,} (each field 1, a page of "
                    "`first` multiplying what it holds): ask for fewer fields or pages")
        return total

    def _fields(self, parent: GraphQLNamedType | None, selections: SelectionSetNode,
                seen: set[str]) -> Iterator[tuple[FieldNode, GraphQLNamedType | None]]:
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                kind = self.schema.get_type(condition.name.value) if condition else parent
                yield from self._fields(kind, selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue  # validation reports unknown and cyclic fragments
                kind = self.schema.get_type(fragment.type_condition.name.value)
                yield from self._fields(kind, fragment.selection_set, seen | {name})

    @staticmethod
    def _type_of(parent: GraphQLNamedType | None,
                 name: str) -> tuple[GraphQLNamedType | None, bool]:
        if not isinstance(parent, GraphQLObjectType) or name not in parent.fields:
            return None, False
        kind: Any = parent.fields[name].type
        many = False
        while isinstance(kind, GraphQLNonNull | GraphQLList):
            many = many or isinstance(kind, GraphQLList)
            kind = kind.of_type
        return kind, many

    def _first(self, node: FieldNode) -> int | None:
        """The page a field asks for (`first`, as given or as its variable's value)."""
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return max(1, int(value.value))
            if isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
                if isinstance(given, int):
                    return max(1, given)
        return None


def check_request(schema: GraphQLSchema, document: Any, variables: dict[str, Any] | None,
                  operation_name: str | None, length: int = 0) -> None:
    """Raises TooComplexError when the operation asks more than a request may."""
    if length > MAX_DOCUMENT_CHARS:
        raise TooComplexError(f"the query is longer than {MAX_DOCUMENT_CHARS:,} characters")
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations
              if operation_name is None or (o.name and o.name.value == operation_name)]
    walk = _Walk(schema, fragments, variables or {})
    for operation in chosen[:1]:
        if operation.operation == OperationType.MUTATION:
            root = schema.mutation_type
            count = sum(1 for _ in walk._fields(root, operation.selection_set, set()))
            if count > MAX_MUTATIONS:
                raise TooComplexError(f"{count} mutations in one request: send one at a time")
        else:
            root = schema.query_type
        walk.cost(root, operation.selection_set)


class _Strings(Visitor):
    """Checks every string literal of a document."""

    def enter_string_value(self, node: StringValueNode, *_: object) -> None:
        check_text(node.value, "a string in the query")


class QueryLimits(SchemaExtension):
    """Refuses, before anything runs, a request that asks more than one request may, or
    whose text the service could not keep."""

    def on_execute(self):  # type: ignore[no-untyped-def]
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            try:
                check_request(context.schema._schema, document, context.variables,
                              context.operation_name, len(context.query or ""))
                for name, value in (context.variables or {}).items():
                    check_text(value, f"${name}")
                visit(document, _Strings())
            except TooComplexError as refused:
                context.result = GraphQLExecutionResult(data=None,
                                                        errors=[too_complex(str(refused))])
            except TextInvalidError as invalid:
                context.result = GraphQLExecutionResult(data=None, errors=[GraphQLError(
                    str(invalid), extensions={"code": "INVALID_INPUT"})])
        yield


@dataclass
class _Share:
    running: int = 0
    tokens: float = 0.0
    refilled: float = field(default_factory=time.monotonic)


class TenantShare:
    """Each library's share of this process: at most `concurrency` operations at once (more
    wait their turn up to `wait_s`) and `rate` a second on average (bursts up to
    `burst`). One library's load then cannot take the others' time."""

    def __init__(self, concurrency: int, rate: float, burst: float, wait_s: float = 2.0) -> None:
        self.concurrency = concurrency
        self.rate = rate
        self.burst = burst
        self.wait_s = wait_s
        self._shares: dict[str, _Share] = {}
        self._freed: dict[str, asyncio.Event] = {}

    def _share(self, tenant: str) -> _Share:
        share = self._shares.get(tenant)
        if share is None:
            share = self._shares[tenant] = _Share(tokens=self.burst)
        return share

    async def enter(self, tenant: str) -> None:
        """Takes a place for one operation of the tenant; RateLimitedError when its share is
        used up (with the seconds after which to try again)."""
        share = self._share(tenant)
        now = time.monotonic()
        share.tokens = min(self.burst, share.tokens + (now - share.refilled) * self.rate)
        share.refilled = now
        if share.tokens < 1:
            raise RateLimitedError(
                f"this library sends more than {self.rate:,.0f} requests a second",
                retry_after_s=(1 - share.tokens) / self.rate)
        share.tokens -= 1
        deadline = now + self.wait_s
        while share.running >= self.concurrency:
            freed = self._freed.setdefault(tenant, asyncio.Event())
            freed.clear()
            remaining = deadline - time.monotonic()
            try:
                await asyncio.wait_for(freed.wait(), max(0.0, remaining))
            except TimeoutError:
                raise RateLimitedError(
                    f"this library already has {self.concurrency} requests running here",
                    retry_after_s=1.0) from None
        share.running += 1

    def leave(self, tenant: str) -> None:
        """Gives the place back."""
        share = self._share(tenant)
        share.running = max(0, share.running - 1)
        freed = self._freed.get(tenant)
        if freed is not None:
            freed.set()


class RateLimitedError(Exception):
    """A library's share is used up for now."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
