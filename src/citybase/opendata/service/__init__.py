"""开放平台 services, split by concept: ``public`` (what the public may see), ``datastore`` (the indexed
public store and datastore_search), ``packages`` (CKAN packages and search), ``ckan`` (Action API),
``downloads``, ``dcat`` (DCAT-AP 3 and data.json), ``community`` (ratings, comments, demands,
applications), ``developers`` (API keys, rate limits), ``usage`` (figures)."""

from citybase.opendata.service.community import (
    answer_demand,
    apply,
    comment,
    create_demand,
    decide,
    rate,
    report_comment,
    route_demand,
)
from citybase.opendata.service.developers import register as register_developer
from citybase.opendata.service.public import (
    can_get_data,
    get_listed,
    listed_resources,
    public_fields,
    withheld_fields,
)
from citybase.opendata.service.usage import totals as usage_totals

__all__ = ["answer_demand", "apply", "can_get_data", "comment", "create_demand", "decide", "get_listed",
           "listed_resources", "public_fields", "rate", "register_developer", "report_comment", "route_demand",
           "usage_totals", "withheld_fields"]
