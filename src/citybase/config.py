"""The one Settings object. Every setting comes from the environment as ``CITYBASE_*``.

Every ``CITYBASE_*`` variable the code reads is a field here, and only here is the environment read
(``citybase config`` prints the effective values; the README's table is generated from these fields).
This file imports nothing from citybase, so every floor, ``standards`` and ``reference`` included,
may read its settings.
"""

from __future__ import annotations

import re
from functools import cached_property, lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYBASE_", extra="ignore")

    home: Path = Field(default=Path("./var"), description="实例写入的一切（数据库、数据湖、密钥、任务库、上传文件）所在目录")
    database_url: str | None = Field(default=None, description="SQLAlchemy 数据库地址；缺省为 home 下的 SQLite")
    city_code: str = Field(default="320200", description="本市行政区划代码（参考数据按它选取）")
    secret_key: str | None = Field(default=None, json_schema_extra={"secret": True}, description="签名 Cookie 的密钥；缺省为 home/keys 下的密钥文件")
    admin_password: str | None = Field(default=None, json_schema_extra={"secret": True}, description="citybase init 创建管理员 admin 时的初始密码")
    redis_url: str | None = Field(default=None, description="Redis 地址：任务队列与多进程共享限流；缺省用 SQLite 与进程内限流")
    npm_root: Path | None = Field(default=None, description="含 node_modules 的目录（或 node_modules 本身）")
    reference_dir: Path | None = Field(default=None, description="另一城市的参考数据目录（其下 cities/<代码>.json 优先于内置）")
    # security
    session_hours: int = Field(default=12, description="登录会话有效小时数")
    login_max_failures: int = Field(default=5, description="连续登录失败多少次后锁定")
    login_lockout_minutes: int = Field(default=15, description="锁定分钟数")
    token_default_days: int = Field(default=90, description="API 令牌默认有效天数")
    token_cache_seconds: float = Field(default=5.0, description="令牌校验结果在进程内缓存的秒数（其他进程的吊销最迟这么久生效）")
    max_body_bytes: int = Field(default=20 * 1024 * 1024, description="请求体上限（字节）")
    cookie_secure: bool = Field(default=False, description="Cookie 只经 HTTPS 发送")
    # audit
    audit_checkpoint_every: int = Field(default=100, description="每多少条账本条目签一个检查点")
    # lake
    lake_keep_versions: int = Field(default=10, description="每个资源保留的数据版本数")
    lake_max_input_bytes: int = Field(default=2 * 1024**3, description="单次归集的文件大小上限（字节）")
    lake_xlsx_max_bytes: int = Field(default=100 * 1024**2, description="Excel 文件大小上限（字节）")
    lake_xlsx_max_uncompressed: int = Field(default=512 * 1024**2, description="Excel 解压后大小上限（字节，防压缩炸弹）")
    lake_xlsx_max_ratio: int = Field(default=200, description="Excel 解压比上限（防压缩炸弹）")
    lake_threads: int = Field(default=0, description="DuckDB 线程数；0 为 CPU 核数")
    lake_memory_limit: str = Field(default="1GB", description="DuckDB 内存上限")
    # quality
    objection_workdays: int = Field(default=5, description="数据异议的答复时限（工作日）")
    # events
    intake_reference_seconds: float = Field(default=2.0, description="受理接口复用本进程读过的参考数据的秒数")
    intake_writers: int = Field(default=1, description="每个进程同时写入的受理批次数")
    # opendata
    opendata_key_rpm: int = Field(default=600, description="开发者密钥默认每分钟调用次数")
    opendata_ip_rpm: int = Field(default=120, description="匿名访问每个 IP 每分钟调用次数")
    # iot
    iot_max_batch: int = Field(default=20000, description="每个请求或消息的读数上限")
    iot_max_future_s: int = Field(default=300, description="读数时间超前服务器时钟多少秒即拒收")
    iot_max_age_days: int = Field(default=30, description="读数早于多少天即拒收（迟到数据走导入）")
    iot_rate_per_s: float = Field(default=50.0, description="每台设备每秒请求（或 MQTT 消息）数，持续")
    iot_rate_burst: float = Field(default=200.0, description="每台设备的突发上限")
    iot_cache_ttl_s: float = Field(default=5.0, description="设备凭据在进程内缓存的秒数")
    iot_mqtt_host: str = Field(default="127.0.0.1", description="网桥转发规范化读数的 Mosquitto 地址")
    iot_mqtt_port: int = Field(default=1883, description="Mosquitto 端口")
    iot_gateway_host: str = Field(default="0.0.0.0", description="设备连接的 MQTT 网桥监听地址")
    iot_gateway_port: int = Field(default=1884, description="MQTT 网桥端口（MQTT 3.1.1）")

    @cached_property
    def home_dir(self) -> Path:  # resolved once: every database session asks for it
        return self.home.resolve()

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home_dir / 'citybase.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    @property
    def keys_dir(self) -> Path:
        return self.home_dir / "keys"

    @property
    def lake_dir(self) -> Path:
        return self.home_dir / "lake"

    @property
    def uploads_dir(self) -> Path:
        return self.home_dir / "uploads"

    @property
    def jobs_path(self) -> Path:
        return self.home_dir / "jobs.db"

    def ensure_dirs(self) -> None:
        for d in (self.home_dir, self.keys_dir, self.lake_dir, self.uploads_dir):
            d.mkdir(parents=True, exist_ok=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    s = Settings()
    s.ensure_dirs()
    return s


def reset_settings() -> None:
    """Forget the cached settings (tests switch CITYBASE_HOME between cases)."""
    get_settings.cache_clear()


def describe(settings: Settings | None = None) -> list[dict[str, str]]:
    """Every setting: its variable, effective value (secrets hidden), default and meaning."""
    settings = settings or get_settings()
    rows = []
    for name, f in Settings.model_fields.items():
        extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
        value = getattr(settings, name)
        secret = bool(extra.get("secret"))
        shown = "" if value is None else ("******" if secret else _hide_password(str(value)))
        default = "" if f.default is None else str(f.default)
        rows.append({"variable": f"CITYBASE_{name.upper()}", "value": shown, "default": default,
                     "secret": "yes" if secret else "", "description": f.description or ""})
    return rows


def reference_table() -> str:
    """The README's settings reference: one Markdown row per field of :class:`Settings`."""
    lines = ["| 环境变量 | 默认值 | 说明 |", "|---|---|---|"]
    for row in describe(Settings(home=Path("./var"))):
        default = f"`{row['default']}`" if row["default"] else "（无）"
        lines.append(f"| `{row['variable']}` | {default} | {row['description']} |")
    return "\n".join(lines)


def _hide_password(value: str) -> str:
    """``scheme://user:password@host`` → ``scheme://user:******@host`` (database and Redis URLs)."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1******@", value)
