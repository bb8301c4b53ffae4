"""Background work: keep the public datastore files of 无条件开放 datasets built for their current lake
version, so the first API query after an ingest does not wait for the build (queries build lazily too)."""

from __future__ import annotations

import logging

from citybase.jobs import crontab, huey

log = logging.getLogger("citybase.opendata")


def prebuild_stores() -> int:
    from citybase.core.errors import CitybaseError
    from citybase.db import make_session
    from citybase.opendata.service import datastore
    from citybase.opendata.service.public import OPEN, listed_resources

    built = 0
    with make_session() as s:
        for res in listed_resources(s):
            if res.open_type != OPEN:
                continue
            try:
                built += datastore.build_store(s, res) is not None
            except CitybaseError as exc:  # one broken dataset must not stop the others
                log.warning("datastore build failed for %s: %s", res.code, exc.message)
    return built


@huey.periodic_task(crontab(minute="*/10"))
def prebuild_stores_task() -> int:
    return prebuild_stores()
