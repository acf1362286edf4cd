"""leakage and duplicate: copies across splits and within one split, from duplicate groups.

The groups (exact content hashes, confirmed near copies) come from
``datacheck.dedup``; this module only judges them. The near-copy distance is
the ``duplicate`` rule's ``near_bits_per_64`` parameter scaled to the hash width.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from datacheck.rules.violation import Violation

if TYPE_CHECKING:
    from datacheck.dedup.index import Group, HashIndex

#: Anything indexable by split number.
Lookup = Mapping[int, "HashIndex"] | Sequence["HashIndex"]
#: Examples named in a message / kept in ``extra``.
SHOWN, KEPT = 3, 100


def duplicate_violations(indexes: list[HashIndex], feature: str = "*",
                         max_distance: int | None = None, near: bool = True,
                         groups: list[Group] | None = None,
                         ) -> tuple[list[Violation], dict[str, Any]]:
    """Violations and counts for exact and near duplicates within and across ``indexes``.

    Exact copies across splits are errors (``leakage``); near copies across
    splits and every duplicate within a split are warnings. ``groups`` (from
    :func:`find_groups` with the same distance) saves searching twice.
    """
    from datacheck.dedup.findings import default_distance, find_groups

    if groups is None:
        groups, distance = find_groups(indexes, max_distance, near)
    else:
        distance = default_distance(indexes) if max_distance is None else max_distance
    out: list[Violation] = []
    stats: dict[str, Any] = {"elements": {idx.name: len(idx) for idx in indexes},
                             "max_distance": distance}
    for exact in (True, False):
        kind = "exact" if exact else "near"
        cross = [g for g in groups if g.exact == exact and len(g.splits()) > 1]
        stats[f"{kind}_leakage_groups"] = len(cross)
        if cross:
            out.append(_leakage(indexes, cross, feature, exact, distance))
        for s, index in enumerate(indexes):
            inside = [g for g in groups if g.exact == exact and g.splits() == {s}]
            stats[f"{kind}_duplicate_groups_{index.name}"] = len(inside)
            if inside:
                out.append(_duplicate(index, s, inside, feature, exact, distance))
    return out, stats


def member_where(indexes: Lookup, member: tuple[int, int]) -> str:
    s, i = member
    name, where = indexes[s].name, indexes[s].where[i]
    return where if where.startswith(name) else f"{name}: {where}"


def _show(indexes: Lookup, group: Group, qualified: bool = True) -> str:
    # Later splits first: "B: x element 3 = A: y element 17" reads as "this val image is that one".
    members = sorted(group.members, key=lambda m: (-m[0], m[1]))[:3]
    names = [member_where(indexes, m) if qualified else indexes[m[0]].where[m[1]] for m in members]
    text = (" = " if group.exact else " ~ ").join(names)
    if group.exact:
        return text
    return f"{text} (mirrored)" if group.distance < 0 else f"{text} (distance {group.distance})"


def labels_differ(indexes: Lookup, group: Group) -> bool:
    labels = {indexes[s].labels[i] for s, i in group.members}
    return len(labels - {None}) > 1


def _what(exact: bool, distance: int) -> str:
    return "exact copies" if exact else f"near copies (perceptual hash within {distance} bits)"


def _leakage(indexes: list[HashIndex], groups: list[Group], feature: str, exact: bool,
             distance: int) -> Violation:
    splits = sorted({s for g in groups for s in g.splits()})
    first = indexes[splits[0]].name
    later = " and ".join(indexes[s].name for s in splits[1:])
    leaked = len({m for g in groups for m in g.members if m[0] != min(g.splits())})
    shown = "; ".join(_show(indexes, g) for g in groups[:SHOWN])
    conflicts = sum(labels_differ(indexes, g) for g in groups)
    conflict = f" {conflicts} of these carry different labels." if conflicts else ""
    message = (f"{feature}: leakage: {leaked} elements of {later} are {_what(exact, distance)} "
               f"of elements of {first}, e.g. {shown}.{conflict} Deduplicate before splitting "
               "(by content hash), or split by subject/patient so one source never lands in two "
               "splits.")
    return Violation(
        "leakage", feature, message, observed=leaked, expected=0,
        where=member_where(indexes, groups[0].members[-1]),
        severity="error" if exact else "warning",
        extra={"kind": "exact" if exact else "near", "max_distance": distance,
               "splits": [indexes[s].name for s in splits],
               "groups": [[member_where(indexes, m) for m in g.members[:10]]
                          for g in groups[:KEPT]]})


def _duplicate(index: HashIndex, s: int, groups: list[Group], feature: str, exact: bool,
               distance: int) -> Violation:
    lookup = {s: index}
    redundant = sum(len(g.members) - 1 for g in groups) if exact else len(
        {g.members[1] for g in groups})
    shown = "; ".join(_show(lookup, g, qualified=False) for g in groups[:SHOWN])
    conflicts = sum(labels_differ(lookup, g) for g in groups)
    conflict = (f" {conflicts} of these carry different labels for the same input: fix those "
                "labels first." if conflicts else "")
    kind = "groups" if exact else "pairs"
    message = (f"{feature}: duplicate: {index.name} holds {len(groups)} {kind} of "
               f"{_what(exact, distance)} ({redundant} redundant elements), e.g. {shown}."
               f"{conflict} Drop the copies (they weight those examples twice and, across "
               "folds, inflate validation scores).")
    return Violation(
        "duplicate", feature, message, observed=redundant, expected=0,
        where=f"{index.name}: {index.where[groups[0].members[0][1]]}", severity="warning",
        extra={"kind": "exact" if exact else "near", "split": index.name,
               "label_conflicts": conflicts,
               "groups": [[index.where[i] for _, i in g.members[:10]] for g in groups[:KEPT]]})
