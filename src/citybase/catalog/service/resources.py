"""政务信息资源目录 resources: codes, validation, create and edit, reads."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from citybase.catalog import text as cn
from citybase.catalog.models import CatalogState, CodeSequence, Field, Resource, ResourceEvent
from citybase.catalog.schemas import (
    CATALOG_TYPES,
    FieldIn,
    FieldOut,
    ResourceIn,
    ResourceOut,
)
from citybase.core.audit import service as audit
from citybase.core.errors import BadInput, Conflict, IllegalTransition, NotFound, PermissionDenied
from citybase.core.identity import service as identity
from citybase.core.identity.principal import Principal, authorize
from citybase.core.time import SHANGHAI, utcnow

CLASS_CODE_RE = re.compile(r"^[123]\d{5}\d{0,3}$")
CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z\-_.]{2,39}$")
FIELD_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
EDITABLE = ("draft", "returned", "withdrawn")
OBJECT_TYPE = "catalog_resource"


def _org_names(session: Session, code: str | None = None) -> dict[str, str]:
    """Organisation names by code: all of them, or just ``code`` (one primary-key lookup)."""
    if code is not None:
        cache = session.info.setdefault("catalog_org_names", {})
        if code not in cache:
            try:
                cache[code] = identity.get_org(session, code).name
            except NotFound:
                return {}
        return {code: cache[code]}
    return {o.code: o.name for o in identity.all_orgs(session)}


def _field_out(f: Field) -> FieldOut:
    return FieldOut(name=f.name, label=f.label, data_type=f.data_type, element=f.element,  # type: ignore[arg-type]
                    grading=f.grading, nullable=f.nullable, is_key=f.is_key,  # type: ignore[arg-type]
                    enum_values=list(f.enum_values or []), position=f.position)


def to_out(res: Resource, org_names: dict[str, str] | None = None) -> ResourceOut:
    provider_name = (org_names or {}).get(res.provider_code, "")
    return ResourceOut(
        id=res.id, code=res.code, name=res.name, summary=res.summary or "", class_code=res.class_code,
        class_name=res.class_name or "", catalog_type=res.catalog_type,  # type: ignore[arg-type]
        provider_code=res.provider_code, provider_name=provider_name, format=res.format or "",
        share_type=res.share_type, share_condition=res.share_condition or "",  # type: ignore[arg-type]
        share_method=res.share_method or "", share_basis=res.share_basis or "",
        open_type=res.open_type, open_condition=res.open_condition or "",  # type: ignore[arg-type]
        update_cycle=res.update_cycle, publish_date=res.publish_date,  # type: ignore[arg-type]
        related_codes=list(res.related_codes or []), keywords=list(res.keywords or []),
        fields=[_field_out(f) for f in sorted(res.fields, key=lambda f: (f.position, f.id or 0))],
        status=res.status, review_comment=res.review_comment or "",  # type: ignore[arg-type]
        created_by=res.created_by or "", created_at=res.created_at, updated_at=res.updated_at,
        submitted_at=res.submitted_at, reviewed_by=res.reviewed_by, reviewed_at=res.reviewed_at,
        published_at=res.published_at,
    )


def _names_for(session: Session, rows: list[Resource]) -> dict[str, str]:
    names: dict[str, str] = {}
    for code in {r.provider_code for r in rows}:
        names.update(_org_names(session, code))
    return names


def _outs(session: Session, rows: Iterable[Resource]) -> list[ResourceOut]:
    rows = list(rows)
    names = _names_for(session, rows)
    return [to_out(r, names) for r in rows]


def _clean_list(values: Iterable[str], limit: int = 50) -> list[str]:
    out: list[str] = []
    for v in values:
        v = (v or "").strip()
        if v and v not in out:
            out.append(v)
    return out[:limit]


def normalise(data: ResourceIn) -> ResourceIn:
    """Validate business rules and return a cleaned copy. Raises BadInput listing every problem."""
    problems: list[dict[str, Any]] = []

    def bad(code: str, message: str, **where: Any) -> None:
        problems.append({"code": code, "message": message, **where})

    d = data.model_copy(deep=True)
    if d.code is not None:
        d.code = d.code.strip() or None
    if d.code is not None and not CODE_RE.fullmatch(d.code):
        bad("bad_resource_code", "信息资源代码只能包含字母、数字和 - _ .，长度 3–40", field="code")
    if not CLASS_CODE_RE.fullmatch(d.class_code or ""):
        bad("bad_class_code", "信息资源分类代码须为 6–9 位数字：类 1 位（1 基础、2 主题、3 部门）+ 项 2 位 + 目 3 位 [+ 细目]",
            field="class_code")
    else:
        derived = CATALOG_TYPES[d.class_code[0]]
        if d.catalog_type is None:
            d.catalog_type = derived  # type: ignore[assignment]
        elif d.catalog_type != derived:
            bad("class_type_mismatch", f"分类代码首位表示“{derived}”目录，与目录类型“{d.catalog_type}”不一致",
                field="catalog_type")
    if d.share_type == "不予共享":
        d.share_condition = ""
        if not d.share_basis:
            bad("share_basis_required", "不予共享的资源必须写明法律法规或政策依据", field="share_basis")
    elif d.share_type == "有条件共享" and not d.share_condition:
        bad("share_condition_required", "有条件共享的资源必须写明共享条件", field="share_condition")
    if d.share_type != "不予共享":
        d.share_basis = d.share_basis or ""
    if d.open_type == "有条件开放" and not d.open_condition:
        bad("open_condition_required", "有条件开放的资源必须写明开放条件", field="open_condition")
    if d.open_type == "不予开放":
        d.open_condition = d.open_condition or ""
    if d.share_type == "不予共享" and d.open_type != "不予开放":
        bad("open_exceeds_share", "不予共享的资源不能向社会开放", field="open_type")
    d.keywords = _clean_list(d.keywords, 20)
    d.related_codes = _clean_list(d.related_codes)
    for rc in d.related_codes:
        if not CODE_RE.fullmatch(rc):
            bad("bad_related_code", f"关联资源代码格式不正确：{rc}", field="related_codes")
    seen: set[str] = set()
    fields: list[FieldIn] = []
    for i, f in enumerate(d.fields):
        f = f.model_copy()
        f.position = i + 1
        where = {"field": f"fields[{i}]", "name": f.name}
        if not FIELD_NAME_RE.fullmatch(f.name):
            bad("bad_field_name", f"信息项名称“{f.name}”须以字母或下划线开头，只含字母、数字、下划线", **where)
        if f.name.lower() in seen:
            bad("duplicate_field", f"信息项名称重复：{f.name}", **where)
        seen.add(f.name.lower())
        if f.is_key and f.nullable:
            bad("key_nullable", f"主键信息项“{f.label}”不可为空", **where)
        f.enum_values = _clean_list(f.enum_values, 500)
        if f.element == "enum" and not f.enum_values:
            bad("enum_values_required", f"信息项“{f.label}”采用枚举值标准，须列出可选值", **where)
        if f.element != "enum" and f.enum_values:
            f.enum_values = []
        if f.grading == "L4" and d.open_type == "无条件开放":
            bad("l4_open", f"信息项“{f.label}”为 L4 敏感数据，所在资源不能无条件开放", **where)
        fields.append(f)
    d.fields = fields
    if problems:
        raise BadInput("；".join(p["message"] for p in problems[:5]) + ("…" if len(problems) > 5 else ""),
                       code="invalid_resource", detail={"problems": problems})
    return d


def _bump_generation(session: Session) -> int:
    """Serialise catalogue writers on the one state row and hand out the index revision of this
    transaction (one increment per transaction: commit order equals revision order)."""
    txn = session.get_transaction()
    cached = session.info.get("catalog_gen")
    if cached is not None and txn is not None and cached[0] is txn:
        return cached[1]
    table = CatalogState.__table__
    gen = session.execute(update(table).where(table.c.id == 1).values(generation=table.c.generation + 1)
                          .returning(table.c.generation)).scalar_one_or_none()
    if gen is None:  # the migration inserts the row; recreate it if someone deleted it
        session.execute(table.insert().values(id=1, generation=1))
        gen = 1
    session.info["catalog_gen"] = (txn, int(gen))
    return int(gen)


def generation(session: Session) -> int:
    return int(session.execute(select(CatalogState.generation).where(CatalogState.id == 1)).scalar() or 0)


def _next_sequence(session: Session, class_code: str) -> int:
    for _ in range(5):
        value = session.execute(update(CodeSequence).where(CodeSequence.class_code == class_code)
                                .values(last_value=CodeSequence.last_value + 1)
                                .returning(CodeSequence.last_value)).scalar_one_or_none()
        if value is not None:
            return int(value)
        try:
            with session.begin_nested():
                session.add(CodeSequence(class_code=class_code, last_value=1))
            return 1
        except IntegrityError:  # another transaction created the counter first: increment it
            continue
    raise Conflict("生成资源代码失败，请重试", code="code_generation_failed")


def new_code(session: Session, class_code: str) -> str:
    for _ in range(10000):
        code = f"{class_code}-{_next_sequence(session, class_code):04d}"
        if session.execute(select(Resource.id).where(Resource.code == code)).first() is None:
            return code
    raise Conflict("该分类下的资源代码已用尽", code="code_exhausted")


def _load(session: Session, code: str, *, lock: bool = False) -> Resource:
    if lock:  # writers take the catalogue state row first, then the resource: one lock order, no deadlocks
        _bump_generation(session)
    stmt = select(Resource).where(Resource.code == code).options(selectinload(Resource.fields))
    if lock:
        stmt = stmt.with_for_update()
    res = session.execute(stmt).scalar_one_or_none()
    if res is None:
        raise NotFound(f"信息资源不存在：{code}", code="unknown_resource", detail={"code": code})
    return res


def _is_admin(principal: Principal) -> bool:
    return principal.is_system or principal.can("catalog.publish_direct")


def _check_provider(principal: Principal, provider_code: str) -> None:
    if _is_admin(principal):
        return
    if principal.org_code != provider_code:
        raise PermissionDenied("只能编辑本单位提供的信息资源", code="not_provider",
                               detail={"provider_code": provider_code, "your_org": principal.org_code})


def is_bureau(session: Session, principal: Principal) -> bool:
    return identity.in_bureau(session, principal)


def _check_reviewer(session: Session, principal: Principal) -> None:
    authorize(principal, "catalog.review")
    if principal.is_system:
        return
    if not is_bureau(session, principal):
        raise PermissionDenied("只有大数据管理局的数据管理员可以审核目录", code="not_bureau_reviewer")


def _search_terms(res: Resource, fields: list[FieldIn] | list[Field], provider_name: str) -> dict[str, Any]:
    """Weighted tokens and texts a search index needs, computed once when the resource is written."""
    weights: dict[str, int] = {}

    def add(text: str, w: int) -> None:
        for t in cn.tokens(text):
            if weights.get(t, 0) < w:
                weights[t] = w

    keywords = list(res.keywords or [])
    add(res.name, 8)
    for k in keywords:
        add(k, 5)
    add(res.class_name or "", 3)
    add(provider_name, 3)
    for f in fields:
        add(f.label, 2)
        weights.setdefault(f.name.lower(), 1)
    add(res.summary or "", 1)
    weights[res.code.lower()] = 10
    initials, full = cn.pinyin_forms(res.name)
    extra = [cn.pinyin_forms(k) for k in keywords]
    blob = "\x1f".join([res.name, " ".join(keywords), res.class_name or "", provider_name,
                        " ".join(f.label for f in fields), res.summary or "", res.code]).lower()
    return {"w": weights, "t": blob, "n": res.name.lower(),
            "py": [initials, full] + [p for pair in extra for p in pair if p]}


def _apply(res: Resource, d: ResourceIn) -> None:
    res.name, res.summary, res.class_code, res.class_name = d.name, d.summary, d.class_code, d.class_name
    res.catalog_type = d.catalog_type or CATALOG_TYPES[d.class_code[0]]
    res.provider_code, res.format = d.provider_code, d.format
    res.share_type, res.share_condition, res.share_method = d.share_type, d.share_condition, d.share_method
    res.share_basis, res.open_type, res.open_condition = d.share_basis, d.open_type, d.open_condition
    res.update_cycle, res.publish_date = d.update_cycle, d.publish_date
    res.related_codes, res.keywords = list(d.related_codes), list(d.keywords)


def _set_fields(session: Session, res: Resource, fields: list[FieldIn]) -> None:
    res.fields.clear()
    session.flush()  # delete old rows before inserting names again (unique per resource)
    for f in fields:
        res.fields.append(Field(position=f.position, name=f.name, label=f.label, data_type=f.data_type,
                                element=f.element, grading=f.grading, nullable=f.nullable, is_key=f.is_key,
                                enum_values=list(f.enum_values)))


def _provider_names(session: Session, code: str) -> str:
    """The organisation's name and, for a department, its short name (市市场监管局) for search."""
    from citybase.config import get_settings
    from citybase.reference import departments as ref

    names = [_org_names(session, code)[code]]
    try:
        short = ref.department(code, get_settings().city_code).short_name
    except (KeyError, LookupError, ValueError):
        short = ""
    if short and short not in names:
        names.append(short)
    return " ".join(names)


