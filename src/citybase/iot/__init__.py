"""物联感知 (unified IoT sensing platform): device registry, telemetry in (HTTP/SenML/MQTT),
time-series storage with roll-ups and Parquet archive, rules and alarms that become work orders."""

from citybase.core.identity.roles import Role, grant

# Reading devices, telemetry and alarms: every business role and the admin.
grant("iot.read", Role.ADMIN, Role.DATA_OFFICER, Role.STAFF, Role.GRID_WORKER, Role.OPERATOR)
# Managing devices (credentials, attributes, import): the owner department's data officer and the admin
# (the service checks the department).
grant("iot.manage", Role.ADMIN, Role.DATA_OFFICER)
# Device profiles (types, quantities, rules, retention): the admin.
grant("iot.profile", Role.ADMIN)
# Acknowledging and clearing alarms: the operations-centre operator (and the owner's data officer).
grant("iot.alarm", Role.OPERATOR, Role.DATA_OFFICER)
