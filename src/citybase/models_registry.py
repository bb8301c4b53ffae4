"""Import every module's tables so Alembic and tests see the whole schema."""

from __future__ import annotations

import importlib

MODEL_MODULES = [
    "citybase.core.identity.models",
    "citybase.core.audit.models",
    "citybase.core.calendar.models",
]


def import_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
