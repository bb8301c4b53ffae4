"""网格 (unit grids): polygons under streets and communities, grid workers, point → grid lookup.

Codes are hierarchical (15 digits): district 6 + street 3 + community 3 + grid 3, as the
数字城管 unit-grid standards (GB/T 30428.1, DB11 practice) describe.
"""

from citybase.core.identity.roles import Role, grant

# Every logged-in business role may read grids and look points up.
grant("grid.read", Role.ADMIN, Role.DATA_OFFICER, Role.STAFF, Role.GRID_WORKER, Role.OPERATOR)
# Importing or generating the grid layer replaces city-wide reference geometry: admin only.
grant("grid.manage", Role.ADMIN)
# Assigning grid workers to grids is the operations centre's daily work.
grant("grid.assign", Role.ADMIN, Role.OPERATOR)
