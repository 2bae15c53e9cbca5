"""What a handler receives: the request, the verified caller, the selected enterprise and parsed input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel

from shared.deps import Deps
from shared.domain.enterprise.callers import ServiceCaller, User
from shared.domain.enterprise.model import Membership
from shared.web.http import ApiRequest

B = TypeVar("B", bound=BaseModel)


@dataclass(frozen=True)
class RequestContext:
    request: ApiRequest
    deps: Deps
    user: User | None = None
    caller: ServiceCaller | None = None
    membership: Membership | None = None
    body: BaseModel | None = None
    query: BaseModel | None = None

    def require_user(self) -> User:
        assert self.user is not None, "route declared without user access"
        return self.user

    def require_membership(self) -> Membership:
        assert self.membership is not None, "route declared without member access"
        return self.membership

    def body_as(self, model: type[B]) -> B:
        assert isinstance(self.body, model), f"route body is not {model.__name__}"
        return self.body

    def query_as(self, model: type[B]) -> B:
        assert isinstance(self.query, model), f"route query is not {model.__name__}"
        return self.query
