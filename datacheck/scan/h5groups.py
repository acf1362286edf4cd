"""HDF5 dataset paths with wildcards: one schema for per-subject layouts and several groups.

``hdf5.datasets.volume.path: /sub-*/T1w`` matches ``/sub-01/T1w``,
``/sub-02/T1w`` ...; ``*`` (and ``?``) match within one path component. The
matches of every wildcard dataset are grouped by what the wildcards
matched, so ``/*/images`` and ``/*/labels`` pair ``/train/images`` with
``/train/labels`` and ``/val/images`` with ``/val/labels``; a group
lacking one of them reports it missing under its concrete path. Datasets
without wildcards are judged once, with the first group.
"""

from __future__ import annotations

import re
from typing import Any

from datacheck.schema.medical import H5DatasetSpec
from datacheck.schema.model import Schema

_WILD = re.compile(r"[*?]")


def pattern_regex(path: str) -> re.Pattern[str] | None:
    """The regex of a wildcard dataset path (None without wildcards).

    >>> pattern_regex("/sub-*/T1w").fullmatch("/sub-01/T1w").groups()
    ('01',)
    """
    if not _WILD.search(path):
        return None
    parts = [("([^/]*)" if p == "*" else "([^/])" if p == "?" else re.escape(p))
             for p in re.split(r"([*?])", path) if p]
    return re.compile("".join(parts))


def dataset_groups(handle: Any, schema: Schema, datasets: dict[str, H5DatasetSpec]
                   ) -> list[tuple[str, dict[str, H5DatasetSpec]]]:
    """(group name, datasets with concrete paths) per group of wildcard matches.

    Without wildcards: one group named '' holding ``datasets`` unchanged.
    With wildcards that match nothing: one group with the patterns, which the
    dataset rule reports as missing.
    """
    patterns = {name: rx for name, ds in datasets.items()
                if (rx := pattern_regex(ds.path)) is not None}
    if not patterns:
        return [("", datasets)]
    paths: list[str] = []
    handle.visititems(lambda name, obj: paths.append("/" + name))
    found: dict[tuple[str, ...], dict[str, str]] = {}
    for name, rx in patterns.items():
        for path in paths:
            if (m := rx.fullmatch(path)) is not None:
                found.setdefault(m.groups(), {})[name] = path
    if not found:
        return [("", datasets)]
    groups = []
    for index, key in enumerate(sorted(found)):
        concrete: dict[str, H5DatasetSpec] = {}
        for name, ds in datasets.items():
            if name in patterns:
                path = found[key].get(name) or _fill(ds.path, key)
                concrete[name] = ds.model_copy(update={"path": path})
            elif index == 0:
                concrete[name] = ds
        groups.append(("/".join(key), concrete))
    return groups


def _fill(pattern: str, key: tuple[str, ...]) -> str:
    """The pattern with this group's matches put in (for a 'missing' message)."""
    pieces = re.split(r"[*?]", pattern)
    if len(pieces) != len(key) + 1:
        return pattern
    return "".join(p + k for p, k in zip(pieces, (*key, ""), strict=True))
