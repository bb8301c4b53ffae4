"""数据资源目录: the catalogue of government data resources (政务信息资源目录).

Permissions:
- catalog.read: every logged-in role (the public sees open data through the opendata module).
- catalog.edit: data officers and staff, only for resources their organisation provides (checked in
  the service); the admin too, for imports.
- catalog.submit: the provider's data officer sends a draft for review, or withdraws it.
- catalog.review: data officers; the service also checks the reviewer works at the big-data bureau.
- catalog.publish_direct: the admin (and the host's CLI), for imports and the demo only.
"""

from citybase.core.identity.roles import Role, grant

grant("catalog.read", Role.ADMIN, Role.DATA_OFFICER, Role.STAFF, Role.GRID_WORKER,
      Role.OPERATOR)
grant("catalog.edit", Role.DATA_OFFICER, Role.STAFF, Role.ADMIN)
grant("catalog.submit", Role.DATA_OFFICER)
grant("catalog.review", Role.DATA_OFFICER)
grant("catalog.publish_direct", Role.ADMIN)
