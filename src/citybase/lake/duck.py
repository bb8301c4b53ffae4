"""The one DuckDB connection factory: every module opens its DuckDB connections here, with the
configured threads and memory limit (``CITYBASE_LAKE_THREADS``, ``CITYBASE_LAKE_MEMORY_LIMIT``)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from citybase.config import get_settings
from citybase.standards.sql import quote_literal, register_macros, register_mask_macros


def duckdb_config() -> dict[str, object]:
    """Threads and memory limit of every DuckDB connection citybase opens (``CITYBASE_LAKE_*``)."""
    settings = get_settings()
    return {"threads": settings.lake_threads or (os.cpu_count() or 2), "memory_limit": settings.lake_memory_limit}


def connect(temp_dir: Path | None = None, macros: bool | str = True, *, database: str = ":memory:",
            read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection, in memory unless ``database`` names a DuckDB file.

    ``macros``: True registers every standards macro (~0.2 s; validation and the base libraries need
    them), ``"masks"`` only the ``cb_mask_*`` ones (masked serving), False none (the ingest pipeline,
    archive reads). ``temp_dir``: where DuckDB spills."""
    con = duckdb.connect(database, read_only=read_only, config=duckdb_config())
    if temp_dir is not None:
        con.execute(f"SET temp_directory={quote_literal(str(temp_dir))}")
    if macros == "masks":
        register_mask_macros(con)
    elif macros:
        register_macros(con)
    return con
