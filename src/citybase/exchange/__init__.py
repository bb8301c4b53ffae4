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


def _register_hook() -> None:
    from citybase.lake import service as lake

    def _exchange_new_version(session, version) -> None:  # type: ignore[no-untyped-def]
        from citybase.exchange import service

        service.on_version(session, version)

    lake.on_new_version(_exchange_new_version)


_register_hook()
