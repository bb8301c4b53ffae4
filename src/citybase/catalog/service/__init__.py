"""数据资源目录 services: create and edit resources, the review lifecycle, lookups and search.

Lifecycle (every step audited and kept in the resource's history):

    draft ──submit──▶ submitted ──review(approve)──▶ published ──withdraw──▶ withdrawn
      ▲                   │                                                    │
      └──(edit)── returned ◀──review(return, comment)      publish (bureau) ◀──┘
    publish_direct (admin, imports and demo): any unpublished state ──▶ published

A resource code is its class code (类 1 + 项 2 + 目 3 [+ 细目]) and a sequence number:
``101001-0001``. Sequence numbers come from a per-class counter row that is incremented with
``UPDATE … RETURNING`` (a row lock on PostgreSQL, the write lock on SQLite); the unique constraint on
the code is the backstop."""

# ruff: noqa: F401 - the package keeps the import surface of the module it was split from
from citybase.catalog.service.excel import (
    import_xlsx,
)
from citybase.catalog.service.excel_export import (
    export_xlsx,
    write_template,
)
from citybase.catalog.service.resources import (
    CLASS_CODE_RE,
    CODE_RE,
    EDITABLE,
    FIELD_NAME_RE,
    OBJECT_TYPE,
    _apply,
    _bump_generation,
    _check_provider,
    _check_reviewer,
    _clean_list,
    _comparable,
    _event,
    _field_out,
    _is_admin,
    _load,
    _names_for,
    _next_sequence,
    _org_names,
    _outs,
    _provider_names,
    _search_terms,
    _set_fields,
    _touch,
    can_edit,
    can_view,
    changes,
    create_resource,
    delete_draft,
    find_resource,
    generation,
    get_many,
    get_resource,
    get_resource_for,
    history,
    is_bureau,
    list_resources,
    new_code,
    normalise,
    review_queue,
    stats,
    to_out,
    today,
    update_resource,
)
from citybase.catalog.service.review import (
    _transition,
    decide_change,
    pending_change,
    pending_changes,
    publish,
    publish_direct,
    request_change,
    review,
    submit,
    withdraw,
)
from citybase.catalog.service.search import (
    search,
    search_codes,
    search_for,
    sees_all,
)
