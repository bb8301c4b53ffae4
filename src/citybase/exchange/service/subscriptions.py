"""Subscriptions and 属地回流: each new version of a subscribed resource delivered as the subscriber's district slice."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from citybase.catalog import service as catalog
from citybase.core.audit import service as audit
from citybase.core.errors import BadInput, CitybaseError, IllegalTransition, NotFound, PermissionDenied
from citybase.core.identity import service as identity
from citybase.core.identity.principal import SYSTEM, Principal, authorize
from citybase.core.time import utcnow
from citybase.db import make_session, session_scope
from citybase.exchange.models import (
    Delivery,
    Subscription,
)
from citybase.exchange.schemas import (
    SubscribeIn,
    SubscriptionOut,
)
from citybase.exchange.service.access import resolve_access
from citybase.exchange.service.common import _org_names, _require_org
from citybase.exchange.service.filters import _field_map, _where
from citybase.exchange.service.notifications import notify
from citybase.exchange.service.serving import _borrow, _give_back, _record_read, _select_list, _source
from citybase.jobs import huey
from citybase.lake import service as lake

_DISTRICT_NAMES = ("district", "qx", "qxdm", "xzqh", "区县", "所属区", "所在区")

log = logging.getLogger("citybase.exchange")


def _district_field(res: Any, wanted: str | None) -> str:
    fmap = _field_map(res)
    if wanted:
        if wanted not in fmap:
            raise BadInput(f"信息项“{wanted}”不属于资源 {res.code}", code="unknown_field")
        return wanted
    for f in sorted(res.fields, key=lambda f: f.position):
        if f.element == "division_code":
            return f.name
    for f in res.fields:
        if any(k in f.name.lower() or k in (f.label or "") for k in _DISTRICT_NAMES):
            return f.name
    raise BadInput(f"资源“{res.name}”没有行政区划代码或所属区信息项，无法按区回流", code="no_district_field")


def _sub_out(session: Session, s: Subscription, names: dict[str, str] | None = None) -> SubscriptionOut:
    names = names if names is not None else _org_names(session)
    res = catalog.find_resource(session, s.resource_code)
    return SubscriptionOut(id=s.id, resource_code=s.resource_code, resource_name=res.name if res else s.resource_code,
                           subscriber_code=s.subscriber_code,
                           subscriber_name=names.get(s.subscriber_code, s.subscriber_code),
                           district_code=s.district_code, filter_field=s.filter_field, target_code=s.target_code,
                           grant_id=s.grant_id, status=s.status, created_at=s.created_at, last_version=s.last_version)


def subscribe(session: Session, principal: Principal, data: SubscribeIn) -> SubscriptionOut:
    """A district department subscribes to a city resource, filtered to its district (属地回流).

    Each new version is materialised as the next version of a derived catalogue resource owned by
    the district department (same 信息项, masked as the department's access allows), and it is notified."""
    from citybase.catalog.schemas import FieldIn, ResourceIn

    authorize(principal, "exchange.request")
    org_code = _require_org(principal)
    org = identity.get_org(session, org_code)
    district = org.division_code or ""
    if not (len(district) == 6 and not district.endswith("00")):
        raise BadInput("只有区（县）级部门可以订阅属地回流数据", code="not_district_org",
                       detail={"division_code": district})
    res = catalog.find_resource(session, data.resource_code)
    if res is None or res.status != "published":
        raise NotFound(f"目录中没有已发布的资源 {data.resource_code}", code="unknown_resource")
    if res.provider_code == org_code:
        raise BadInput("不能订阅本单位提供的资源", code="own_resource")
    existing = session.execute(select(Subscription).where(Subscription.resource_code == res.code,
                                                          Subscription.subscriber_code == org_code,
                                                          Subscription.status == "active")).scalar_one_or_none()
    if existing is not None:
        raise IllegalTransition("本单位已订阅该资源", code="duplicate_subscription",
                                detail={"subscription_id": existing.id})
    filter_field = _district_field(res, data.filter_field)
    access = resolve_access(session, principal, res.code)  # raises unless 无条件共享 or a grant exists
    fmap = _field_map(res)
    fields = []
    for i, n in enumerate(access.fields):
        f = fmap[n]
        masked = n in access.masked
        fields.append(FieldIn(name=f.name, label=f.label, data_type="string" if masked else f.data_type,
                              element="text" if masked or f.element == "enum" and not f.enum_values else f.element,
                              grading=f.grading, nullable=True, is_key=False,
                              enum_values=[] if masked else list(f.enum_values), position=i + 1))
    derived = catalog.create_resource(session, SYSTEM, ResourceIn(
        name=f"{res.name}（{org.name}属地回流）"[:200],
        summary=f"由 {res.provider_name or res.provider_code} 的“{res.name}”按本区（{district}）筛选后回流的副本，"
                f"随源资源每次更新自动交付。",
        class_code=res.class_code, class_name=res.class_name, provider_code=org_code, format="数据库表",
        share_type="有条件共享", share_condition="属地回流数据，仅限本部门履行职责使用，不得再次共享",
        share_method="属地回流", open_type="不予开放", update_cycle=res.update_cycle,
        related_codes=[res.code], keywords=["属地回流", *res.keywords[:5]], fields=fields))
    catalog.publish_direct(session, SYSTEM, derived.code)
    sub = Subscription(resource_code=res.code, subscriber_code=org_code, district_code=district,
                       filter_field=filter_field, target_code=derived.code,
                       grant_id=access.grant.id if access.grant else None, status="active", created_at=utcnow(),
                       created_by=principal.actor)
    session.add(sub)
    session.flush()
    audit.record(session, principal, "exchange.subscribe", "subscription", sub.id,
                 {"resource": res.code, "district": district, "filter_field": filter_field, "target": derived.code,
                  "grant": sub.grant_id})
    session.add(Delivery(subscription_id=sub.id, source_version=access.version.number, status="pending",
                         created_at=utcnow(), row_count=0, error=""))
    deliver_after_commit(session)
    return _sub_out(session, sub)


def cancel_subscription(session: Session, principal: Principal, subscription_id: int) -> SubscriptionOut:
    authorize(principal, "exchange.request")
    sub = session.get(Subscription, subscription_id)
    if sub is None or sub.subscriber_code != principal.org_code:
        raise NotFound("订阅不存在", code="unknown_subscription")
    if sub.status != "active":
        raise IllegalTransition("该订阅已取消", code="not_active")
    sub.status = "cancelled"
    audit.record(session, principal, "exchange.unsubscribe", "subscription", sub.id, {"resource": sub.resource_code})
    return _sub_out(session, sub)


def list_subscriptions(session: Session, principal: Principal) -> list[SubscriptionOut]:
    authorize(principal, "exchange.read")
    org = _require_org(principal)
    rows = session.execute(select(Subscription).where(
        (Subscription.subscriber_code == org) | (Subscription.resource_code.in_(
            [r.code for r in catalog.list_resources(session, provider_code=org)])))
        .order_by(Subscription.id.desc())).scalars().all()
    names = _org_names(session)
    return [_sub_out(session, s, names) for s in rows]


def on_version(session: Session, version: Any) -> int:
    """lake hook (inside the ingest's transaction): record a pending delivery per active subscription.
    Returns how many were recorded (the hook then queues their delivery for after the commit)."""
    subs = session.execute(select(Subscription.id).where(Subscription.resource_code == version.resource_code,
                                                         Subscription.status == "active")).scalars().all()
    for sid in subs:
        session.add(Delivery(subscription_id=sid, source_version=version.number, status="pending",
                             created_at=utcnow(), row_count=0, error=""))
    return len(subs)


def run_deliveries() -> dict[int, str]:
    """Deliver every pending delivery, each in its own transaction; returns delivery id → status."""
    with make_session() as s:
        ids = pending_deliveries(s)
    out: dict[int, str] = {}
    for did in ids:
        try:
            with session_scope() as s:
                out[did] = deliver(s, did).status
        except CitybaseError as exc:
            log.warning("delivery %s failed: %s", did, exc.message)
            out[did] = f"failed: {exc.message}"
    return out


@huey.task()
def deliver_pending() -> dict[int, str]:
    """:func:`run_deliveries` on the worker."""
    return run_deliveries()


def deliver_after_commit(session: Session) -> None:
    """Queue :func:`deliver_pending` once ``session`` commits (the deliveries it recorded are then visible)."""

    @event.listens_for(session, "after_commit", once=True)
    def _enqueue(_s: Session) -> None:
        try:
            deliver_pending()
        except Exception:  # noqa: BLE001 - the periodic job picks pending deliveries up anyway
            log.warning("could not queue deliveries; the periodic job will", exc_info=True)


def pending_deliveries(session: Session) -> list[int]:
    return list(session.execute(select(Delivery.id).where(Delivery.status == "pending")
                                .order_by(Delivery.id)).scalars())


def deliver(session: Session, delivery_id: int) -> Delivery:
    """Materialise one delivery: the source version filtered to the district (and the grant), masked,
    ingested as the next version of the subscriber's derived resource; the subscriber is notified."""
    d = session.get(Delivery, delivery_id)
    if d is None:
        raise NotFound("交付记录不存在", code="unknown_delivery")
    if d.status != "pending":
        return d
    sub = session.get(Subscription, d.subscription_id)
    if sub is None or sub.status != "active" or not sub.target_code:
        d.status, d.error = "skipped", "订阅已取消"
        return d
    org = identity.get_org(session, sub.subscriber_code)
    consumer = Principal(username=f"exchange:{sub.subscriber_code}", role="staff", org_code=sub.subscriber_code,
                         org_name=org.name, via="system", display_name="属地回流")
    try:
        access = resolve_access(session, consumer, sub.resource_code, sub.grant_id)
    except (PermissionDenied, NotFound) as exc:
        d.status, d.error = "failed", exc.message
        notify(session, sub.subscriber_code, "delivery_failed", f"属地回流未能交付：{sub.resource_code}", exc.message,
               "/exchange/subscriptions")
        audit.record(session, SYSTEM, "exchange.deliver_failed", "subscription", sub.id,
                     {"delivery": d.id, "reason": exc.code})
        return d
    with contextlib.suppress(NotFound):  # pruned meanwhile: deliver the current version
        access.version = lake.get_version(session, sub.resource_code, d.source_version)
    conds = access.filters + [{"field": sub.filter_field, "op": "prefix", "value": sub.district_code}]
    where, params = _where(conds)
    src = _source(access).replace(", filename=true, file_row_number=true", "")
    sql = f"SELECT {_select_list(access, access.fields)} FROM {src} WHERE {where}"
    con = _borrow()
    try:
        table = con.sql(sql, params=params).to_arrow_table()
    finally:
        _give_back(con)
    d.row_count = table.num_rows
    if table.num_rows == 0:
        d.status, d.delivered_at, d.error = "empty", utcnow(), "本区没有数据行"
    else:
        v = lake.ingest_table(session, SYSTEM, sub.target_code, table, mode="replace",
                                 source_label=f"属地回流：{sub.resource_code} 第 {access.version.number} 版")
        d.status, d.delivered_at, d.target_version = "done", utcnow(), v.number
    sub.last_version = access.version.number
    _record_read(session, consumer, access, channel="subscription", fields=access.fields, rows=table.num_rows,
                 filters=conds[len(access.filters):])
    notify(session, sub.subscriber_code, "delivered",
           f"属地回流已送达：{access.resource.name} 第 {access.version.number} 版",
           f"本区 {table.num_rows} 行已写入本部门资源 {sub.target_code}。", f"/lake/{sub.target_code}"
           if d.status == "done" else "/exchange/subscriptions")
    return d
