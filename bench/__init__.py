"""The benchmark: the legacy app before and after the migration, and the alternatives.

`python -m bench [--quick|--full|--smoke] [--scenario NAME ...]` starts every configuration
as its own process group on 127.0.0.1, each on its own copy of one freshly seeded
database, drives it with wrk (or the Python client) and writes `docs/benchmarks.md`.
"""
