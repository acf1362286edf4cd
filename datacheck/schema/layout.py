"""Named tensor layouts: which axis means what.

A layout is a string of axis letters: N (batch), D (depth), H (height),
W (width), C (channels). ``NHWC`` and ``HWC`` describe the same element
layout; the batch axis, when named, must come first.
"""

from __future__ import annotations

import difflib

#: Element layouts we understand (the batch axis is optional in front of each).
ELEMENT_LAYOUTS: tuple[str, ...] = ("HW", "HWC", "CHW", "DHW", "DHWC", "CDHW", "W", "WC", "CW")
KNOWN_LAYOUTS: tuple[str, ...] = ELEMENT_LAYOUTS + tuple("N" + lay for lay in ELEMENT_LAYOUTS)


def parse_layout(layout: str) -> str:
    """Return the element layout (batch axis removed) or raise ValueError with a suggestion.

    >>> parse_layout("NHWC")
    'HWC'
    """
    text = layout.strip().upper()
    if text not in KNOWN_LAYOUTS:
        close = difflib.get_close_matches(text, KNOWN_LAYOUTS, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown layout {layout!r}{hint} Known layouts: {', '.join(KNOWN_LAYOUTS)}"
        )
    return text[1:] if text.startswith("N") else text


def channel_axis(element_layout: str) -> int | None:
    """Index of the channel axis in the element layout, or None."""
    return element_layout.index("C") if "C" in element_layout else None


def alternative_layout(element_layout: str) -> str | None:
    """The same axes with channels moved to the other end (HWC <-> CHW)."""
    if "C" not in element_layout:
        return None
    spatial = element_layout.replace("C", "")
    return "C" + spatial if element_layout.endswith("C") else spatial + "C"


def permutation(source: str, target: str) -> tuple[int, ...]:
    """Axis permutation (batch axis included, at 0) that turns ``source`` into ``target``.

    >>> permutation("CHW", "HWC")
    (0, 2, 3, 1)
    """
    return (0, *(source.index(axis) + 1 for axis in target))
