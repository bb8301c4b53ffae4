"""`citybase iot …`: profiles, devices (add/import/revoke), the MQTT bridge, the simulator, maintenance."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    from citybase.console import console, friendly

    iot_app = typer.Typer(help="物联感知", no_args_is_help=True)
    device_app = typer.Typer(help="设备", no_args_is_help=True)
    profile_app = typer.Typer(help="设备档案（型号）", no_args_is_help=True)
    iot_app.add_typer(device_app, name="device")
    iot_app.add_typer(profile_app, name="profile")
    app.add_typer(iot_app, name="iot")

    @profile_app.command("list")
    @friendly
    def profile_list() -> None:
        """列出设备档案。"""
        from rich.table import Table

        from citybase.db import make_session
        from citybase.iot import service

        table = Table()
        for col in ("名称", "中文名", "主管部门", "量值", "规则", "设备数"):
            table.add_column(col)
        with make_session() as s:
            for p in service.list_profiles(s):
                table.add_row(p.name, p.label, p.org_code, "、".join(q.key for q in p.quantities),
                              str(len(p.rules)), str(p.device_count))
        console.print(table)

    @profile_app.command("load")
    @friendly
    def profile_load(file: Path = typer.Argument(..., help="JSON：一个档案或档案数组")) -> None:
        """从 JSON 文件新建或更新设备档案。"""
        from citybase.core.identity.principal import SYSTEM
        from citybase.db import session_scope
        from citybase.iot import service

        data = json.loads(file.read_text(encoding="utf-8"))
        with session_scope() as s:
            for item in data if isinstance(data, list) else [data]:
                p = service.save_profile(s, SYSTEM, item)
                console.print(f"已保存设备档案 {p.name}（{p.label}）")

    @device_app.command("add")
    @friendly
    def device_add(profile: str = typer.Option(..., "--profile", help="设备档案名称"),
                   code: str = typer.Option(..., "--code", help="设备编码（城市部件编码）"),
                   lon: float = typer.Option(..., "--lon", help="经度 WGS84"),
                   lat: float = typer.Option(..., "--lat", help="纬度 WGS84"),
                   org: str = typer.Option(None, "--org", help="权属单位代码（默认档案的主管部门）"),
                   name: str = typer.Option("", "--name", help="名称"),
                   address: str = typer.Option("", "--address", help="地址")) -> None:
        """登记设备，只在标准输出打印它的接入令牌。"""
        from citybase.core.identity.principal import SYSTEM
        from citybase.db import session_scope
        from citybase.iot import service

        with session_scope() as s:
            _, token = service.create_device(s, SYSTEM, {"profile": profile, "code": code, "lon": lon, "lat": lat,
                                                         "org_code": org, "name": name, "address": address})
        typer.echo(token)

    @device_app.command("import")
    @friendly
    def device_import(file: Path = typer.Argument(..., help=".xlsx 或 .csv"),
                      profile: str = typer.Option(None, "--profile", help="默认设备档案"),
                      out: Path = typer.Option(None, "--out", help="把 编码,令牌 写入此 CSV 文件")) -> None:
        """批量登记设备（全部正确才导入），输出每台设备的令牌。"""
        from citybase.core.identity.principal import SYSTEM
        from citybase.db import session_scope
        from citybase.iot import service

        with session_scope() as s:
            pairs = service.import_devices(s, SYSTEM, file, default_profile=profile)
        text = "code,token\n" + "".join(f"{c},{t}\n" for c, t in pairs)
        if out:
            out.write_text(text, encoding="utf-8")
            console.print(f"已导入 {len(pairs)} 台设备，令牌已写入 {out}")
        else:
            typer.echo(text, nl=False)

    @device_app.command("revoke")
    @friendly
    def device_revoke(code: str) -> None:
        """吊销设备凭据（HTTP 与 MQTT 都会被拒绝）。"""
        from citybase.core.identity.principal import SYSTEM
        from citybase.db import session_scope
        from citybase.iot import service

        with session_scope() as s:
            service.set_status(s, SYSTEM, code, "revoked")
        console.print(f"已吊销设备 {code} 的凭据")

    @iot_app.command("bridge")
    @friendly
    def bridge(host: str = typer.Option(None, "--host", help="设备连接的监听地址"),
               port: int = typer.Option(None, "--port", help="设备连接的 MQTT 端口"),
               broker_host: str = typer.Option(None, "--broker-host", help="站点 MQTT 代理（Mosquitto）地址"),
               broker_port: int = typer.Option(None, "--broker-port", help="站点 MQTT 代理端口"),
               no_fanout: bool = typer.Option(False, "--no-fanout", help="不向代理转发归一化遥测")) -> None:
        """运行 MQTT 桥：设备以令牌为用户名接入，QoS 1 落库后才确认；归一化遥测转发到 Mosquitto。"""
        from citybase.config import get_settings
        from citybase.iot.bridge import run

        st = get_settings()
        h, p = host or st.iot_gateway_host, port or st.iot_gateway_port
        broker = None if no_fanout else (broker_host or st.iot_mqtt_host, broker_port or st.iot_mqtt_port)
        console.print(f"MQTT 桥已启动：设备连接 {h}:{p}" + (f"；转发到 {broker[0]}:{broker[1]}" if broker else ""))
        run(h, p, broker)

    @iot_app.command("simulate")
    @friendly
    def simulate(devices: int = typer.Option(200, "--devices", help="模拟的演示设备数"),
                 rate: float = typer.Option(200.0, "--rate", help="每秒读数（总计）"),
                 duration: float = typer.Option(60.0, "--duration", help="持续秒数"),
                 url: str = typer.Option("http://127.0.0.1:8000", "--url", help="服务地址"),
                 faults: float = typer.Option(0.02, "--faults", help="故障比例（超限、异常值、坏数据）")) -> None:
        """以演示设备身份经 HTTP 持续上报逼真的读数，偶发故障。"""
        from citybase.iot.simulate import run_simulation

        report = run_simulation(devices=devices, rate=rate, duration=duration, url=url, faults=faults,
                                console=console)
        console.print(json.dumps(report, ensure_ascii=False))

    @iot_app.command("maintain")
    @friendly
    def maintain(archive: bool = typer.Option(True, "--archive/--no-archive", help="执行保留期归档")) -> None:
        """立即执行一次维护：汇总、离线检测、静默清除、归档、告警派单与工单回写。"""
        from citybase.iot import service

        console.print(json.dumps(service.maintenance(archive=archive), ensure_ascii=False, default=str))

    @iot_app.command("export")
    @friendly
    def export(days: int = typer.Option(7, "--days", help="导出最近几天的小时汇总"),
               register_resources: bool = typer.Option(True, "--register/--no-register",
                                                       help="先为每个档案登记目录资源")) -> None:
        """把各设备档案的小时汇总登记为目录资源并归集入湖。"""
        from citybase.core.identity.principal import SYSTEM
        from citybase.db import session_scope
        from citybase.iot import service

        with session_scope() as s:
            if register_resources:
                for p in service.list_profiles(s):
                    console.print(json.dumps({"profile": p.name, **service.register_resource(s, SYSTEM, p.name)},
                                             ensure_ascii=False))
            for r in service.export_all(s, SYSTEM, days):
                console.print(json.dumps(r, ensure_ascii=False, default=str))
