"""数据治理: quality rules and reports, 一数一源 conflicts and 数据异议 (objections).

Permissions:
- quality.read: every business role (reports carry masked samples only).
- quality.rule_edit: data officers (of the provider organisation or the big-data bureau; checked in the service).
- objection.raise: any logged-in business role.
- objection.answer: data officers; the service checks they work for the resource's provider.
"""

from citybase.core.identity.roles import Role, grant

grant("quality.read", Role.DATA_OFFICER, Role.STAFF, Role.OPERATOR, Role.GRID_WORKER, Role.AUDITOR)
grant("quality.rule_edit", Role.DATA_OFFICER)
grant("objection.raise", Role.DATA_OFFICER, Role.STAFF, Role.OPERATOR, Role.GRID_WORKER)
grant("objection.read", Role.DATA_OFFICER, Role.STAFF, Role.OPERATOR, Role.GRID_WORKER)
grant("objection.answer", Role.DATA_OFFICER)


def _register_hook() -> None:
    from citybase.lake import service as lake

    def _evaluate_new_version(session, version) -> None:  # type: ignore[no-untyped-def]
        from citybase.quality import service

        service.evaluate(session, version.resource_code, version.number)

    lake.on_new_version(_evaluate_new_version)


_register_hook()