def _touch(session: Session, res: Resource, *, content: bool = True) -> None:
    """Mark a change: a new index revision; recompute search terms when the content changed."""
    res.updated_at = utcnow()
    res.rev = _bump_generation(session)
    if content:
        res.search_terms = _search_terms(res, list(res.fields), _provider_names(session, res.provider_code))


def _event(session: Session, res: Resource, principal: Principal, action: str, from_status: str | None,
           comment: str = "") -> None:
    session.add(ResourceEvent(resource_id=res.id, action=action, actor=principal.actor,
                              org_code=principal.org_code, from_status=from_status, to_status=res.status,
                              comment=comment, at=utcnow()))


def _comparable(out: ResourceOut | ResourceIn) -> dict[str, Any]:
    keep = set(ResourceIn.model_fields) - {"code"}
    data = out.model_dump(include=keep)
    for i, f in enumerate(data["fields"]):
        f["position"] = i + 1
    return data


def create_resource(session: Session, principal: Principal, data: ResourceIn) -> ResourceOut:
    """A new draft. The code is generated from the class code unless ``data.code`` is given."""
    authorize(principal, "catalog.edit")
    _check_provider(principal, data.provider_code)
    d = normalise(data)
    identity.get_org(session, d.provider_code)
    _bump_generation(session)  # the catalogue writer lock (see _load)
    if d.code is not None:
        if session.execute(select(Resource.id).where(Resource.code == d.code)).first() is not None:
            raise Conflict(f"信息资源代码已存在：{d.code}", code="duplicate_resource_code", detail={"code": d.code})
        code = d.code
    else:
        code = new_code(session, d.class_code)
    now = utcnow()
    res = Resource(code=code, status="draft", created_by=principal.actor, created_at=now, updated_at=now,
                   review_comment="")
    _apply(res, d)
    session.add(res)
    _set_fields(session, res, d.fields)
    try:  # the code was checked under the writer lock; the unique constraint is the backstop
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"信息资源代码已存在：{code}", code="duplicate_resource_code", detail={"code": code}) from exc
    _touch(session, res)
    _event(session, res, principal, "create", None)
    audit.record(session, principal, "catalog.create", OBJECT_TYPE, code,
                 {"name": d.name, "provider": d.provider_code, "fields": len(d.fields)})
    session.flush()
    return to_out(res, _org_names(session, res.provider_code))


