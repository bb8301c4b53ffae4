"""数据治理: quality rules and reports, 一数一源 conflicts and 数据异议 (objections).

Permissions:
- quality.read: every business role (reports carry masked samples only).
- quality.rule_edit: data officers (of the provider organisation or the big-data bureau; checked in the service).
- objection.raise: any logged-in business role.
- objection.answer: data officers; the service checks they work for the resource's provider.
"""

from citybase.core.identity.roles import Role, grant

grant("quality.read", Role.DATA_OFFICER, Role.STAFF, Role.OPERATOR, Role.GRID_WORKER)
grant("quality.rule_edit", Role.DATA_OFFICER)
grant("objection.raise", Role.DATA_OFFICER, Role.STAFF, Role.OPERATOR, Role.GRID_WORKER)
grant("objection.read", Role.DATA_OFFICER, Role.STAFF, Role.OPERATOR, Role.GRID_WORKER)
grant("objection.answer", Role.DATA_OFFICER)

