"""Short, escaped excerpts of values that come from files (names, attributes, cells).

A hostile file can hold a 100 KB feature name or attribute; a message that
echoes it whole becomes a 100 KB line. Messages show values through
:func:`excerpt`: ``repr``-escaped (no control characters, no newlines), and
elided in the middle with the full length named, so the line stays short and
says that something was left out.
"""

from __future__ import annotations

from typing import Any

#: Characters of one value shown in a message.
EXCERPT_CHARS = 80


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """``repr(value)`` on one line, at most about ``limit`` characters (the length named).

    >>> excerpt("a" * 1000, 20)
    "'aaaa...aa' (1,002 characters)"
    """
    return _elide(repr(value), limit)


def excerpt_text(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """Like :func:`excerpt` for text shown without quotes (a name): escaped, elided.

    >>> excerpt_text("line\\nbreak")
    'line\\\\nbreak'
    """
    return _elide(repr(str(value))[1:-1], limit)


def _elide(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    keep = max(limit - 24, 8)  # room for "... (1,234,567 characters)"
    head = keep * 2 // 3
    return f"{text[:head]}...{text[head - keep:]} ({len(text):,} characters)"
