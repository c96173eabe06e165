"""Benchmarks: run by hand or in CI smoke mode; they print figures, they never assert timing."""
