"""`citybase exchange …` commands (thin): overdue check, pending 属地回流 deliveries, the overview."""

from __future__ import annotations

import typer

exchange_app = typer.Typer(help="共享交换：超期检查、属地回流交付、总览", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    from citybase.console import console, friendly

    @exchange_app.command("overdue")
    @friendly
    def overdue() -> None:
        """把超过 10 个工作日未答复的共享申请报大数据管理局（定时任务也会执行）。"""
        from citybase.db import session_scope
        from citybase.exchange import service

        with session_scope() as s:
            ids = service.flag_overdue(s)
        console.print(f"新标记超期申请 {len(ids)} 个" + (f"：{', '.join(f'#{i}' for i in ids)}" if ids else ""))

    @exchange_app.command("deliver")
    @friendly
    def deliver() -> None:
        """立即交付所有待交付的属地回流版本。"""
        from citybase.exchange.service import run_deliveries

        done = run_deliveries()
        if not done:
            console.print("没有待交付的属地回流")
        for did, status in done.items():
            console.print(f"交付 #{did}：{status}")

    @exchange_app.command("overview")
    @friendly
    def overview() -> None:
        """输出共享申请状态、超期数和公共数据按需共享率。"""
        from citybase.core.identity.principal import SYSTEM
        from citybase.db import make_session
        from citybase.exchange import service

        with make_session() as s:
            o = service.overview(s, SYSTEM)
        states = "，".join(f"{o['state_labels'][k]} {v}" for k, v in o["by_state"].items())
        rate = "—" if o["response_rate"] is None else f"{o['response_rate']:.1f}%"
        console.print(f"共享申请 {o['total']} 个（{states}）；超期未答复 {o['overdue']} 个；有效授权 {o['grants_active']} 项；"
                      f"公共数据按需共享率 {rate}")

    app.add_typer(exchange_app, name="exchange")
