"""Datasets as CKAN packages: departments → organizations, topic classes → groups, catalogue resources
→ packages, current data and downloads → resources. Also the public dataset search."""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy.orm import Session

from citybase.catalog import service as catalog
from citybase.catalog.schemas import ResourceOut
from citybase.core.errors import BadInput, NotFound
from citybase.lake import service as lake
from citybase.opendata.service.public import (
    LISTED,
    OPEN,
    get_listed,
    listed_map,
    listed_resources,
    public_fields,
    withheld_fields,
)

FORMATS = {"csv": ("CSV", "text/csv"), "gbk.csv": ("CSV", "text/csv"),
           "xlsx": ("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
           "json": ("JSON", "application/json"), "parquet": ("Parquet", "application/vnd.apache.parquet"),
           "zip": ("ZIP", "application/zip")}
FORMAT_LABELS = {"csv": "CSV（UTF-8）", "gbk.csv": "CSV（GBK，Excel 直接打开）", "xlsx": "Excel（XLSX）",
                 "json": "JSON", "parquet": "Parquet", "zip": "全部打包（ZIP）"}
RES_SUFFIX = {"csv": "", "gbk.csv": "-gbk", "xlsx": "-xlsx", "json": "-json", "parquet": "-parquet", "zip": "-zip"}
LICENSE = {"id": "cc-by-4.0", "title": "知识共享 署名 4.0（CC BY 4.0）",
           "url": "https://creativecommons.org/licenses/by/4.0/"}
FACET_MAP = {"organization": "provider_code", "groups": "class_item", "res_format": "format",
             "open_type": "open_type", "update_cycle": "update_cycle", "catalog_type": "catalog_type",
             "tags": "tags"}
FACET_TITLES = {"organization": "提供部门", "groups": "主题分类", "res_format": "资源格式", "open_type": "开放属性",
                "update_cycle": "更新周期", "catalog_type": "目录类型", "tags": "标签"}
DEFAULT_FACETS = ["organization", "groups", "res_format", "open_type", "update_cycle"]
FQ_RE = re.compile(r'\s*(?:\+)?([A-Za-z_]+):(?:"([^"]*)"|([^\s"]+))\s*')
SORTS = {"score": None, "name": "code", "title_string": "name", "metadata_modified": "updated_at",
         "metadata_created": "created_at"}


class SearchQueryError(BadInput):
    code = "search_query_error"


def group_name(res: ResourceOut) -> str:
    """The topic group's id: the class code's 项 — the first 项 of that name, so a 主题 class and a
    部门 class of the same name (202 生态环境, 304 生态环境) are one group on the portal."""
    from citybase.catalog.classes import CLASSES

    title = CLASSES.get(res.class_code[:3])
    if title is None:
        return res.class_code[:3]
    return min(c for c, t in CLASSES.items() if len(c) == 3 and t == title)


def group_title(res: ResourceOut) -> str:
    """The topic group's name: the classification's name of the class code's 项 (one name per group,
    whatever a department typed as the class name), else the first part of the class name."""
    from citybase.catalog.classes import CLASSES

    return CLASSES.get(res.class_code[:3]) or (res.class_name or "").split("/")[0] or res.class_code[:3]


def resource_id(code: str, fmt: str) -> str:
    return code + RES_SUFFIX[fmt]


def split_resource_id(rid: str) -> tuple[str, str]:
    for fmt, suffix in sorted(RES_SUFFIX.items(), key=lambda kv: -len(kv[1])):
        if suffix and rid.endswith(suffix):
            return rid[: -len(suffix)], fmt
    return rid, "csv"


def _iso(v: Any) -> str | None:
    return v.replace(tzinfo=None).isoformat() if v is not None else None


def org_dict(code: str, name: str, count: int | None = None) -> dict[str, Any]:
    d = {"id": code, "name": code, "title": name, "display_name": name, "description": "", "type": "organization",
         "is_organization": True, "state": "active", "approval_status": "approved", "image_url": ""}
    if count is not None:
        d["package_count"] = count
    return d


def group_dict(name: str, title: str, count: int | None = None) -> dict[str, Any]:
    d = {"id": name, "name": name, "title": title, "display_name": title, "description": "", "type": "group",
         "is_organization": False, "state": "active", "approval_status": "approved", "image_url": ""}
    if count is not None:
        d["package_count"] = count
    return d


def resources_of(session: Session, res: ResourceOut, base: str, with_data: set[str] | None = None) -> list[dict[str, Any]]:
    has_data = res.open_type == OPEN and (with_data is None or res.code in with_data)
    version = lake.current_version(session, res.code) if has_data else None
    page = f"{base}/open/datasets/{res.code}"
    if version is None:
        how = "经申请审批后获取" if res.open_type != OPEN else "暂无数据"
        return [{"id": res.code, "package_id": res.code, "name": f"{res.name}（{how}）", "description": how,
                 "format": "HTML", "mimetype": "text/html", "url": page, "url_type": None, "size": None,
                 "hash": "", "created": _iso(res.created_at), "last_modified": _iso(res.updated_at),
                 "datastore_active": False, "state": "active", "position": 0}]
    out = []
    for i, fmt in enumerate(FORMATS):
        label, mime = FORMATS[fmt]
        out.append({"id": resource_id(res.code, fmt), "package_id": res.code,
                    "name": f"{res.name}（{FORMAT_LABELS[fmt]}）", "description": f"第 {version.number} 版，{version.row_count} 行",
                    "format": label, "mimetype": mime, "url": f"{page}/download.{fmt}", "url_type": None,
                    "size": None, "hash": "", "created": _iso(version.created_at),
                    "last_modified": _iso(version.created_at), "datastore_active": fmt == "csv",
                    "state": "active", "position": i})
    return out


def package_dict(session: Session, res: ResourceOut, base: str, *, with_resources: bool = True,
                 with_data: set[str] | None = None) -> dict[str, Any]:
    fields = public_fields(res)
    withheld = withheld_fields(res)
    resources = resources_of(session, res, base, with_data) if with_resources else []
    extras = [("open_type", res.open_type), ("open_condition", res.open_condition), ("update_cycle", res.update_cycle),
              ("catalog_type", res.catalog_type), ("class_code", res.class_code), ("resource_format", res.format),
              ("publish_date", res.publish_date.isoformat() if res.publish_date else ""),
              ("withheld_fields", "、".join(f.label for f in withheld))]
    return {
        "id": res.code, "name": res.code, "title": res.name, "notes": res.summary, "type": "dataset",
        "owner_org": res.provider_code, "organization": org_dict(res.provider_code, res.provider_name),
        "private": False, "state": "active", "license_id": LICENSE["id"], "license_title": LICENSE["title"],
        "license_url": LICENSE["url"], "url": f"{base}/open/datasets/{res.code}", "version": None,
        "author": res.provider_name, "maintainer": res.provider_name,
        "metadata_created": _iso(res.published_at or res.created_at), "metadata_modified": _iso(res.updated_at),
        "tags": [{"name": k, "display_name": k, "state": "active"} for k in res.keywords], "num_tags": len(res.keywords),
        "groups": [group_dict(group_name(res), group_title(res))],
        "extras": [{"key": k, "value": v} for k, v in extras],
        "resources": resources, "num_resources": len(resources),
        "open_type": res.open_type, "update_cycle": res.update_cycle,
        "fields": [{"id": f.name, "label": f.label, "type": f.data_type, "masked": f.grading == "L2"} for f in fields],
        "withheld_fields": [{"id": f.name, "label": f.label} for f in withheld],
    }


# --------------------------------------------------------------------------- search

def _listish(value: Any, name: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("["):
            try:
                value = json.loads(s)
            except ValueError:
                raise BadInput(f"{name} 不是有效的 JSON 列表", code=f"bad_{name}") from None
        else:
            return [s]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadInput(f"{name} 应为字符串列表", code=f"bad_{name}")
    return value


def parse_fq(fq: Any) -> dict[str, list[str]]:
    """``organization:xxx groups:101 open_type:"无条件开放" update_cycle:每月 tags:水质 res_format:数据库表``."""
    if fq in (None, ""):
        return {}
    if isinstance(fq, list):
        fq = " ".join(str(x) for x in fq)
    if not isinstance(fq, str) or len(fq) > 500:
        raise SearchQueryError("fq 格式不正确", detail={"fq": str(fq)[:100]})
    out: dict[str, list[str]] = {}
    pos = 0
    while pos < len(fq):
        m = FQ_RE.match(fq, pos)
        if not m or m.end() == pos:
            raise SearchQueryError(f"无法解析筛选条件 fq：“{fq[pos:pos + 40]}”（格式：字段:值）", detail={"fq": fq[:200]})
        key, value = m.group(1), m.group(2) if m.group(2) is not None else m.group(3)
        if key not in FACET_MAP and key not in ("name", "id"):
            raise SearchQueryError(f"不支持的筛选字段：{key}", detail={"allowed": sorted(FACET_MAP)})
        out.setdefault(key, []).append(value)
        pos = m.end()
    return out


def _value(res: ResourceOut, key: str) -> list[str]:
    if key == "provider_code":
        return [res.provider_code]
    if key == "class_item":
        return [group_name(res)]
    if key == "tags":
        return list(res.keywords)
    return [str(getattr(res, key, ""))]


def _int(value: Any, name: str, default: int, lo: int, hi: int) -> int:
    if value in (None, ""):
        return default
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise BadInput(f"{name} 必须是整数", code=f"bad_{name}") from None
    if not lo <= n <= hi:
        raise BadInput(f"{name} 必须在 {lo} 到 {hi} 之间", code=f"bad_{name}", detail={name: n})
    return n


def search(session: Session, base: str, *, q: Any = None, fq: Any = None, rows: Any = None, start: Any = None,
           sort: Any = None, facet_fields: Any = None, facet_limit: Any = None, facet: Any = True) -> dict[str, Any]:
    """CKAN package_search over public datasets, on the catalogue's Chinese search index."""
    nrows = _int(rows, "rows", 10, 0, 1000)
    nstart = _int(start, "start", 0, 0, 1_000_000)
    flimit = _int(facet_limit, "facet.limit", 50, -1, 1000)
    if q is not None and not isinstance(q, str):
        raise BadInput("q 应为字符串", code="bad_q")
    text = (q or "").strip()
    if text in ("*:*", "*"):
        text = ""
    if len(text) > 200:
        raise SearchQueryError("检索词过长（最多 200 字）")
    filters = parse_fq(fq)
    wanted = _listish(facet_fields, "facet.field") or (DEFAULT_FACETS if facet not in (False, "false") else [])
    for f in wanted:
        if f not in FACET_MAP:
            raise BadInput(f"不支持的分面字段：{f}", code="bad_facet_field", detail={"allowed": sorted(FACET_MAP)})
    order = _sort(sort)
    # candidates: the catalogue's index ranks; we keep listed datasets only
    listed = listed_map(session)
    if text:
        matched = [listed[c] for c in _matching_codes(session, text) if c in listed]
    else:
        matched = list(listed.values())
    for key, values in filters.items():
        if key in ("name", "id"):
            matched = [r for r in matched if r.code in values]
            continue
        attr = FACET_MAP[key]
        matched = [r for r in matched if set(_value(r, attr)) & set(values)]
    if order is not None:
        attr, desc = order
        matched.sort(key=lambda r: (getattr(r, attr) or "") if attr != "code" else r.code, reverse=desc)
    facets: dict[str, dict[str, int]] = {}
    search_facets: dict[str, Any] = {}
    for f in wanted:
        attr = FACET_MAP[f]
        counts: dict[str, int] = {}
        titles: dict[str, str] = {}
        for r in matched:
            for v in _value(r, attr):
                if v:
                    counts[v] = counts.get(v, 0) + 1
                    titles[v] = (r.provider_name if attr == "provider_code" else
                                 group_title(r) if attr == "class_item" else v)
        items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if flimit >= 0:
            items = items[:flimit]
        facets[f] = dict(items)
        search_facets[f] = {"title": FACET_TITLES[f], "items": [
            {"name": k, "display_name": titles[k], "count": n} for k, n in items]}
    page_items = matched[nstart: nstart + nrows]
    with_data = set(lake.resources_with_data(session)) if page_items else set()
    return {"count": len(matched), "results": [package_dict(session, r, base, with_data=with_data) for r in page_items],
            "facets": facets, "search_facets": search_facets, "sort": sort or "score desc, metadata_modified desc"}


_MATCHES: OrderedDict[tuple[str, int, str], list[str]] = OrderedDict()
_MATCHES_MAX = 1000
_matches_lock = threading.Lock()


def _matching_codes(session: Session, text: str) -> list[str]:
    """Codes of listed datasets matching ``text`` in the catalogue's ranking, cached per catalogue
    generation (a portal sees the same queries again and again; any catalogue change invalidates)."""
    key = (str(session.get_bind().url), catalog.generation(session), text)
    with _matches_lock:
        hit = _MATCHES.get(key)
        if hit is not None:
            _MATCHES.move_to_end(key)
            return hit
    codes: list[str] = []
    page = 1
    while True:
        got = catalog.search(session, text, {"open_type": list(LISTED)}, page, 500)
        codes += [r.code for r in got.items]
        if page * 500 >= got.total:
            break
        page += 1
    with _matches_lock:
        _MATCHES[key] = codes
        while len(_MATCHES) > _MATCHES_MAX:
            _MATCHES.popitem(last=False)
    return codes


def _sort(sort: Any) -> tuple[str, bool] | None:
    if sort in (None, ""):
        return None
    if not isinstance(sort, str) or len(sort) > 200:
        raise SearchQueryError("sort 格式不正确")
    first = sort.split(",")[0].strip().split()
    if not first or first[0] not in SORTS or (len(first) > 1 and first[1].lower() not in ("asc", "desc")) or len(first) > 2:
        raise SearchQueryError(f"不支持的排序：“{sort[:60]}”（可用：{'、'.join(SORTS)} asc|desc）")
    attr = SORTS[first[0]]
    if attr is None:
        return None
    return attr, len(first) > 1 and first[1].lower() == "desc"


def show(session: Session, base: str, ident: Any) -> dict[str, Any]:
    if not isinstance(ident, str) or not ident.strip():
        raise BadInput("缺少 id", code="missing_id", detail={"id": ["缺少值"]})
    return package_dict(session, get_listed(session, ident.strip()), base)


def resource_show(session: Session, base: str, rid: Any) -> dict[str, Any]:
    if not isinstance(rid, str) or not rid.strip():
        raise BadInput("缺少 id", code="missing_id", detail={"id": ["缺少值"]})
    code, _fmt = split_resource_id(rid.strip())
    try:
        res = get_listed(session, code)
    except NotFound:
        raise NotFound(f"资源不存在：{rid[:60]}", code="unknown_resource") from None
    for r in resources_of(session, res, base):
        if r["id"] == rid.strip():
            return r
    raise NotFound(f"资源不存在：{rid[:60]}", code="unknown_resource")


def organizations(session: Session) -> list[dict[str, Any]]:
    counts: dict[str, list[Any]] = {}
    for r in listed_resources(session):
        counts.setdefault(r.provider_code, [r.provider_name, 0])[1] += 1
    return [org_dict(code, name, n) for code, (name, n) in sorted(counts.items())]


def groups(session: Session) -> list[dict[str, Any]]:
    counts: dict[str, list[Any]] = {}
    for r in listed_resources(session):
        counts.setdefault(group_name(r), [group_title(r), 0])[1] += 1
    return [group_dict(code, title, n) for code, (title, n) in sorted(counts.items())]


def tags(session: Session) -> list[str]:
    return sorted({k for r in listed_resources(session) for k in r.keywords})
