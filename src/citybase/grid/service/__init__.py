"""Grid services: the grid layer (import, generation), lookups, and grid-worker assignments.

Public API other modules may call (see the cross-module contracts):

* ``locate(session, lon, lat) -> GridHit | None`` — None outside every grid (outside the city);
* ``locate_or_error(session, lon, lat) -> GridHit`` — the same, raising a Chinese ``BadInput``
  (code ``outside_city``) for callers that must refuse such points;
* ``locate_many(session, lons, lats) -> numpy object array`` of grid codes, None outside;
* ``grid_workers(session, grid_code) -> list[str]``; ``worker_grids(session, username)``;
* ``get_grid(session, code) -> GridOut``; ``grids_geojson(session, district_code=None) -> dict``.

The spatial index is cached in-process, keyed by the database URL and the layer version stored in
``grid_state`` (a new random version is written by every import and generation, so every process
sees the change on its next call)."""

# ruff: noqa: F401 - the package keeps the import surface of the module it was split from
from citybase.grid.schemas import GridHit
from citybase.grid.service.assignments import (
    assign_worker,
    candidate_workers,
    unassign_worker,
)
from citybase.grid.service.grids import (
    _GEOJSON_CACHE,
    _grid_out,
    _grid_row,
    assignments,
    communities,
    get_grid,
    grid_detail,
    grid_workers,
    grids_geojson,
    grids_geojson_text,
    list_grids,
    open_orders_by_grid,
    overlays,
    worker_grids,
)
from citybase.grid.service.importing import (
    _chunks,
    _round_geometry_json,
    generate,
    import_geojson,
    write_layer,
)
from citybase.grid.service.layer import (
    _CACHE,
    _CACHE_LOCK,
    _CACHE_SIZE,
    _SEEN,
    COMMUNITY_CODE_LEN,
    DEFAULT_TARGET_KM2,
    GRID_CODE_LEN,
    KM_PER_DEG_LAT,
    KM_PER_DEG_LON_EQ,
    NAME_NOTE,
    CommunitySpec,
    GridSpec,
    _bump_version,
    _city,
    _Layer,
    _layer,
    _load_layer,
    area_km2,
    check_lon_lat,
    city_code,
    clear_cache,
    district_names,
    layer_summary,
    layer_version,
    locate,
    locate_many,
    locate_many_positions,
    locate_or_error,
    locator,
    street_names,
)

__all__ = [
    "GridHit",
    "assign_worker",
    "communities",
    "generate",
    "get_grid",
    "grid_detail",
    "grid_workers",
    "grids_geojson",
    "import_geojson",
    "layer_summary",
    "list_grids",
    "locate",
    "locate_many",
    "locate_or_error",
    "open_orders_by_grid",
    "unassign_worker",
    "worker_grids",
]
