"""Benchmark harness: `make bench` = `python -m bench.run` (see bench/README.md).

Nothing here is imported by the application; the package only drives it from the outside.
"""
