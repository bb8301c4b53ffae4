"""The CKAN Action API v3 actions (read-only), over public data only."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from citybase import __version__
from citybase.core.errors import BadInput, NotFound
from citybase.core.identity.principal import Principal
from citybase.opendata.service import datastore, packages
from citybase.opendata.service.public import can_get_data, get_listed, listed_resources

Action = Callable[[Session, Principal, dict[str, Any], str], Any]


def _int(params: dict[str, Any], name: str, default: int | None, lo: int, hi: int) -> int | None:
    return packages._int(params.get(name), name, default, lo, hi) if params.get(name) not in (None, "") else default  # type: ignore[return-value]


def _bool(value: Any, default: bool = False) -> bool:
    if value in (None, ""):
        return default
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1", "yes", "on"):
        return True
    if str(value).lower() in ("false", "0", "no", "off"):
        return False
    raise BadInput("布尔参数应为 true 或 false", code="bad_bool")


def _json_param(value: Any, name: str) -> Any:
    """GET passes objects as JSON text (ckanapi get_only does this for dict/list values)."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            raise BadInput(f"{name} 不是有效的 JSON", code=f"bad_{name}") from None
    return value


def status_show(session: Session, principal: Principal, p: dict[str, Any], base: str) -> dict[str, Any]:
    return {"site_title": "无锡市公共数据开放平台", "site_description": "城市数字底座 · 开放平台（CKAN Action API 兼容）",
            "site_url": base, "ckan_version": "2.10.0", "citybase_version": __version__, "locale_default": "zh_Hans_CN",
            "extensions": ["datastore", "dcat"]}


def package_list(session: Session, principal: Principal, p: dict[str, Any], base: str) -> list[str]:
    limit = _int(p, "limit", None, 0, 100000)
    offset = _int(p, "offset", 0, 0, 10**7) or 0
    names = [r.code for r in listed_resources(session)]
    return names[offset: offset + limit] if limit is not None else names[offset:]


def package_search(session: Session, principal: Principal, p: dict[str, Any], base: str) -> dict[str, Any]:
    return packages.search(session, base, q=p.get("q"), fq=p.get("fq"), rows=p.get("rows"), start=p.get("start"),
                           sort=p.get("sort"), facet_fields=p.get("facet.field"), facet_limit=p.get("facet.limit"),
                           facet=p.get("facet", True))


def package_show(session: Session, principal: Principal, p: dict[str, Any], base: str) -> dict[str, Any]:
    return packages.show(session, base, p.get("id") or p.get("name_or_id"))


def organization_list(session: Session, principal: Principal, p: dict[str, Any], base: str) -> list[Any]:
    orgs = packages.organizations(session)
    limit = _int(p, "limit", None, 0, 1000)
    offset = _int(p, "offset", 0, 0, 10**6) or 0
    orgs = orgs[offset: offset + limit] if limit is not None else orgs[offset:]
    return orgs if _bool(p.get("all_fields")) else [o["name"] for o in orgs]


def organization_show(session: Session, principal: Principal, p: dict[str, Any], base: str) -> dict[str, Any]:
    ident = p.get("id")
    for o in packages.organizations(session):
        if ident in (o["id"], o["title"]):
            if _bool(p.get("include_datasets")):
                o["packages"] = [packages.package_dict(session, r, base, with_resources=False)
                                 for r in listed_resources(session) if r.provider_code == o["id"]][:1000]
            return o
    raise NotFound("组织不存在（或没有开放数据集）", code="unknown_organization")


def group_list(session: Session, principal: Principal, p: dict[str, Any], base: str) -> list[Any]:
    gs = packages.groups(session)
    return gs if _bool(p.get("all_fields")) else [g["name"] for g in gs]


def group_show(session: Session, principal: Principal, p: dict[str, Any], base: str) -> dict[str, Any]:
    ident = p.get("id")
    for g in packages.groups(session):
        if ident in (g["id"], g["title"]):
            if _bool(p.get("include_datasets")):
                g["packages"] = [packages.package_dict(session, r, base, with_resources=False)
                                 for r in listed_resources(session) if packages.group_name(r) == g["id"]][:1000]
            return g
    raise NotFound("分组不存在", code="unknown_group")


def tag_list(session: Session, principal: Principal, p: dict[str, Any], base: str) -> list[str]:
    tags = packages.tags(session)
    query = p.get("query")
    if isinstance(query, str) and query:
        tags = [t for t in tags if query in t]
    return tags


def resource_show(session: Session, principal: Principal, p: dict[str, Any], base: str) -> dict[str, Any]:
    return packages.resource_show(session, base, p.get("id"))


def datastore_search(session: Session, principal: Principal, p: dict[str, Any], base: str) -> dict[str, Any]:
    rid = p.get("resource_id") or p.get("id")
    if not isinstance(rid, str) or not rid.strip():
        raise BadInput("缺少 resource_id", code="missing_resource_id", detail={"resource_id": ["缺少值"]})
    code, _fmt = packages.split_resource_id(rid.strip())
    try:
        res = get_listed(session, code)
    except NotFound:
        raise NotFound(f"资源不存在：{rid[:60]}", code="unknown_resource") from None
    if not can_get_data(session, principal, res):
        from citybase.core.errors import PermissionDenied

        raise PermissionDenied("该数据集为“有条件开放”，请登录后在数据集页面提交申请，经提供部门审批后获取",
                               code="application_required")
    store = datastore.require_store(session, res)
    fmt = p.get("records_format") or "objects"
    if fmt not in ("objects", "lists"):
        raise BadInput("records_format 只支持 objects 或 lists", code="bad_records_format")
    result = datastore.search(store, q=_json_param(p.get("q"), "q"), filters=_json_param(p.get("filters"), "filters"),
                              fields=_json_param(p.get("fields"), "fields"), sort=p.get("sort"),
                              limit=p.get("limit"), offset=p.get("offset"),
                              include_total=_bool(p.get("include_total"), True), records_format=fmt)
    result["resource_id"] = rid.strip()
    return result


READ_ACTIONS: dict[str, Action] = {
    "status_show": status_show, "package_list": package_list, "package_search": package_search,
    "package_show": package_show, "organization_list": organization_list, "organization_show": organization_show,
    "group_list": group_list, "group_show": group_show, "tag_list": tag_list, "resource_show": resource_show,
    "datastore_search": datastore_search,
}
# CKAN write actions exist but the open platform is read-only for the public
WRITE_ACTIONS = {"package_create", "package_update", "package_patch", "package_delete", "resource_create",
                 "resource_update", "resource_delete", "datastore_create", "datastore_upsert", "datastore_delete",
                 "organization_create", "group_create"}


def dataset_of(name: str, params: dict[str, Any]) -> str:
    """Which dataset a call is about (for usage counts), '' if none."""
    if name in ("package_show",):
        v = params.get("id")
    elif name in ("resource_show", "datastore_search"):
        v = params.get("resource_id") or params.get("id")
        if isinstance(v, str):
            v = packages.split_resource_id(v)[0]
    else:
        v = None
    return v if isinstance(v, str) and len(v) <= 40 else ""
