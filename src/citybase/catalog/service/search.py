"""The in-memory search index of the catalogue.

Each resource row carries ``search_terms`` (weighted jieba tokens, a lower-cased text and pinyin forms,
computed once when the resource is written) and ``rev`` (the catalogue generation at its last change).
A search reads the one-row generation; if it moved, the index loads only rows with a newer ``rev`` and
drops deleted ids, then rebuilds its derived structures:

- an inverted index token → {resource id: weight} (name 8, keywords 5, class/provider 3, 信息项 2, summary 1);
- one concatenated text of all resources, searched with ``str.find`` (C speed) for substrings that
  are not whole tokens (单字, partial words), offsets mapped back to resources by bisection;
- the same for pinyin: full pinyin and initials of names and keywords ("hjrk" → 户籍人口);
- resources pre-sorted by code, per status, so an empty query is a slice.

Result pages are served from an LRU of ResourceOut keyed by (id, rev). One index per process and
database URL; every worker keeps its own and follows the generation.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citybase.catalog import text as cn
from citybase.catalog.classes import item_label
from citybase.catalog.models import Resource
from citybase.catalog.schemas import ResourceOut, SearchResult
from citybase.catalog.service.resources import _is_admin, generation, get_many, is_bureau
from citybase.config import get_settings
from citybase.core.errors import BadInput
from citybase.core.identity.principal import Principal, authorize
from citybase.core.pagination import check_page

FACETS = ("provider_code", "catalog_type", "class_item", "format", "share_type", "open_type")
FILTER_KEYS = {"provider_code", "catalog_type", "class_code", "class_item", "format", "share_type",
               "open_type", "status"}
SEP = "\x1e"
OUT_CACHE = 4000
RESULT_CACHE = 256


@dataclass
class Doc:
    id: int
    rev: int
    code: str
    name: str
    status: str
    provider_code: str
    class_code: str
    catalog_type: str
    format: str
    share_type: str
    open_type: str
    text: str
    pinyin: list[str]
    weights: dict[str, int] = field(repr=False)
    class_item: str = ""

    def __post_init__(self) -> None:
        self.class_item = self.class_code[:3]


class _Blob:
    """Concatenated texts with the start offset of each document, for C-speed substring search."""

    def __init__(self, docs: list[Doc], part: Any) -> None:
        pieces, starts, ids, pos = [], [], [], 0
        for d in docs:
            piece = SEP + part(d)
            starts.append(pos)
            ids.append(d.id)
            pieces.append(piece)
            pos += len(piece)
        self.text, self.starts, self.ids = "".join(pieces), starts, ids

    def find(self, needle: str) -> list[tuple[int, int]]:
        """(doc id, offset inside the doc's piece) of the first occurrence in each document."""
        out, text, starts, ids = [], self.text, self.starts, self.ids
        n = len(starts)
        pos = text.find(needle)
        while pos != -1:
            k = bisect_right(starts, pos) - 1
            out.append((ids[k], pos - starts[k]))
            nxt = starts[k + 1] if k + 1 < n else len(text)
            pos = text.find(needle, nxt)
        return out


class CatalogIndex:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.docs: dict[int, Doc] = {}
        self.inv: dict[str, dict[int, int]] = {}
        self.generation = -1
        self.rev = -1
        self.org_names: dict[str, str] = {}
        self.outs: OrderedDict[tuple[int, int], ResourceOut] = OrderedDict()
        self.results: OrderedDict[tuple, tuple[list[Doc], dict[str, list[dict[str, Any]]]]] = OrderedDict()
        self._derive()

    # ------------------------------------------------------------ loading
    def refresh(self, session: Session) -> None:
        from citybase.core.identity import service as identity

        gen = generation(session)
        if gen == self.generation:
            return
        with self.lock:
            if gen == self.generation:
                return
            ids = set(session.execute(select(Resource.id)).scalars())
            for gone in [i for i in self.docs if i not in ids]:
                self._remove(gone)
            rows = session.execute(
                select(Resource.id, Resource.code, Resource.name, Resource.status, Resource.provider_code,
                       Resource.class_code, Resource.catalog_type, Resource.format, Resource.share_type,
                       Resource.open_type, Resource.search_terms, Resource.rev)
                .where(Resource.rev > self.rev)).all()
            top = self.rev
            for r in rows:
                terms = r.search_terms or {}
                self._remove(r.id)
                doc = Doc(id=r.id, rev=int(r.rev), code=r.code, name=r.name.lower(), status=r.status,
                          provider_code=r.provider_code, class_code=r.class_code, catalog_type=r.catalog_type,
                          format=r.format or "", share_type=r.share_type, open_type=r.open_type,
                          text=terms.get("t", r.name.lower()), pinyin=list(terms.get("py", [])),
                          weights={k: int(v) for k, v in terms.get("w", {}).items()})
                self.docs[r.id] = doc
                for token, w in doc.weights.items():
                    self.inv.setdefault(token, {})[r.id] = w
                top = max(top, doc.rev)
            self.rev = max(top, gen)
            self.org_names = {o.code: o.name for o in identity.all_orgs(session)}
            self._derive()
            self.generation = gen

    def _remove(self, rid: int) -> None:
        doc = self.docs.pop(rid, None)
        if doc is None:
            return
        for token in doc.weights:
            posting = self.inv.get(token)
            if posting is not None:
                posting.pop(rid, None)
                if not posting:
                    del self.inv[token]

    def _derive(self) -> None:
        self.results.clear()
        ordered = sorted(self.docs.values(), key=attrgetter("code"))
        self.ordered = ordered
        self.rank = {d.id: k for k, d in enumerate(ordered)}
        self.by_status: dict[str, list[Doc]] = {}
        for d in ordered:
            self.by_status.setdefault(d.status, []).append(d)
        self.text_blob = _Blob(ordered, lambda d: d.text)
        self.name_py = _Blob(ordered, lambda d: SEP.join(d.pinyin[:2]))
        self.kw_py = _Blob(ordered, lambda d: SEP.join(d.pinyin[2:]))

    # ------------------------------------------------------------ querying
    def _term_hits(self, term: str, within: dict[int, int] | None = None) -> dict[int, int]:
        """{resource id: weight} of resources containing ``term`` (as a token, a substring or, for latin
        letters, a pinyin prefix/substring). With ``within``, only those resources are checked, one by
        one (cheaper than scanning everything once the first term has narrowed the candidates)."""
        latin = term.isascii() and term.isalnum() and len(term) >= 2
        posting = self.inv.get(term, {})
        if within is not None:
            hits: dict[int, int] = {}
            for rid in within:
                doc = self.docs[rid]
                w = posting.get(rid, 0)
                if not w and term in doc.text:
                    w = 4 if term in doc.name else 1
                if latin:
                    for k, p in enumerate(doc.pinyin):
                        if p.startswith(term):
                            w = max(w, 6 if k < 2 else 3)
                        elif term in p:
                            w = max(w, 2 if k < 2 else 1)
                if w:
                    hits[rid] = w
            return hits
        hits = dict(posting)
        for rid, _off in self.text_blob.find(term):
            if rid not in hits:
                hits[rid] = 4 if term in self.docs[rid].name else 1
        if latin:
            for blob, prefix_w, sub_w in ((self.name_py, 6, 2), (self.kw_py, 3, 1)):
                for rid, _off in blob.find(SEP + term):
                    hits[rid] = max(hits.get(rid, 0), prefix_w)
                for rid, _off in blob.find(term):
                    hits[rid] = max(hits.get(rid, 0), sub_w)
        return hits

    def query(self, q: str, filters: dict[str, Any]) -> list[Doc]:
        statuses = _statuses(filters.get("status", "published"))
        conds = []
        for key in ("provider_code", "catalog_type", "format", "share_type", "open_type", "class_item"):
            value = filters.get(key)
            if value:
                conds.append((key, set(value) if isinstance(value, list | tuple | set) else {value}))
        prefix = filters.get("class_code") or ""

        def ok(d: Doc) -> bool:
            return ((statuses is None or d.status in statuses) and d.class_code.startswith(prefix)
                    and all(getattr(d, k) in vs for k, vs in conds))

        terms = cn.query_terms(q) if q.strip() else []
        if not terms:
            if statuses is None:
                base = self.ordered
            else:
                base = [d for s in sorted(statuses) for d in self.by_status.get(s, [])]
                if len(statuses) > 1:
                    base.sort(key=lambda d: d.code)
            return [d for d in base if ok(d)] if (conds or prefix) else base
        scores: dict[int, int] | None = None
        # the rarest-looking term first (longest text, fewest postings); later terms only check its hits
        for term in sorted(terms, key=lambda t: (len(self.inv.get(t, ())), -len(t))):
            if scores is None:
                scores = {i: w for i, w in self._term_hits(term).items() if ok(self.docs[i])}
            else:
                hits = self._term_hits(term, within=scores)
                scores = {i: s + hits[i] for i, s in scores.items() if i in hits}
            if not scores:
                return []
        assert scores is not None
        whole = q.strip().lower()
        docs, rank = self.docs, self.rank
        order = sorted((-(sc + (20 if docs[i].name == whole else 0)), rank[i], i) for i, sc in scores.items())
        return [docs[i] for _s, _r, i in order]

    def run(self, q: str, filters: dict[str, Any]) -> tuple[list[Doc], dict[str, list[dict[str, Any]]]]:
        """Matching documents and facet counts, from a small per-generation result cache."""
        key = (q.strip().lower(), tuple(sorted((k, str(v)) for k, v in filters.items() if v not in (None, "", []))))
        hit = self.results.get(key)
        if hit is not None:
            self.results.move_to_end(key)
            return hit
        docs = self.query(q, filters)
        result = (docs, self.facets(docs))
        self.results[key] = result
        while len(self.results) > RESULT_CACHE:
            self.results.popitem(last=False)
        return result

    def facets(self, docs: list[Doc]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for name in FACETS:
            counts = Counter(map(attrgetter(name), docs))
            items = []
            for value, count in counts.most_common():
                if not value:
                    continue
                if name == "provider_code":
                    label = self.org_names.get(value, value)
                elif name == "class_item":
                    label = item_label(value)
                else:
                    label = value
                items.append({"value": value, "label": label, "count": count})
            out[name] = items
        return out

    def outs_for(self, session: Session, docs: list[Doc]) -> list[ResourceOut]:
        """ResourceOut of ``docs`` from the LRU, loading the misses in one query."""
        missing = [d.code for d in docs if (d.id, d.rev) not in self.outs]
        if missing:
            for out in get_many(session, missing, org_names=self.org_names):
                doc = self.docs.get(out.id)
                if doc is not None:
                    self.outs[(doc.id, doc.rev)] = out
        result = []
        for d in docs:
            out = self.outs.get((d.id, d.rev))
            if out is None:  # changed between the index refresh and the load: serve it fresh
                fresh = get_many(session, [d.code], org_names=self.org_names)
                if not fresh:
                    continue
                out = fresh[0]
            else:
                self.outs.move_to_end((d.id, d.rev))
            result.append(out.model_copy())
        while len(self.outs) > OUT_CACHE:
            self.outs.popitem(last=False)
        return result


def _statuses(value: Any) -> set[str] | None:
    if value in (None, "", "published"):
        return {"published"}
    if value == "*":
        return None
    if isinstance(value, str):
        return {v for v in value.split(",") if v}
    return set(value)


_INDEXES: dict[str, CatalogIndex] = {}
_GUARD = threading.Lock()


def index_for(session: Session) -> CatalogIndex:
    url = get_settings().db_url
    with _GUARD:
        idx = _INDEXES.get(url)
        if idx is None:
            idx = _INDEXES[url] = CatalogIndex()
    idx.refresh(session)
    return idx


def search(session: Session, q: str = "", filters: dict[str, Any] | None = None, page: int = 1,
           size: int = 20) -> SearchResult:
    """Chinese search (jieba tokens, pinyin and initials) with facets. Filters: provider_code,
    catalog_type, class_code (prefix), format, share_type, open_type, status (default "published";
    a list, or "*" for all)."""
    q, filters = q or "", filters or {}
    check_page(page, size)
    unknown = {k for k, v in filters.items() if v not in (None, "", [])} - FILTER_KEYS
    if unknown:
        raise BadInput(f"不支持的筛选条件：{'、'.join(sorted(unknown))}", code="bad_filter",
                       detail={"allowed": sorted(FILTER_KEYS)})
    if len(q) > 200:
        raise BadInput("检索词过长（最多 200 字）", code="query_too_long")
    idx = index_for(session)
    with idx.lock:
        docs, facets = idx.run(q, filters)
        facets = {k: [dict(x) for x in v] for k, v in facets.items()}
        items = idx.outs_for(session, docs[(page - 1) * size: page * size])
    return SearchResult(items=items, total=len(docs), page=page, size=size, facets=facets)


def search_codes(session: Session, q: str = "", filters: dict[str, Any] | None = None) -> list[str]:
    """Codes of every match, best first, without loading the resources (for modules that join the
    matches with their own data, e.g. the open-data package_search)."""
    q, filters = q or "", filters or {}
    unknown = {k for k, v in filters.items() if v not in (None, "", [])} - FILTER_KEYS
    if unknown:
        raise BadInput(f"不支持的筛选条件：{'、'.join(sorted(unknown))}", code="bad_filter",
                       detail={"allowed": sorted(FILTER_KEYS)})
    idx = index_for(session)
    with idx.lock:
        docs, _facets = idx.run(q, filters)
        return [d.code for d in docs]


def sees_all(session: Session, principal: Principal) -> bool:
    """The bureau, the admin and the auditor see resources in every state; others only their own org's."""
    return _is_admin(principal) or principal.role == "auditor" or is_bureau(session, principal)


def search_for(session: Session, principal: Principal, q: str = "", filters: dict[str, Any] | None = None,
               page: int = 1, size: int = 20) -> SearchResult:
    """``search`` as a given reader may see it: unpublished resources only of the reader's own
    organisation unless the reader is the bureau, the admin or the auditor."""
    authorize(principal, "catalog.read")
    f = {k: v for k, v in (filters or {}).items() if v not in (None, "", [])}
    status = f.get("status") or "published"
    if status != "published" and not sees_all(session, principal):
        if f.get("provider_code") not in (None, principal.org_code):
            f["status"] = "published"
        else:
            f["provider_code"] = principal.org_code or "-"
    return search(session, q, f, page, size)
