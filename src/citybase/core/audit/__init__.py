"""The audit ledger: append-only, SM3 hash-chained, with Ed25519-signed checkpoints."""
