"""Benchmarks with their results (bench/README.md); never timed assertions in tests."""