def diff(res: Resource, d: ResourceIn) -> list[str]:
    """The attributes the normalised ``d`` changes on the stored ``res``, in name order."""
    before, after = _comparable(to_out(res, {})), _comparable(d)
    return sorted(k for k, v in after.items() if before.get(k) != v)


def changes(session: Session, code: str, data: ResourceIn) -> list[str]:
    """The attributes ``data`` would change on resource ``code`` (after normalising), in name order."""
    return diff(_load(session, code), normalise(data.model_copy(update={"code": code})))


def update_resource(session: Session, principal: Principal, code: str, data: ResourceIn) -> ResourceOut:
    """Edit a draft, returned or withdrawn resource (a withdrawn one becomes a draft again).

    Saving a resource unchanged is a no-op whatever its status. The admin (imports) may also correct a
    published resource in place; anyone else proposes a change request (:func:`review.request_change`)."""
    authorize(principal, "catalog.edit")
    res = _load(session, code, lock=True)
    _check_provider(principal, res.provider_code)
    _check_provider(principal, data.provider_code)
    d = normalise(data.model_copy(update={"code": code}))
    changed = diff(res, d)
    if not changed:
        return to_out(res, _org_names(session, res.provider_code))
    if res.status == "submitted":
        raise IllegalTransition("资源正在审核中，不能修改；如需修改请联系大数据局退回", code="under_review")
    if res.status == "published" and not _is_admin(principal):
        raise IllegalTransition("已发布的资源不能直接修改：请提交变更申请（由大数据局审核后生效），或先撤回再修改",
                                code="published_readonly")
    identity.get_org(session, d.provider_code)
    return apply_update(session, principal, res, d, changed)


