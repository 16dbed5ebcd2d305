"""Benchmarks of helpdesk against real servers (run them as scripts, see bench/README.md)."""
