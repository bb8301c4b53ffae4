"""五大基础库: 人口, 法人, 自然资源和空间地理, 社会信用, 电子证照 — merged from department resources.

Permissions:
- baselib.read: business roles see library status and coverage (aggregates, never a person).
- baselib.records: data officers; the service also checks they work at the big-data bureau or at a
  department that feeds the library. Records are masked; a lookup by a personal identifier needs a
  grant naming the key in clear (or the bureau's own) and a stated purpose, is audited, rate-limited,
  and a burst of misses raises a security alert.
- baselib.manage: data officers; the service also checks they work at the big-data bureau
  (source mappings, priorities, rebuilds).
"""

from citybase.core.identity.roles import Role, grant

grant("baselib.read", Role.DATA_OFFICER, Role.STAFF, Role.OPERATOR, Role.GRID_WORKER)
grant("baselib.records", Role.DATA_OFFICER)
grant("baselib.manage", Role.DATA_OFFICER)
