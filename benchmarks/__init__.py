"""Performance benchmarks (run: python -m benchmarks.run)."""
