"""The one Settings object. Every setting comes from the environment as ``CITYBASE_*``."""

from __future__ import annotations

from functools import cached_property, lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYBASE_", extra="ignore")

    home: Path = Field(default=Path("./var"), description="Everything an instance writes lives here.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in home.")
    city_code: str = "320200"
    secret_key: str | None = Field(default=None, description="Signs cookies; default: a key file in home.")
    admin_password: str | None = None
    redis_url: str | None = Field(default=None, description="Job queue on Redis instead of SQLite.")
    npm_root: Path | None = Field(default=None, description="Folder holding node_modules.")
    # security
    session_hours: int = 12
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    token_default_days: int = 90
    max_body_bytes: int = 20 * 1024 * 1024
    cookie_secure: bool = False
    # audit
    audit_checkpoint_every: int = 100

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
