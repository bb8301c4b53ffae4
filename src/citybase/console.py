"""CLI output for every command: the consoles, the Chinese error wrapper and progress bars.

Module ``cli.py`` files import these from here, never from the root ``citybase.cli``.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from citybase.core.errors import CitybaseError

console = Console()
err_console = Console(stderr=True)


def friendly(fn):  # type: ignore[no-untyped-def]
    """Show a CitybaseError as a Chinese message with its stable code, exit 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CitybaseError as exc:
            err_console.print(f"错误 [{exc.code}]：{exc.message}", style="red", markup=False)
            if exc.detail:
                err_console.print(json.dumps(exc.detail, ensure_ascii=False, default=str))
            raise typer.Exit(2) from None

    return wrapper


def progress() -> Progress:
    """A Rich progress bar on stderr for long CLI work (ingest, imports, demo loading)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=False)
