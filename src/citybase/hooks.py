"""Every extension point of citybase, in one file.

A module reacts to another only through these hooks. It implements the ones it needs in its own
``hooks.py`` with ``@hookimpl``; :func:`citybase.modules.load_hooks` registers each module's
``hooks.py`` once, in the dependency order of ``modules.MODULES``, for the app, the CLI and the worker.
A module that calls a hook never imports the modules that implement it: the lake announces a new
version without knowing that quality, the base libraries and exchange listen.

Hooks are called with keyword arguments (pluggy's rule). :func:`implementations` yields them one by
one in module order, for callers that isolate each implementation (a failing observer must not undo an
ingest; one module's broken panel must not break the catalogue page).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from citybase.catalog.panels import Panel
    from citybase.core.identity.principal import Principal

PROJECT = "citybase"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class NavItem:
    """One entry of the top navigation bar."""

    label: str
    href: str
    permission: str | None  # None: visible to everyone
    order: int
    ready: bool = True  # False: a placeholder shown greyed until the module exists


@dataclass(frozen=True)
class MapOverlay:
    """Figures per grid code that the grid map can colour its grids by."""

    key: str
    label: str
    counts: dict[str, int]


@dataclass(frozen=True)
class VitalSign:
    """One figure of the city's vital signs (城市运行体征) that a module contributes to the portal.

    Aggregates only, never persons. ``value`` is None when the module has no figure yet."""

    key: str  # stable identifier, e.g. "events.open_orders"
    label: str  # Chinese, as a leader reads it
    value: float | None
    unit: str = ""
    domain: str = ""  # 城市运行 · 数据资源 · 物联感知 …
    detail: dict[str, Any] = field(default_factory=dict)


class Specs:
    """The hook specifications. Each is documented by what its callers rely on."""

    @hookspec
    def lake_version_committed(self, session: Session, version: Any) -> None:
        """A new lake version was recorded in ``session``'s transaction (not yet committed).

        Runs inside a savepoint per implementation: raising logs the error and rolls back only that
        implementation's work; the version itself stays."""

    @hookspec(firstresult=True)
    def lake_version_quality(self, session: Session, resource_code: str, number: int) -> dict[str, Any] | None:
        """The quality check of a stored version, for the lake's pages, API and CLI to show after an
        ingest: ``success``, ``score``, ``scores``, ``failed_rules``, ``statistics``, ``findings`` (one
        dict per failed rule: type, column, description, unexpected_count/percent) and ``failed`` (the
        failed rules' full results). None while the version has no report."""

    @hookspec(firstresult=True)
    def ledger_people(self, session: Session, actors: list[str]) -> dict[str, tuple[str, str]] | None:
        """actor (``username`` or ``username#tokenN``) → (display name, organisation name), for the
        ledger's pages: the audit module sits below the user directory (identity answers)."""

    @hookspec(firstresult=True)
    def ledger_org_members(self, session: Session, org_code: str) -> list[str] | None:
        """The usernames of an organisation's people, for the ledger's organisation filter."""

    @hookspec(firstresult=True)
    def ledger_orgs(self, session: Session) -> list[tuple[str, str]] | None:
        """(code, name) of the organisations people work at (city, districts, departments)."""

    @hookspec(firstresult=True)
    def clear_field_grant(self, session: Session, principal: Principal, resource_code: str,
                          field: str) -> str | None:
        """The stated purpose of an active grant that lets the caller's organisation read ``field`` of
        resource ``resource_code`` in clear, or None when there is none. A lookup by a personal
        identifier on data the caller otherwise sees masked needs it (the exchange answers)."""

    @hookspec
    def catalog_resource_panels(self, session: Session, principal: Principal, resource: Any) -> Panel | None:
        """An extra panel for the catalogue resource page, or None to show nothing for it."""

    @hookspec
    def nav_items(self) -> list[NavItem]:
        """Entries this module adds to the navigation bar."""

    @hookspec
    def grid_map_overlays(self, session: Session) -> MapOverlay | None:
        """Per-grid figures the grid map can colour by (open work orders, sensor alarms …)."""

    @hookspec
    def warm_up(self) -> None:
        """Load what the first requests would otherwise wait for (models, dictionaries, boundaries).

        Each web worker runs every implementation before it accepts requests."""

    @hookspec
    def vital_signs(self, session: Session) -> list[VitalSign]:
        """The city vital signs this module contributes to the city portal (aggregates only)."""


_manager: pluggy.PluginManager | None = None
_lock = threading.Lock()


def manager() -> pluggy.PluginManager:
    """The plugin manager with every module's ``hooks.py`` registered (loaded on first use, once)."""
    global _manager
    if _manager is None:
        with _lock:
            if _manager is None:
                from citybase.modules import load_hooks

                pm = pluggy.PluginManager(PROJECT)
                pm.add_hookspecs(Specs)
                load_hooks(pm)
                _manager = pm
    return _manager


def relay() -> pluggy.HookRelay:
    """The hook relay: ``relay().nav_items()`` calls every implementation and lists their results
    (last registered module first, as pluggy calls them)."""
    return manager().hook


def implementations(name: str) -> Iterator[tuple[str, Callable[..., Any]]]:
    """(module name, function) for each implementation of hook ``name``, in module order."""
    caller = getattr(manager().hook, name)
    for impl in caller.get_hookimpls():
        yield impl.plugin_name, impl.function
