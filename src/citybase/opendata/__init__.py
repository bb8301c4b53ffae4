"""开放平台 (public open data): the portal under /open, the CKAN-compatible Action API, DCAT and
Project Open Data exports, downloads, developer keys, applications for 有条件开放 data and 需求通道.

Only published resources whose 开放属性 is 无条件开放 serve data anonymously; fields graded L3/L4
never appear in any public output and L2 fields are masked (see ``opendata.service.public``).

Permissions:
- opendata.apply: any logged-in user applies for 有条件开放 data, rates and comments.
- opendata.approve: the provider's data officer decides applications and answers routed demands
  (the service checks the organisation).
- opendata.route_demand, opendata.dashboard: the big-data bureau's data officer (checked in the service).
"""

from citybase.core.identity.roles import Role, grant

grant("opendata.apply", Role.ADMIN, Role.DATA_OFFICER, Role.STAFF, Role.GRID_WORKER, Role.OPERATOR)
grant("opendata.approve", Role.DATA_OFFICER)
grant("opendata.route_demand", Role.DATA_OFFICER)
grant("opendata.dashboard", Role.DATA_OFFICER)
