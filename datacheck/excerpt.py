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
#: Longest message, error or log line datacheck writes (the rest elided, its length named).
MAX_LINE = 2000
#: Longest feature name or location carried by a finding.
MAX_NAME = 200


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


def bounded(text: str, limit: int = MAX_LINE) -> str:
    """``text`` as one line of at most about ``limit`` characters: control characters
    escaped, the middle elided with the full length named.

    >>> bounded("a\\nb")
    'a\\\\nb'
    >>> len(bounded("x" * 100_000)) < 2100
    True
    """
    if len(text) <= limit and text.isprintable():
        return text
    return _elide("".join(c if c.isprintable() else repr(c)[1:-1] for c in text), limit,
                  len(text))


def _elide(text: str, limit: int, total: int | None = None) -> str:
    """``text`` cut in the middle to about ``limit``; ``total``: the length to name."""
    if len(text) <= limit:
        return text
    keep = max(limit - 24, 8)  # room for "... (1,234,567 characters)"
    head = keep * 2 // 3
    return f"{text[:head]}...{text[head - keep:]} ({total or len(text):,} characters)"
