"""`citybase quality …` commands (thin)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

quality_app = typer.Typer(help="数据治理：质量报告", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    from citybase.console import console, friendly

    @quality_app.command("report")
    @friendly
    def report(resource: str, version: int = typer.Option(None, "--version", help="版本号（默认当前版本）"),
               as_json: bool = typer.Option(False, "--json", help="输出 Great Expectations 形式的 JSON"),
               xlsx: Path = typer.Option(None, "--xlsx", help="另存为《数据质量检核报告》Excel 文件"),
               refresh: bool = typer.Option(False, "--refresh", help="重新检核后再输出")) -> None:
        """输出资源某一版本的质量检核报告。"""
        from citybase.core.errors import NotFound
        from citybase.db import session_scope
        from citybase.lake import service as lake
        from citybase.quality import service, xlsx_report

        with session_scope() as s:
            if version is None:
                cur = lake.current_version(s, resource)
                if cur is None:
                    raise NotFound("该资源还没有归集数据", code="no_data")
                version = cur.number
            if refresh:
                rep = service.evaluate(s, resource, version)
            else:
                try:
                    rep = service.get_report(s, resource, version)
                except NotFound:
                    rep = service.evaluate(s, resource, version)
            if xlsx:
                xlsx.write_bytes(xlsx_report.build(s, resource, version))
        if as_json:
            typer.echo(json.dumps(rep.as_gx(), ensure_ascii=False, default=str))
            return
        console.print(f"{resource} 第 {version} 版：{rep.row_count} 行，总分 {rep.score}")
        from citybase.quality.rules import DIMENSIONS

        console.print("  " + "，".join(f"{DIMENSIONS[d]} {v}" for d, v in rep.scores.items()))
        for r in rep.results:
            mark = "[green]✔[/green]" if r["success"] else "[red]✘[/red]"
            res = r["result"]
            console.print(f"  {mark} {r['expectation_config']['meta']['description']}：问题 {res['unexpected_count']} 条"
                          f"（{res['unexpected_percent']:.2f}%）")
        if xlsx:
            console.print(f"已保存检核报告：{xlsx}")

    app.add_typer(quality_app, name="quality")
