"""Rules about image folders as a whole: labels tables and channel counts across files."""

from __future__ import annotations

from collections import Counter

from datacheck.rules.violation import Violation


def unlabeled_image(name: str, table: str, column: str) -> Violation:
    """An image of a flat folder with no row in its labels table."""
    return Violation(
        "manifest", "*", f"{name}: manifest: no row of {table} names this image in column "
        f"{column!r}, so it has no label. Add a row, or move the file out of the folder.",
        where=name, input=name)


def missing_image(table: str, value: str, line: int) -> Violation:
    """A labels-table row that names an image the folder does not hold."""
    return Violation(
        "missing_file", "*", f"{table}: missing_file: line {line} names {value!r}, which is "
        "not an image of the folder. Fix the file name or drop the row.",
        where=f"{table} line {line}")


def bad_labels_table(table: str, reason: str) -> Violation:
    """A labels table that cannot be used (unreadable, or without the named columns)."""
    return Violation("manifest", "*", f"{table}: manifest: {reason}", where=table, input=table)


def mixed_channels(feature: str, channels: dict[str, int]) -> list[Violation]:
    """Files whose channel count differs from most of the folder's (grayscale among RGB).

    One ``layout`` violation per minority file, naming it and the majority.

    >>> [v.where for v in mixed_channels("image", {"a.png": 3, "b.png": 3, "c.png": 1})]
    ['c.png']
    """
    counts = Counter(channels.values())
    if len(counts) < 2:
        return []
    usual, seen = counts.most_common(1)[0]
    kinds = {1: "grayscale", 2: "grayscale+alpha", 3: "RGB", 4: "RGBA"}
    out = []
    for name, c in channels.items():
        if c == usual:
            continue
        out.append(Violation(
            "layout", feature, f"{feature}: layout: {name} has {c} channel(s) "
            f"({kinds.get(c, '?')}) while {seen} of {len(channels)} images have {usual} "
            f"({kinds.get(usual, '?')}). A model input has one channel count: convert the "
            f"file, or load with color_mode='{'grayscale' if usual == 1 else 'rgb'}'.",
            observed=c, expected=usual, where=name, input=name))
    return out
