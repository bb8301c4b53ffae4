"""`citybase baselib build|status`."""

from __future__ import annotations

import json

import typer
from rich.table import Table


def register(app: typer.Typer) -> None:
    from citybase.console import console, friendly

    sub = typer.Typer(help="五大基础库", no_args_is_help=True)
    app.add_typer(sub, name="baselib")

    @sub.command("build")
    @friendly
    def build(library: str = typer.Argument(None, help="population/legal_person/geo/credit/licence；省略则重建待更新的库"),
              as_json: bool = typer.Option(False, "--json")) -> None:
        """重建基础库。"""
        from citybase.baselib import service
        from citybase.core.identity.principal import SYSTEM
        from citybase.db import session_scope

        with session_scope() as s:
            built = [service.build(s, SYSTEM, library)] if library else service.rebuild_stale(s)
        if as_json:
            typer.echo(json.dumps([b.model_dump(mode="json") for b in built], ensure_ascii=False))
            return
        for b in built:
            console.print(f"{b.library}：第 {b.number} 次构建，{b.row_count} 条记录，被拒主键 {b.rejected_keys} 条，"
                          f"{b.duration_ms} 毫秒")
        if not built:
            console.print("没有需要重建的基础库")

    @sub.command("status")
    @friendly
    def status() -> None:
        """查看各基础库状态。"""
        from citybase.baselib import service
        from citybase.core.identity.principal import SYSTEM
        from citybase.db import make_session

        table = Table()
        for col in ("基础库", "数据源", "记录数", "状态"):
            table.add_column(col)
        with make_session() as s:
            for lib in service.status(s, SYSTEM):
                table.add_row(lib.name, str(lib.sources), str(lib.last_build.row_count if lib.last_build else 0),
                              "待更新：" + lib.stale_reason if lib.stale else "最新")
        console.print(table)
