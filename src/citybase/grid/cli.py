"""citybase grid …: generate demo grids, import GeoJSON, locate a point."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    grid_app = typer.Typer(help="网格：生成、导入、坐标定位", no_args_is_help=True)
    app.add_typer(grid_app, name="grid")

    from citybase.console import console, friendly, progress

    @grid_app.command("generate")
    @friendly
    def generate(seed: int = typer.Option(2026, "--seed", help="随机种子（相同种子生成相同网格）"),
                 target_km2: float = typer.Option(1.6, "--target-km2",
                                                  help="镇的目标网格面积（平方公里），街道取其一半"),
                 district: list[str] = typer.Option(None, "--district", help="只生成这些区（可重复）")) -> None:
        """按真实区界生成演示网格（替换现有网格图层）。"""
        from citybase.core.identity.principal import SYSTEM
        from citybase.db import session_scope
        from citybase.grid import service

        with progress() as bar:
            task = bar.add_task("生成网格", total=None)

            def tick(done: int, total: int, label: str) -> None:
                bar.update(task, completed=done, total=total, description=f"生成网格：{label}")

            with session_scope() as s:
                result = service.generate(s, SYSTEM, seed=seed, target_km2=target_km2,
                                          district_codes=district or None, progress=tick)
        console.print(f"[green]已生成[/green] {result.grids} 个网格、{result.communities} 个社区/村、"
                      f"{result.streets} 个街道/镇，覆盖 {result.area_km2} 平方公里（版本 {result.version[:8]}）")
        console.print("说明：街道范围由区界推算，社区/村名称为演示生成，并非真实名录。")

    @grid_app.command("import")
    @friendly
    def import_(file: Path = typer.Argument(..., help="GeoJSON 文件（WGS84）"),
                mode: str = typer.Option("replace", "--mode", help="replace 整体替换 / merge 按编码合并")) -> None:
        """导入网格 GeoJSON；有任何问题则不写入并逐条说明。"""
        from citybase.core.errors import BadInput
        from citybase.core.identity.principal import SYSTEM
        from citybase.db import session_scope
        from citybase.grid import service

        if not file.is_file():
            raise BadInput(f"文件不存在：{file}", code="file_not_found")
        data = file.read_bytes()
        try:
            with session_scope() as s:
                result = service.import_geojson(s, SYSTEM, data, mode=mode, source_label=file.name)
        except BadInput as exc:
            for e in exc.detail.get("errors", []):
                console.print(f"[red]·[/red] {e['message']}")
            exc.detail = {k: v for k, v in exc.detail.items() if k != "errors"}
            raise
        console.print(f"[green]导入完成[/green]：{result.grids} 个网格、{result.communities} 个社区/村；"
                      f"保留网格员分配 {result.assignments_kept} 条，移除 {result.assignments_dropped} 条")

    @grid_app.command("export")
    @friendly
    def export(file: Path = typer.Argument(..., help="输出的 GeoJSON 文件"),
               district: str = typer.Option(None, "--district", help="只导出该区")) -> None:
        """导出网格为 GeoJSON（可编辑后再用 grid import 导入）。"""
        from citybase.db import make_session
        from citybase.grid import service

        with make_session() as s:
            text = service.grids_geojson_text(s, district)
        file.write_text(text, encoding="utf-8")
        console.print(f"已导出到 {file}（{file.stat().st_size / 1024:,.0f} KB）")

    @grid_app.command("locate")
    @friendly
    def locate(lon: float = typer.Argument(..., help="WGS84 经度"),
               lat: float = typer.Argument(..., help="WGS84 纬度")) -> None:
        """查询坐标所在的网格、社区、街道和区。"""
        from citybase.db import make_session
        from citybase.grid import service

        with make_session() as s:
            hit = service.locate_or_error(s, lon, lat)
            workers = service.grid_workers(s, hit.grid_code)
        console.print(f"网格：{hit.grid_code} {hit.grid_name}")
        console.print(f"社区：{hit.community_code} {hit.community_name}")
        console.print(f"街道：{hit.street_code} {hit.street_name}")
        console.print(f"区：  {hit.district_code} {hit.district_name}")
        console.print(f"网格员：{'、'.join(workers) if workers else '（未分配）'}")
