"""The one list of citybase's modules, in dependency order, and the only place modules are found by name.

Each module may have these rooms, discovered by name (see ARCHITECTURE.md):
models.py (tables) · views.py (JSON router ``router``; optional ``priority_router`` included first) ·
pages.py (HTML router ``router``) · cli.py (``register(app)``) · jobs.py (huey tasks) ·
demo.py (``load(console)``) · hooks.py (implementations of the extension points in ``citybase.hooks``).
Adding a module means adding its name here; no other shared file changes.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pluggy

MODULES = [
    "core.identity",
    "core.audit",
    "core.calendar",
    "web",
    "catalog",
    "lake",
    "quality",
    "baselib",
    "exchange",
    "opendata",
    "grid",
    "events",
    "iot",
]


def rooms(room: str) -> list[ModuleType]:
    """Import ``citybase.<module>.<room>`` for every module that has that room."""
    found = []
    for module in MODULES:
        name = f"citybase.{module}.{room}"
        if importlib.util.find_spec(name) is not None:
            found.append(importlib.import_module(name))
    return found


def load_hooks(pm: pluggy.PluginManager) -> None:
    """Register each module's ``hooks.py`` with ``pm``, named by the module, in module order.

    Called once per process by :func:`citybase.hooks.manager`; registering a module twice is refused by
    pluggy, so a hook can never run twice for one event."""
    for mod in rooms("hooks"):
        pm.register(mod, name=mod.__name__.removeprefix("citybase.").removesuffix(".hooks"))
