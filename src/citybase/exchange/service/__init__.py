"""共享交换: requests → grants → masked, audited serving; subscriptions and 属地回流.

Access follows the resource's 共享属性:
- 不予共享: never served (the catalogue requires the legal basis; it is quoted back to the caller);
- 无条件共享: any authenticated department reads without a request, through an *implicit grant*
  (every 信息项, no row filter, nothing in clear, default rate limit) — still masked, still audited;
- 有条件共享: only through an active, unexpired grant of the caller's organisation, created when the
  provider's data officer approves a request (possibly narrowing fields, rows, clear fields, period).
The provider's own organisation reads its resources through an implicit grant too.

Masking: every 信息项 the lake classes as personal (ID numbers, mobiles, names, addresses) or graded
L3/L4 is masked in DuckDB with the ``cb_mask_*`` macros, unless the grant names it in ``clear_fields``;
an L4 信息项 is therefore only ever served in clear when a grant names it explicitly. Every clear field
served is listed in the call's ledger entry.

Row filters are structured (信息项, operator, value), validated against the resource's 信息项 and
bound as parameters; callers never send SQL."""

# ruff: noqa: F401 - the package keeps the import surface of the module it was split from
from citybase.exchange.service.access import (
    Access,
    _grant_out,
    _grant_state,
    check_rate,
    clear_grant_purpose,
    resolve_access,
)
from citybase.exchange.service.common import (
    ANSWER_WORKDAYS,
    BATCH_ROWS,
    IMPLICIT_RATE_LIMIT,
    MAX_IN_VALUES,
    MAX_PAGE,
    _l,
    _now,
    _org_names,
    _require_org,
    _resource,
    check_overview,
    is_bureau,
)
from citybase.exchange.service.filters import (
    _check_names,
    _coerce,
    _field_map,
    _jsonable_filter,
    _where,
    describe_filter,
    mask_kind,
    validate_filter,
)
from citybase.exchange.service.grants import access_log, get_grant, list_grants, overview, revoke
from citybase.exchange.service.notifications import mark_read, notifications, notify, unread_count
from citybase.exchange.service.requests import (
    _check_provider_officer,
    _due,
    _load_request,
    _request_out,
    approve,
    can_see_request,
    create_request,
    flag_overdue,
    get_request,
    has_requests,
    list_requests,
    reject,
    request_form_context,
    withdraw,
)
from citybase.exchange.service.serving import (
    _MASK_MACROS,
    _POOL,
    ExportPlan,
    _borrow,
    _caller_filter,
    _give_back,
    _new_connection,
    _pick_fields,
    _record_read,
    _select_list,
    _Sink,
    _source,
    prepare_export,
    query,
    stream_export,
)
from citybase.exchange.service.subscriptions import (
    _DISTRICT_NAMES,
    _district_field,
    _sub_out,
    cancel_subscription,
    deliver,
    deliver_after_commit,
    deliver_pending,
    list_subscriptions,
    on_version,
    pending_deliveries,
    run_deliveries,
    subscribe,
)
from citybase.standards.sql import quote_ident
