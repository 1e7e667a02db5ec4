"""Benchmark scripts, run from the repository root as ``python -m benchmarks.<name>``.

Each prints a Markdown table and can write JSON; timing helpers are in ``benchmarks.common``.
"""
