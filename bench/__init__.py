"""Benchmarks for Haven: bounded, self-stopping load runs against real ``haven serve`` processes on loopback."""
