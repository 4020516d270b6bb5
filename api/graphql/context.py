"""What every resolver gets: the services and the request's caller, checked on demand."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from fastapi import Request
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from api.auth import AuthError, Principal
from api.dependencies import Services
from api.graphql.limits import RateLimitedError

K = TypeVar("K")
T = TypeVar("T")


class Context(BaseContext):
    """The request context: the caller is verified once, when a resolver first asks."""

    def __init__(self, services: Services, authorization: str | None) -> None:
        super().__init__()
        self.services = services
        self.authorization = authorization
        self._principal: Principal | None = None
        self._sharing: str | None = None  # the library whose share this request holds
        self._loaders: dict[str, DataLoader[Any, Any]] = {}

    def loader(self, name: str,
               load: Callable[[list[K]], Awaitable[Sequence[T]]]) -> DataLoader[K, T]:
        """The request's batch loader of that name: the fields of a whole page (an item's
        lending state, a record's items) are read in one query, not one per node."""
        found = self._loaders.get(name)
        if found is None:
            found = self._loaders[name] = DataLoader(load_fn=load)
        return found

    async def principal(self, scope: str | None = None) -> Principal:
        """The verified caller; a GraphQL error with a stable code otherwise."""
        try:
            principal = self._principal
            if principal is None:
                tokens = self.services.tokens
                # Known callers are checked from memory; only a first sight reads the stores.
                principal = tokens.authenticate_known(self.authorization)
                if principal is None:
                    principal = await run_in_threadpool(tokens.authenticate, self.authorization)
                if principal.tenant is not None:
                    await self._enter(principal.tenant)
                self._principal = principal
            if scope is not None:
                principal.require(scope)
        except AuthError as error:
            raise GraphQLError(error.message, extensions={"code": error.code}) from None
        return principal

    @property
    def tenant(self) -> str | None:
        """The caller's library, once authenticated (None before, and for the office)."""
        return self._principal.tenant if self._principal is not None else None

    @property
    def actor(self) -> str | None:
        """Who issues this request's commands, once authenticated."""
        return self._principal.actor if self._principal is not None else None

    async def _enter(self, tenant: str) -> None:
        """Takes a place in the library's share of this process for this request."""
        try:
            await self.services.share.enter(tenant)
        except RateLimitedError as error:
            raise GraphQLError(f"{error}: try again in {error.retry_after_s:.1f} s",
                               extensions={"code": "RATE_LIMITED",
                                           "retryAfter": round(error.retry_after_s, 1)}
                               ) from None
        self._sharing = tenant

    def leave(self) -> None:
        """Gives the request's place back (the operation is over)."""
        if self._sharing is not None:
            self.services.share.leave(self._sharing)
            self._sharing = None


async def context_getter(request: Request) -> Context:
    """Builds the context for one GraphQL request."""
    services: Services = request.app.state.services
    return Context(services, request.headers.get("authorization"))
