"""Benchmarks of helpdesk against real servers (run them as scripts; see "Benchmarks" in README.md)."""
