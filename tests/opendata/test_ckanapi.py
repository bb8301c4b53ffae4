"""The real ``ckanapi`` client against a live server on 127.0.0.1, default POST mode and get_only."""

from __future__ import annotations

import json

import pytest
from ckanapi import NotAuthorized, NotFound, RemoteCKAN, SearchQueryError, ValidationError

from tests.opendata.conftest import CLOSED, COND, N_ROWS, OPEN


@pytest.mark.parametrize("get_only", [False, True])
def test_ckanapi_remote(od_city, live_server, get_only):
    with RemoteCKAN(live_server, get_only=get_only, user_agent="citybase-test") as ckan:
        assert set(ckan.action.package_list()) == {OPEN, COND}
        found = ckan.action.package_search(q="水质", rows=5, **{"facet.field": json.dumps(["organization", "tags"])})
        assert found["count"] == 1 and found["results"][0]["name"] == OPEN
        assert found["facets"]["tags"] == {"水质": 1, "监测站": 1}
        pkg = ckan.action.package_show(id=OPEN)
        assert pkg["organization"]["title"] and pkg["num_resources"] == len(pkg["resources"])
        rid = next(r["id"] for r in pkg["resources"] if r["datastore_active"])
        assert ckan.action.resource_show(id=rid)["package_id"] == OPEN
        filters = {"station": "ST02"}
        res = ckan.action.datastore_search(resource_id=rid, filters=json.dumps(filters) if get_only else filters,
                                           limit=4, sort="count desc", include_total=True)
        assert res["total"] == N_ROWS // 6 and len(res["records"]) == 4
        assert res["records"][0]["count"] == 56
        orgs = ckan.action.organization_list(all_fields=True)
        assert {o["name"] for o in orgs} == {"320200-sthjj", "320200-scjgj"}
        assert ckan.action.group_list() == ["202"]
        assert ckan.action.status_show()["site_title"]
        with pytest.raises(NotFound):
            ckan.action.package_show(id=CLOSED)
        with pytest.raises(NotAuthorized):
            ckan.action.datastore_search(resource_id=COND)
        with pytest.raises(ValidationError):
            ckan.action.datastore_search(resource_id=rid, limit=40000)
        with pytest.raises(ValidationError):
            ckan.action.datastore_search(resource_id=rid, sort="owner_id")
        with pytest.raises(SearchQueryError):
            ckan.action.package_search(fq="secret_field:1")
