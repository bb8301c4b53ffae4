"""五大基础库: 人口, 法人, 自然资源和空间地理, 社会信用, 电子证照 — merged from department resources.

Permissions:
- baselib.read: business roles see library status, coverage and masked samples.
- baselib.manage: data officers; the service also checks they work at the big-data bureau
  (source mappings, priorities, rebuilds).
"""

from citybase.core.identity.roles import Role, grant

grant("baselib.read", Role.DATA_OFFICER, Role.STAFF, Role.OPERATOR, Role.GRID_WORKER, Role.AUDITOR)
grant("baselib.manage", Role.DATA_OFFICER)
