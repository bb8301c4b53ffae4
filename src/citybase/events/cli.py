"""citybase events …: load problem types, fire due timers, show figures."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    ev_app = typer.Typer(help="一网统管：问题类型、计时器、统计", no_args_is_help=True)
    app.add_typer(ev_app, name="events")

    from citybase.console import console, friendly

    @ev_app.command("seed-types")
    @friendly
    def seed_types() -> None:
        """导入内置问题类型及处置时限（已有的类型保留管理员的修改）。"""
        from citybase.core.identity.principal import SYSTEM
        from citybase.db import session_scope
        from citybase.events import service

        with session_scope() as s:
            n = service.seed_problem_types(s, SYSTEM)
        console.print(f"[green]已导入[/green] {n} 个问题类型")

    @ev_app.command("timers")
    @friendly
    def timers() -> None:
        """立即处理到期的计时器（签收超时、预警、超期、催办、督办）；每个动作只执行一次。"""
        from citybase.events import service

        n = service.process_due_timers()
        console.print(f"已处理 {n} 个到期计时动作")

    @ev_app.command("stats")
    @friendly
    def stats(by: str = typer.Option("district", "--by", help="分组：district/street/unit/type")) -> None:
        """按区、街道、承办单位或问题类型输出考核指标。"""
        from rich.table import Table

        from citybase.core.identity.principal import SYSTEM
        from citybase.db import make_session
        from citybase.events import service

        with make_session() as s:
            rows = service.stats(s, SYSTEM, by)
        table = Table(title=f"一网统管考核指标（按 {by}）")
        for col in ("名称", "工单数", "签收率", "按时办结率", "满意率", "结案率", "返工率", "平均办理时长(h)"):
            table.add_column(col)

        def pct(v: float | None) -> str:
            return "—" if v is None else f"{v:.1f}%"

        for r in rows:
            table.add_row(str(r["name"]), str(r["total"]), pct(r["sign_rate"]), pct(r["ontime_rate"]),
                          pct(r["satisfaction_rate"]), pct(r["close_rate"]), pct(r["rework_rate"]),
                          "—" if r["avg_hours"] is None else str(r["avg_hours"]))
        console.print(table)
