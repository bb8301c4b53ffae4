"""Where an order is: coordinates or a standard address to grid, community, street and district; duplicates; classification."""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citybase.config import get_settings
from citybase.core.errors import (
    BadInput,
)
from citybase.core.time import utcnow
from citybase.events import classifier
from citybase.events.models import WorkOrder
from citybase.events.service.states import DUPLICATE_HOURS, DUPLICATE_RADIUS_M, MERGED, REJECTED
from citybase.grid import service as grid
from citybase.grid.schemas import GridHit
from citybase.reference import divisions


@dataclass
class Place:
    grid_code: str | None = None
    community_code: str | None = None
    street_code: str | None = None
    district_code: str | None = None
    label: str = ""
    lon: float | None = None  # set when the place was found from an address
    lat: float | None = None
    approximate: bool = False  # the point is the nearest house number on the named road, not the address

    @property
    def level(self) -> str:
        """How precisely the place is known: grid, point, street, district or none."""
        if self.grid_code:
            return "grid"
        if self.lon is not None:
            return "point"
        return "street" if self.street_code else "district" if self.district_code else "none"

    @property
    def warning(self) -> str:
        """What the operator should hear when the place is not a grid (empty when it is)."""
        if self.level == "grid":
            return "按同一道路最近的门牌近似定位，请与来电人核实门牌" if self.approximate else ""
        return {"point": "已定位到坐标，但该处没有网格，将由区里分拨",
                "street": "只定位到街道，未定位到网格：请补充道路门牌，或在地图上选点",
                "district": "只定位到区，未定位到街道和网格：请补充街道、道路门牌，或在地图上选点",
                "none": "无法定位：请填写事发地址或在地图上选点"}[self.level]

log = logging.getLogger("citybase.events.service")


def locate(session: Session, lon: float | None, lat: float | None, address: str | None = None,
           grid: Any = None) -> Place:
    """Point → grid, community, street, district (via the grid module), else district by boundary;
    address text → street/district by name. BadInput when the point lies outside the city.
    ``grid``: a locator from :func:`grid_locator`, for many points in a row."""
    if lon is not None and lat is not None:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise BadInput("经纬度超出范围", code="bad_point", detail={"lon": lon, "lat": lat})
        hit = grid(lon, lat) if grid is not None else _grid_locate(session, lon, lat)
        if hit is not None:
            return Place(hit.grid_code, hit.community_code, hit.street_code, hit.district_code,
                         f"{hit.district_name}{hit.street_name}{hit.grid_name}")
        district = divisions.locate_district(lon, lat, get_settings().city_code)
        if district is None:
            raise BadInput("该位置不在本市范围内", code="outside_city", detail={"lon": lon, "lat": lat})
        place = Place(district_code=district, label=divisions.division_name(district) or "")
        if address:  # no grids here: the street named in the address, if it lies in that district
            named = _geocode_text(address)
            if named.street_code and named.district_code == district:
                place.street_code = named.street_code
        return place
    if address:
        found = _standard_address(session, address)
        if found is not None:  # a standard address with coordinates: the point decides the grid
            with contextlib.suppress(BadInput):  # a library point outside the city: names decide
                place = locate(session, found["lon"], found["lat"], grid=grid)
                place.lon, place.lat, place.label = found["lon"], found["lat"], found["address"]
                place.approximate = found.get("precision") == "road"
                return place
        return _geocode_text(address)
    return Place()


def _standard_address(session: Session, address: str) -> dict[str, Any] | None:
    """The standard address named in the text (自然资源和空间地理基础库), if that library is built."""
    try:
        from citybase.baselib import service as baselib

        return baselib.geocode(session, address)
    except Exception:  # noqa: BLE001 - address help must never stop intake; names still match below
        log.warning("standard-address lookup failed", exc_info=True)
        return None


def address_suggestions(session: Session, text: str, limit: int = 8) -> list[str]:
    """Standard addresses matching what the operator typed, for the form's autocomplete."""
    try:
        from citybase.baselib import service as baselib

        return baselib.address_suggestions(session, text, limit)
    except Exception:  # noqa: BLE001 - autocomplete must never stop intake
        log.warning("standard-address suggestions failed", exc_info=True)
        return []


def grid_locator(session: Session, max_age: float = 0.0) -> Callable[[Any, Any], GridHit | None]:
    """The grid module's point locator (layer read once)."""
    return grid.locator(session, max_age)


def _grid_locate(session: Session, lon: float, lat: float) -> GridHit | None:
    return grid.locate(session, lon, lat)


def _geocode_text(address: str) -> Place:
    city = get_settings().city_code
    place = Place()
    for d in divisions.city_profile(city).districts:
        if d.name in address or (len(d.name) > 2 and d.name[:-1] in address):
            place.district_code = d.code
    try:
        streets = divisions.streets(city)
    except Exception:  # noqa: BLE001 - street names need the npm package; districts still work
        streets = []
    for st in streets:
        if st.name in address and (place.district_code in (None, st.district_code)):
            place.street_code, place.district_code = st.code, st.district_code
            break
    return place


def _distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    rlat1, rlat2 = math.radians(lat1), math.radians(lat2)
    dlat, dlon = rlat2 - rlat1, math.radians(lon2 - lon1)
    a = math.sin(dlat / 2) ** 2 + math.cos(rlat1) * math.cos(rlat2) * math.sin(dlon / 2) ** 2
    return 2 * 6371000 * math.asin(math.sqrt(a))


def find_duplicates(session: Session, type_code: str | None, lon: float | None, lat: float | None,
                    at: datetime | None = None, exclude: str | None = None) -> list[WorkOrder]:
    """Orders of the same type within 50 m and 24 h (candidates for 并单), nearest first."""
    if not type_code or lon is None or lat is None:
        return []
    at = at or utcnow()
    dlat = DUPLICATE_RADIUS_M / 111_000
    dlon = dlat / max(0.1, math.cos(math.radians(lat)))
    rows = session.execute(select(WorkOrder).where(
        WorkOrder.type_code == type_code, WorkOrder.received_at >= at - timedelta(hours=DUPLICATE_HOURS),
        WorkOrder.received_at <= at + timedelta(minutes=1),
        WorkOrder.lon.between(lon - dlon, lon + dlon), WorkOrder.lat.between(lat - dlat, lat + dlat),
        WorkOrder.status.not_in([REJECTED, MERGED]))).scalars().all()
    near = [(round(_distance_m(lon, lat, r.lon, r.lat), 1), r) for r in rows
            if r.number != exclude and _distance_m(lon, lat, r.lon, r.lat) <= DUPLICATE_RADIUS_M]
    return [r for _, r in sorted(near, key=lambda x: (x[0], x[1].id))]


def suggest_types(text: str, top: int = 3) -> list[tuple[str, float]]:
    try:
        return list(classifier.classify(text, top=top))
    except Exception as exc:  # noqa: BLE001 - a broken model must never stop intake; the operator classifies
        log.warning("classifier failed (%s); intake continues without a suggestion", exc)
        return []
