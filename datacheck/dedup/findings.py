"""Duplicate groups (exact and confirmed near copies) and the evidence the rules judge.

The verdicts (``leakage`` across splits, ``duplicate`` within one) are
``datacheck.rules.dedup``'s; ``label_conflict`` is ``rules.label_quality``'s.
"""

from __future__ import annotations

from datacheck.dedup.index import (
    NEAR_BITS_PER_64,
    Group,
    HashIndex,
    exact_groups,
    near_groups,
)
from datacheck.rules.dedup import Lookup, labels_differ, member_where
from datacheck.rules.label_quality import ConflictGroup


def default_distance(indexes: list[HashIndex]) -> int:
    """``NEAR_BITS_PER_64`` scaled to the hash width (64 bits for images, 192 for volumes)."""
    width = max((len(h) for idx in indexes for h in idx.phash if h is not None), default=8)
    return NEAR_BITS_PER_64 * max(1, width // 8)


def find_groups(indexes: list[HashIndex], max_distance: int | None = None,
                near: bool = True) -> tuple[list[Group], int]:
    """Exact copy groups and (with ``near``) confirmed near pairs, and the distance used."""
    distance = default_distance(indexes) if max_distance is None else max_distance
    groups = exact_groups(indexes)
    if near:
        groups += near_groups(indexes, distance)
    return groups, distance


def conflict_groups(indexes: Lookup, groups: list[Group],
                    across: bool = False) -> list[ConflictGroup]:
    """The groups whose members carry different labels (unlabelled members do not count),
    as evidence for the ``label_conflict`` rule; with ``across``, only groups that span
    several splits (copies within one split are a matter for `datacheck labels`)."""
    out = []
    for group in groups:
        if across and len(group.splits()) < 2:
            continue
        if not labels_differ(indexes, group):
            continue
        members = [(member_where(indexes, m), str(indexes[m[0]].labels[m[1]]))
                   for m in group.members if indexes[m[0]].labels[m[1]] is not None]
        inputs = list(dict.fromkeys(indexes[s].name for s, _ in group.members))
        out.append(ConflictGroup(members, group.exact, inputs))
    return out
