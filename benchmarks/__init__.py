"""Benchmarks of tracker's store: `python -m benchmarks.store [--quick] [--skip-postgres]`."""
