"""数据湖: versioned, immutable Parquet storage of every resource's data, and the DuckDB engine."""

from citybase.core.identity.roles import Role, grant

# Who may load data: the provider organisation's data officer and staff (checked per resource).
grant("lake.ingest", Role.DATA_OFFICER, Role.STAFF)
# Who may read stored versions: the provider organisation's users and the bureau's data officers.
grant("lake.read", Role.DATA_OFFICER, Role.STAFF, Role.OPERATOR, Role.GRID_WORKER)
# Who may register a SQL source pulled on the resource's 更新周期.
grant("lake.source_edit", Role.DATA_OFFICER)
