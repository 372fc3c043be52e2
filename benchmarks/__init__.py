"""Careline's benchmarks: `make bench` (or `python -m benchmarks`) prints their figures."""
