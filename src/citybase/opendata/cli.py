"""`citybase opendata …` commands (thin)."""

from __future__ import annotations

import typer

opendata_app = typer.Typer(help="开放平台：公共数据存储", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    from citybase.console import console, friendly, progress

    @opendata_app.command("build-stores")
    @friendly
    def build_stores(dataset: str = typer.Argument(None, help="数据集代码（默认全部无条件开放数据集）")) -> None:
        """为开放数据集预先建立带索引的公共数据存储（新版本数据归集后运行，首次查询无需等待）。"""
        from citybase.db import make_session
        from citybase.opendata.service import datastore
        from citybase.opendata.service.public import OPEN, get_listed, listed_resources

        with make_session() as s:
            items = [get_listed(s, dataset)] if dataset else [r for r in listed_resources(s) if r.open_type == OPEN]
            with progress() as bar:
                task = bar.add_task("建立公共数据存储", total=len(items))
                built = 0
                for res in items:
                    store = datastore.build_store(s, res)
                    built += store is not None
                    bar.advance(task)
        console.print(f"已就绪 {built} 个数据集的公共数据存储（其余暂无数据）")

    app.add_typer(opendata_app, name="opendata")
