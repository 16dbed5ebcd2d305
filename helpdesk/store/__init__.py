"""Keeping records: the TinyDB store, its journal, the record types and durable files."""