def apply_update(session: Session, principal: Principal, res: Resource, d: ResourceIn,
                 changed: list[str]) -> ResourceOut:
    """Write the normalised ``d`` over ``res`` (the caller checked who may), with history and audit."""
    _apply(res, d)
    _set_fields(session, res, d.fields)
    old_status = res.status
    if res.status == "withdrawn":
        res.status = "draft"
    session.flush()
    _touch(session, res)
    _event(session, res, principal, "update", old_status, "修改：" + "、".join(changed))
    audit.record(session, principal, "catalog.update", OBJECT_TYPE, res.code, {"changed": changed})
    session.flush()
    return to_out(res, _org_names(session, res.provider_code))


def delete_draft(session: Session, principal: Principal, code: str) -> None:
    """Remove a resource that was never published (draft or returned)."""
    authorize(principal, "catalog.edit")
    res = _load(session, code, lock=True)
    _check_provider(principal, res.provider_code)
    if res.status not in ("draft", "returned") or res.published_at is not None:
        raise IllegalTransition("只能删除从未发布过的草稿", code="not_a_draft")
    _bump_generation(session)
    session.delete(res)
    audit.record(session, principal, "catalog.delete", OBJECT_TYPE, code, {"name": res.name})
    session.flush()


def get_resource(session: Session, code: str) -> ResourceOut:
    res = _load(session, code)
    return to_out(res, _org_names(session, res.provider_code))


