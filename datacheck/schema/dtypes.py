"""dtype names and kinds a schema may use, and the one mapping from a kind to a dtype.

>>> dtype_matches("int16", ["integer"]), concrete_dtype("signed")
(True, 'int64')
"""

from __future__ import annotations

import difflib

DTYPE_KINDS: dict[str, tuple[str, ...]] = {
    "floating": ("float16", "bfloat16", "float32", "float64"),
    "integer": ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"),
    "signed": ("int8", "int16", "int32", "int64"),
    "unsigned": ("uint8", "uint16", "uint32", "uint64"),
    "string": ("string", "str", "bytes", "object"),
    "bool": ("bool",),
}
KNOWN_DTYPES = frozenset(d for group in DTYPE_KINDS.values() for d in group)
#: The one concrete dtype each kind stands for, wherever one must be chosen (a fix to
#: suggest, a loader's output dtype).
CONCRETE_DTYPES: dict[str, str] = {"floating": "float32", "integer": "int64", "signed": "int64",
                                   "unsigned": "uint8", "bool": "bool", "string": "string"}


def concrete_dtype(name: str) -> str:
    """A dtype name or kind as one concrete dtype name.

    >>> concrete_dtype("integer"), concrete_dtype("float64")
    ('int64', 'float64')
    """
    if name in ("str", "bytes", "object"):
        return "string"
    return CONCRETE_DTYPES.get(name, name)


def check_dtypes(value: str | list[str] | None) -> list[str] | None:
    """The dtype names a schema field gives, as a list; an unknown name is a ValueError."""
    if value is None:
        return None
    names = [value] if isinstance(value, str) else list(value)
    for name in names:
        if name not in KNOWN_DTYPES and name not in DTYPE_KINDS:
            close = difflib.get_close_matches(name, sorted(KNOWN_DTYPES | set(DTYPE_KINDS)), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown dtype {name!r}{hint}")
    return names


def dtype_matches(observed: str, allowed: list[str]) -> bool:
    """True when an observed dtype name is in the allowed names or kinds."""
    if observed in ("str", "bytes", "object") or observed.startswith(("<U", "|S", "<S")):
        observed = "string"
    for name in allowed:
        if observed == name or observed in DTYPE_KINDS.get(name, ()):
            return True
        if name in ("str", "bytes", "object") and observed == "string":
            return True
    return False
