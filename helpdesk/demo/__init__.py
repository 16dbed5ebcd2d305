"""Loopback servers and the scripted tour of ``helpdesk demo``."""
