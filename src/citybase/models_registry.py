"""Import every module's tables so Alembic and tests see the whole schema."""

from __future__ import annotations

from citybase.modules import rooms


def import_all_models() -> None:
    rooms("models")
