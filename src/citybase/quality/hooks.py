"""The extension points quality implements (see citybase/hooks.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from citybase.core.errors import NotFound
from citybase.hooks import NavItem, hookimpl
from citybase.quality import service


@hookimpl
def nav_items() -> list[NavItem]:
    return [
        NavItem("数据治理", "/quality", "quality.read", 25),
    ]


@hookimpl
def lake_version_committed(session: Session, version: Any) -> None:
    """Every new version is checked against its rules, in the ingest's transaction."""
    service.evaluate(session, version.resource_code, version.number)


@hookimpl
def lake_version_quality(session: Session, resource_code: str, number: int) -> dict[str, Any] | None:
    try:
        rep = service.get_report(session, resource_code, number)
    except NotFound:
        return None
    failed = [r for r in rep.results if not r["success"]]
    return {"success": rep.success, "score": rep.score, "scores": rep.scores, "failed_rules": rep.failed_rules,
            "statistics": rep.statistics, "failed": failed,
            "findings": [{"type": r["expectation_config"]["type"],
                          "column": r["expectation_config"]["kwargs"].get("column"),
                          "description": r["expectation_config"]["meta"]["description"],
                          "unexpected_count": r["result"]["unexpected_count"],
                          "unexpected_percent": r["result"]["unexpected_percent"]} for r in failed]}
