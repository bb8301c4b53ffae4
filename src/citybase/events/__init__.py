"""一网统管: work orders from the hotline, grid workers, the public, systems and sensors."""

from citybase.core.identity.roles import Role, grant

_BUSINESS = (Role.DATA_OFFICER, Role.STAFF, Role.GRID_WORKER, Role.OPERATOR)

grant("events.intake", Role.OPERATOR, Role.GRID_WORKER, Role.STAFF, Role.DATA_OFFICER)
grant("events.dispatch", Role.OPERATOR)
grant("events.handle", Role.STAFF, Role.DATA_OFFICER)
grant("events.verify", Role.GRID_WORKER)
grant("events.callback", Role.OPERATOR)
grant("events.read", *_BUSINESS)
grant("events.stats", *_BUSINESS)
grant("events.admin", Role.ADMIN)
