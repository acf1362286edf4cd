"""Find exact and near-duplicate elements, within a split and across splits.

Exact duplicates share a content hash. Near-duplicates are pairs whose
perceptual hashes differ in at most ``max_distance`` bits; candidates come
from multi-index hashing (split the bits into ``max_distance + 1`` blocks:
two hashes that close agree exactly on at least one block), so the search is
about linear in the number of elements instead of quadratic.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from datacheck.dedup.hashing import hamming

#: Groups larger than this are checked pairwise in blocks instead of by offsets.
_SMALL_GROUP = 64


@dataclass
class HashIndex:
    """Hashes of the elements of one split (``name``: "A", "train", a path...).

    >>> idx = HashIndex("A"); idx.add("a.npz element 0", b"x" * 16, None, "3"); len(idx)
    1
    """

    name: str
    where: list[str] = field(default_factory=list)
    exact: list[bytes] = field(default_factory=list)
    phash: list[bytes | None] = field(default_factory=list)
    labels: list[str | None] = field(default_factory=list)

    def add(self, where: str, exact: bytes, phash: bytes | None, label: str | None) -> None:
        self.where.append(where)
        self.exact.append(exact)
        self.phash.append(phash)
        self.labels.append(label)

    def __len__(self) -> int:
        return len(self.where)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "where": self.where,
                "exact": [h.hex() for h in self.exact],
                "phash": [None if h is None else h.hex() for h in self.phash],
                "labels": self.labels}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HashIndex:
        return cls(str(data.get("name", "")), list(data["where"]),
                   [bytes.fromhex(h) for h in data["exact"]],
                   [None if h is None else bytes.fromhex(h) for h in data["phash"]],
                   list(data.get("labels") or [None] * len(data["where"])))


@dataclass
class Group:
    """Elements that are copies (``exact``) or near copies of each other."""

    members: list[tuple[int, int]]  # (split index, element index)
    exact: bool
    distance: int = 0  # largest Hamming distance of a linking pair (near groups)

    def splits(self) -> set[int]:
        return {s for s, _ in self.members}


def exact_groups(indexes: list[HashIndex]) -> list[Group]:
    by_hash: dict[bytes, list[tuple[int, int]]] = defaultdict(list)
    for s, index in enumerate(indexes):
        for i, digest in enumerate(index.exact):
            by_hash[digest].append((s, i))
    return [Group(members, True) for members in by_hash.values() if len(members) > 1]


def near_groups(indexes: list[HashIndex], max_distance: int) -> list[Group]:
    """Groups linked by perceptual hashes within ``max_distance`` bits, exact copies excluded."""
    items = [(s, i) for s, index in enumerate(indexes) for i, h in enumerate(index.phash)
             if h is not None]
    if len(items) < 2:
        return []
    width = {len(indexes[s].phash[i] or b"") for s, i in items}
    if len(width) != 1:
        return []  # images and volumes mixed: perceptual hashes are not comparable
    hashes = np.frombuffer(b"".join(indexes[s].phash[i] or b"" for s, i in items),
                           dtype=np.uint8).reshape(len(items), -1)
    exact = [indexes[s].exact[i] for s, i in items]
    pairs = candidate_pairs(hashes, max_distance)
    dist = hamming(hashes[pairs[:, 0]], hashes[pairs[:, 1]]) if len(pairs) else np.zeros(0, int)
    keep = [(int(a), int(b), int(d)) for (a, b), d in zip(pairs, dist, strict=True)
            if d <= max_distance and exact[a] != exact[b]]
    parent = list(range(len(items)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    worst: dict[int, int] = defaultdict(int)
    for a, b, d in keep:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra
        worst[find(a)] = max(worst[find(a)], worst.pop(rb, 0) if rb != ra else 0, d)
    members: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for k in {x for a, b, _ in keep for x in (a, b)}:
        members[find(k)].append(items[k])
    return [Group(sorted(m), False, worst.get(root, 0)) for root, m in members.items()]


def candidate_pairs(hashes: np.ndarray, max_distance: int) -> np.ndarray:
    """Index pairs (i < j) that agree exactly on at least one of ``max_distance + 1`` bit blocks."""
    n, nbytes = hashes.shape
    bits = np.unpackbits(hashes, axis=1)
    blocks = np.array_split(np.arange(nbytes * 8), min(max_distance + 1, nbytes * 8))
    found: list[np.ndarray] = []
    for block in blocks:
        weights = (1 << np.arange(len(block), dtype=np.uint64)).astype(np.uint64)
        keys = (bits[:, block].astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
        found.append(_equal_key_pairs(keys))
    if not found:
        return np.zeros((0, 2), np.int64)
    pairs = np.concatenate(found)
    if not len(pairs):
        return pairs
    return np.unique(pairs, axis=0)


def _equal_key_pairs(keys: np.ndarray) -> np.ndarray:
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    sizes = np.diff(np.r_[starts, len(keys)])
    group_of = np.repeat(np.arange(len(starts)), sizes)
    out: list[np.ndarray] = []
    small = sizes[group_of] <= _SMALL_GROUP
    for offset in range(1, min(int(sizes.max(initial=1)), _SMALL_GROUP + 1)):
        same = (group_of[:-offset] == group_of[offset:]) & small[:-offset]
        idx = np.flatnonzero(same)
        out.append(np.stack([order[idx], order[idx + offset]], axis=1))
    for g in np.flatnonzero(sizes > _SMALL_GROUP):
        members = order[starts[g]:starts[g] + sizes[g]]
        i, j = np.triu_indices(len(members), k=1)
        out.append(np.stack([members[i], members[j]], axis=1))
    if not out:
        return np.zeros((0, 2), np.int64)
    pairs = np.concatenate(out).astype(np.int64)
    return np.sort(pairs, axis=1)
