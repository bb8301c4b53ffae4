"""Deterministic synthetic data of the default city for demos, tests and benchmarks."""
