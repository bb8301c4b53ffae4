"""`citybase ingest` and `citybase lake …` commands (thin: parse → service → print)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

lake_app = typer.Typer(help="数据湖：版本、数据库源", no_args_is_help=True)


def _principal(session, username: str | None):  # type: ignore[no-untyped-def]
    from citybase.core.identity import service as identity
    from citybase.core.identity.principal import SYSTEM

    if not username:
        return SYSTEM
    return identity.principal_for(identity.get_user(session, username), "system")


def _summary(session, code: str, number: int) -> dict | None:  # type: ignore[no-untyped-def]
    from citybase.lake import service

    found = service.version_quality(session, code, number)
    return None if found is None else {k: v for k, v in found.items() if k != "failed"}


def register(app: typer.Typer) -> None:
    from citybase.console import console, friendly, progress

    @app.command("ingest")
    @friendly
    def ingest(path: Path = typer.Argument(..., help="CSV/TSV/XLSX/JSON/JSONL/Parquet 文件"),
               resource: str = typer.Option(..., "--resource", "-r", help="信息资源代码"),
               mode: str = typer.Option("replace", "--mode", help="replace 全量替换 | append 追加 | upsert 按主键更新"),
               encoding: str = typer.Option("auto", "--encoding", help="auto | utf-8 | gbk | gb18030"),
               sheet: str = typer.Option(None, "--sheet", help="Excel 工作表名称（默认第一个）"),
               mapping: str = typer.Option(None, "--map", help='列映射 JSON，如 {"身份证":"gmsfhm"}'),
               user: str = typer.Option(None, "--user", help="以该用户身份归集（默认：系统）"),
               as_json: bool = typer.Option(False, "--json", help="输出 JSON")) -> None:
        """归集文件为资源的新版本，并输出质量检核摘要。数据已存储即退出码 0（质量问题属于检核发现）。"""
        from citybase.core.errors import BadInput
        from citybase.db import session_scope
        from citybase.lake import service

        try:
            mapping_d = json.loads(mapping) if mapping else None
        except json.JSONDecodeError:
            raise BadInput("--map 须为 JSON 对象", code="bad_mapping") from None
        if mode not in service.MODES:
            raise BadInput(f"不支持的归集方式“{mode}”：可选 replace、append、upsert", code="bad_mode")
        with progress() as bar:
            task = bar.add_task(f"归集 {path.name}", total=100)

            def prog(frac: float, msg: str) -> None:
                bar.update(task, completed=int(frac * 100), description=f"{msg} {path.name}")

            with session_scope() as s:
                v = service.ingest_file(s, _principal(s, user), resource, path, mode=mode, encoding=encoding,
                                        sheet=sheet, mapping=mapping_d, progress=prog)
            bar.update(task, completed=100)
        with session_scope(write=False) as s:
            summary = _summary(s, resource, v.number)
        if as_json:
            typer.echo(json.dumps({"version": v.model_dump(mode="json"), "quality": summary}, ensure_ascii=False))
            return
        console.print(f"[green]已归集[/green] {resource} 第 {v.number} 版：{v.row_count} 行，"
                      f"新增 {v.rows_added}、删除 {v.rows_removed}、变更 {v.rows_changed}；"
                      f"编码 {v.encoding}，SM3 {v.input_sm3[:16]}…，用时 {v.duration_ms} ms")
        for w in v.warnings:
            console.print(f"[yellow]提示：{w.get('message')}[/yellow]")
        if summary:
            console.print(f"质量得分 {summary['score']}（{'全部通过' if summary['success'] else str(summary['failed_rules']) + ' 条规则发现问题'}）")
            for f in summary["findings"]:
                console.print(f"  · {f['description']}：{f['unexpected_count']} 条（{f['unexpected_percent']:.2f}%）")

    @lake_app.command("versions")
    @friendly
    def versions(resource: str, as_json: bool = typer.Option(False, "--json")) -> None:
        """列出资源的数据版本。"""
        from rich.table import Table

        from citybase.db import make_session
        from citybase.lake import service

        with make_session() as s:
            vs = service.list_versions(s, resource)
        if as_json:
            typer.echo(json.dumps([v.model_dump(mode="json") for v in vs], ensure_ascii=False))
            return
        t = Table(title=f"{resource} 的数据版本")
        for col in ("版本", "当前", "行数", "新增", "删除", "变更", "方式", "来源", "时间", "操作人"):
            t.add_column(col)
        from citybase.core.time import local_time

        for v in vs:
            t.add_row(str(v.number), "✔" if v.is_current else "", str(v.row_count), str(v.rows_added),
                      str(v.rows_removed), str(v.rows_changed), v.mode_label, v.source_label,
                      local_time(v.created_at), v.created_by)
        console.print(t)

    @lake_app.command("pull")
    @friendly
    def pull(resource: str) -> None:
        """立即从已登记的数据库源拉取一次。"""
        from citybase.lake import jobs

        v = jobs.pull_one(resource)
        console.print(f"[green]已拉取[/green] {resource} 第 {v.number} 版：{v.row_count} 行")

    @lake_app.command("source")
    @friendly
    def source(resource: str, url: str = typer.Option(..., "--url", help="SQLAlchemy URL"),
               query: str = typer.Option(..., "--query", help="SELECT 查询"),
               mode: str = typer.Option("replace", "--mode"), timeout: int = typer.Option(300, "--timeout")) -> None:
        """登记资源的数据库源（按更新周期由后台任务拉取）。"""
        from citybase.core.identity.principal import SYSTEM
        from citybase.db import session_scope
        from citybase.lake import service
        from citybase.lake.schemas import SqlSourceIn

        with session_scope() as s:
            out = service.set_sql_source(s, SYSTEM, resource, SqlSourceIn(url=url, query=query, mode=mode,
                                                                           timeout_s=timeout))
        console.print(f"已登记数据库源：{out.url_masked}")

    app.add_typer(lake_app, name="lake")
