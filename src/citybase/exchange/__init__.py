"""共享交换: requests, grants, masked serving, subscriptions (属地回流) and the access log.

Permissions:
- exchange.request: data officers and staff ask for a resource (and subscribe their organisation).
- exchange.approve: data officers; the service checks they work for the resource's provider.
- exchange.read: business roles read shared data, scoped by grants (checked per call in the service).
- exchange.overview: data officers; the service checks they work at the big-data bureau.
- exchange.log: data officers see who read their organisation's resources.
"""

from citybase.core.identity.roles import Role, grant

grant("exchange.request", Role.DATA_OFFICER, Role.STAFF)
grant("exchange.approve", Role.DATA_OFFICER)
grant("exchange.read", Role.DATA_OFFICER, Role.STAFF, Role.OPERATOR, Role.GRID_WORKER)
grant("exchange.overview", Role.DATA_OFFICER)
grant("exchange.log", Role.DATA_OFFICER)

