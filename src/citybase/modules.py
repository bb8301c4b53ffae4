"""The one list of citybase's modules, in dependency order.

Each module may have these rooms, discovered by name (see ARCHITECTURE.md):
models.py (tables) · views.py (JSON router ``router``; optional ``priority_router`` included first,
and ``warm_up()`` run by each web worker before it serves) · pages.py (HTML router ``router``) ·
cli.py (``register(app)``) · jobs.py (huey tasks) · demo.py (``load(console)``).
Adding a module means adding its name here; no other shared file changes.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

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
    "cockpit",
]


def rooms(room: str) -> list[ModuleType]:
    """Import ``citybase.<module>.<room>`` for every module that has that room."""
    found = []
    for module in MODULES:
        name = f"citybase.{module}.{room}"
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:  # the module's package itself does not exist yet
            spec = None
        if spec is not None:
            found.append(importlib.import_module(name))
    return found
