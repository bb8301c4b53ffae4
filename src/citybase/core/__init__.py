"""Core: identity, audit ledger, errors, pagination, work calendar."""