def find_resource(session: Session, code: str) -> ResourceOut | None:
    try:
        return get_resource(session, code)
    except NotFound:
        return None


def list_resources(session: Session, *, status: str | None = None,
                   provider_code: str | None = None) -> list[ResourceOut]:
    stmt = select(Resource).options(selectinload(Resource.fields)).order_by(Resource.code)
    if status:
        stmt = stmt.where(Resource.status == status)
    if provider_code:
        stmt = stmt.where(Resource.provider_code == provider_code)
    return _outs(session, session.execute(stmt).scalars())


def get_many(session: Session, codes: list[str], *, org_names: dict[str, str] | None = None) -> list[ResourceOut]:
    """Resources in the order of ``codes`` (unknown codes skipped)."""
    if not codes:
        return []
    rows = session.execute(select(Resource).where(Resource.code.in_(codes))
                           .options(selectinload(Resource.fields))).scalars()
    by_code = {r.code: r for r in rows}
    names = org_names if org_names is not None else _names_for(session, list(by_code.values()))
    return [to_out(by_code[c], names) for c in codes if c in by_code]


def can_view(session: Session, principal: Principal, res: ResourceOut) -> bool:
    """Published resources are visible to every reader; others to the provider, the bureau and the admin."""
    if not principal.can("catalog.read"):
        return False
    if res.status == "published":
        return True
    return (_is_admin(principal) or principal.org_code == res.provider_code or is_bureau(session, principal)
            or principal.role == "auditor")


def get_resource_for(session: Session, principal: Principal, code: str) -> ResourceOut:
    authorize(principal, "catalog.read")
    out = get_resource(session, code)
    if not can_view(session, principal, out):
        raise NotFound(f"信息资源不存在：{code}", code="unknown_resource", detail={"code": code})
    return out


def can_edit(principal: Principal, res: ResourceOut) -> bool:
    if not principal.can("catalog.edit"):
        return False
    if res.status == "published":
        return False
    if res.status == "submitted":
        return False
    return _is_admin(principal) or principal.org_code == res.provider_code


def history(session: Session, code: str) -> list[ResourceEvent]:
    res = _load(session, code)
    return list(session.execute(select(ResourceEvent).where(ResourceEvent.resource_id == res.id)
                                .order_by(ResourceEvent.id)).scalars())


def review_queue(session: Session, principal: Principal) -> list[ResourceOut]:
    _check_reviewer(session, principal)
    return list_resources(session, status="submitted")


def stats(session: Session) -> dict[str, Any]:
    """Counts for dashboards: by status, catalogue type, share type, open type, and providers."""
    from sqlalchemy import func

    out: dict[str, Any] = {}
    for key, col in (("status", Resource.status), ("catalog_type", Resource.catalog_type),
                     ("share_type", Resource.share_type), ("open_type", Resource.open_type)):
        out[key] = dict(session.execute(select(col, func.count()).group_by(col)).all())
    out["providers"] = session.execute(select(func.count(func.distinct(Resource.provider_code)))
                                       .where(Resource.status == "published")).scalar_one()
    out["fields"] = session.execute(select(func.count(Field.id)).join(Resource)
                                    .where(Resource.status == "published")).scalar_one()
    return out


def today() -> date:
    return utcnow().astimezone(SHANGHAI).date()
