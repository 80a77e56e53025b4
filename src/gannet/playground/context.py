"""What a route of the playground's JSON API needs of the server: :class:`RouteContext`.

The routes (:mod:`~gannet.playground.routes`, :mod:`~gannet.playground.explorer_routes`) are
typed against this small Protocol, not against
:class:`~gannet.playground.server.PlaygroundServer`, so the import graph runs one way only:
the HTTP layer imports the route tables, and no route module imports the HTTP layer back (not
even for type checking). :class:`~gannet.playground.server.PlaygroundServer` implements it;
a test can hand a route any object with these three attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from gannet.playground.explorer import Explorer
    from gannet.playground.live import SessionStore

__all__ = ["Route", "RouteContext"]


class RouteContext(Protocol):
    """What a route handler may use of the server (read-only: a route never rebinds them)."""

    @property
    def sessions(self) -> SessionStore:
        """The live training sessions, by id (``/api/live/*``)."""

    @property
    def explorer(self) -> Explorer:
        """The latent explorer's runs folder and opened runs (``/api/explorer/*``)."""

    @property
    def training(self) -> AbstractContextManager[Any]:
        """Held while training, measuring or loading a run: torch's RNG and thread pool are
        process-wide, so such work is serialised across request threads."""


Route = Callable[[RouteContext, dict[str, Any]], dict[str, Any]]
"""A route: the server (as its context) and the request's fields in, a JSON-able dict out;
refusals raise :class:`~gannet.playground.fields.ApiError`."""
