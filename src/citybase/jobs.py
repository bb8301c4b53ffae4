"""The one background-job queue (huey) and its scheduler.

SQLite storage under CITYBASE_HOME by default; Redis when CITYBASE_REDIS_URL is set.
Modules put their tasks in ``<module>/jobs.py`` and use ``huey`` from here.
"""

from __future__ import annotations

from huey import Huey, RedisHuey, SqliteHuey, crontab

from citybase.config import get_settings


def _make_huey() -> Huey:
    s = get_settings()
    if s.redis_url:
        return RedisHuey("citybase", url=s.redis_url)
    return SqliteHuey("citybase", filename=str(s.jobs_path))


huey = _make_huey()


def load_job_modules() -> None:
    from citybase.modules import rooms

    rooms("jobs")


__all__ = ["huey", "crontab", "load_job_modules"]
