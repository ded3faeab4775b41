"""Benchmarks (make bench): each module writes one bench/*.json."""
