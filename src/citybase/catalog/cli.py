"""`citybase catalog import|export|search|show` (thin: parse → service)."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    from citybase.console import console, friendly

    catalog_app = typer.Typer(help="数据资源目录", no_args_is_help=True)
    app.add_typer(catalog_app, name="catalog")

    @catalog_app.command("import")
    @friendly
    def import_(file: Path = typer.Argument(..., help="目录表 .xlsx"),
                publish: bool = typer.Option(False, "--publish", help="导入后直接发布（免审核，仅限系统管理员）"),
                as_json: bool = typer.Option(False, "--json", help="输出 JSON")) -> None:
        """从 Excel 目录表导入信息资源（全部正确才导入）。"""
        from citybase.catalog import service
        from citybase.core.errors import BadInput
        from citybase.core.identity.principal import SYSTEM
        from citybase.db import session_scope

        try:
            with session_scope() as s:
                report = service.import_xlsx(s, SYSTEM, file, publish=publish)
        except BadInput as exc:
            errors = (exc.detail or {}).get("errors")
            if errors and not as_json:
                from citybase.console import err_console

                err_console.print(f"[red]错误[{exc.code}]：导入文件有 {exc.detail.get('count', len(errors))} 处错误，"
                                  "未导入任何资源[/red]")
                for e in errors[:50]:
                    err_console.print(f"  {e['where']}：{e['message']}  [{e['code']}]")
                raise typer.Exit(2) from None
            raise
        if as_json:
            console.print_json(json.dumps(report.model_dump(), ensure_ascii=False))
            return
        console.print(f"[green]导入完成[/green]：新建 {len(report.created)}，更新 {len(report.updated)}，"
                      f"无变化 {len(report.unchanged)}" + (f"，直接发布 {len(report.published)}" if publish else ""))

    @catalog_app.command("export")
    @friendly
    def export(file: Path = typer.Argument(..., help="输出 .xlsx"),
               status: str = typer.Option(None, "--status", help="只导出某状态：draft/submitted/returned/published/withdrawn"),
               provider: str = typer.Option(None, "--provider", help="只导出某提供方（机构代码）")) -> None:
        """把目录导出为各部门填报用的 Excel 表（每个信息项一行）。"""
        from citybase.catalog import service
        from citybase.core.identity.principal import SYSTEM
        from citybase.db import session_scope

        with session_scope() as s:
            n = service.export_xlsx(s, SYSTEM, file, status=status, provider_code=provider)
        console.print(f"已导出 {n} 个信息资源到 {file}")

    @catalog_app.command("search")
    @friendly
    def search(q: str = typer.Argument("", help="检索词（中文或拼音首字母）"),
               size: int = typer.Option(20, "--size", help="显示条数")) -> None:
        """检索已发布的信息资源。"""
        from rich.table import Table

        from citybase.catalog import service
        from citybase.db import make_session

        with make_session() as s:
            result = service.search(s, q, {}, 1, size)
        table = Table(title=f"共 {result.total} 个信息资源")
        for col in ("代码", "名称", "提供方", "共享", "开放"):
            table.add_column(col)
        for r in result.items:
            table.add_row(r.code, r.name, r.provider_name, r.share_type, r.open_type)
        console.print(table)
