"""Find exact and near-duplicate elements, within a split and across splits.

Exact duplicates share a content hash. Near-duplicates are pairs whose
perceptual hashes differ in at most ``max_distance`` bits; candidates come
from multi-index hashing (split the bits into ``max_distance + 1`` blocks:
two hashes that close agree exactly on at least one block). When hashes are
spread out, as for photos and scans, few pairs share a block and the search
ran ~85x faster than comparing all pairs at 16,000 elements; when they crowd
together (tiny 8x8 digits) it is no faster, since the output itself is
quadratic (benchmarks/bench_dedup.py). A hash match counts only when the
8x8 thumbnails confirm it against a threshold calibrated on the data's own
nearest-neighbour distances per class (``datacheck.dedup.calibrate``): tiny
or very regular images (digits, blank backgrounds) share hashes without
being copies. Mirrored copies are found through the hashes of the mirrored
thumbnails.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import datacheck.dedup.calibrate as calibrate
from datacheck.dedup.hashing import hamming
from datacheck.rules.registry import RULES

#: Default largest Hamming distance per 64 hash bits that still counts as a near-duplicate
#: (the duplicate rule's parameter).
NEAR_BITS_PER_64 = int(RULES["duplicate"].params["near_bits_per_64"])
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
    thumbs: list[bytes | None] = field(default_factory=list)

    def add(self, where: str, exact: bytes, phash: bytes | None, label: str | None,
            thumb: bytes | None = None) -> None:
        self.where.append(where)
        self.exact.append(exact)
        self.phash.append(phash)
        self.labels.append(label)
        self.thumbs.append(thumb)

    def __len__(self) -> int:
        return len(self.where)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "where": self.where,
                "exact": [h.hex() for h in self.exact],
                "phash": [None if h is None else h.hex() for h in self.phash],
                "thumbs": [None if t is None else t.hex() for t in self.thumbs],
                "labels": self.labels}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HashIndex:
        n = len(data["where"])
        return cls(str(data.get("name", "")), list(data["where"]),
                   [bytes.fromhex(h) for h in data["exact"]],
                   [None if h is None else bytes.fromhex(h) for h in data["phash"]],
                   list(data.get("labels") or [None] * n),
                   [None if t is None else bytes.fromhex(t)
                    for t in data.get("thumbs") or [None] * n])


@dataclass
class Group:
    """Elements that are copies (``exact``) or near copies of each other."""

    members: list[tuple[int, int]]  # (split index, element index)
    exact: bool
    distance: int = 0  # Hamming distance of a near pair

    def splits(self) -> set[int]:
        return {s for s, _ in self.members}


def exact_groups(indexes: list[HashIndex]) -> list[Group]:
    by_hash: dict[bytes, list[tuple[int, int]]] = defaultdict(list)
    for s, index in enumerate(indexes):
        for i, digest in enumerate(index.exact):
            by_hash[digest].append((s, i))
    return [Group(members, True) for members in by_hash.values() if len(members) > 1]


def near_groups(indexes: list[HashIndex], max_distance: int | None = None,
                flips: bool = True, share: float | None = None) -> list[Group]:
    """Pairs whose perceptual hashes differ by at most ``max_distance`` bits (not exact copies),
    confirmed by their thumbnails (``datacheck.dedup.calibrate``). With ``flips``, a mirrored
    copy counts too. ``share`` overrides the calibrated share of the class NN distance.

    Pairs, not connected components: near-duplication is not transitive, and
    chaining pairs would glue whole classes of similar images together.
    """
    items = [(s, i) for s, index in enumerate(indexes) for i, h in enumerate(index.phash)
             if h is not None]
    if len(items) < 2:
        return []
    width = {len(indexes[s].phash[i] or b"") for s, i in items}
    if len(width) != 1:
        return []  # images and volumes mixed: perceptual hashes are not comparable
    hashes = np.frombuffer(b"".join(indexes[s].phash[i] or b"" for s, i in items),
                           dtype=np.uint8).reshape(len(items), -1)
    distance = default_distance_bits(hashes.shape[1]) if max_distance is None else max_distance
    exact = [indexes[s].exact[i] for s, i in items]
    thumbs = [indexes[s].thumbs[i] if i < len(indexes[s].thumbs) else None for s, i in items]
    n = len(items)
    if not all(t is not None and len(t) == len(thumbs[0] or b"") and len(t) % 64 == 0
               for t in thumbs):
        # No thumbnails to confirm with (old saved profiles): the hash alone decides.
        pairs = candidate_pairs(hashes, distance)
        dist = hamming(hashes[pairs[:, 0]], hashes[pairs[:, 1]]) if len(pairs) else \
            np.zeros(0, np.int64)
        return [Group([items[int(a)], items[int(b)]], False, int(d))
                for (a, b), d in zip(pairs, dist, strict=True)
                if d <= distance and exact[int(a)] != exact[int(b)]]
    grid = np.frombuffer(b"".join(t or b"" for t in thumbs), np.uint8).reshape(n, -1)
    z = calibrate.zscore(grid)
    limit = calibrate.thresholds(z, [str(indexes[s].labels[i]) for s, i in items])
    if share is not None:
        limit = limit / calibrate.NN_SHARE * share
    found: dict[tuple[int, int], int] = {}
    pairs = candidate_pairs(hashes, distance)
    if len(pairs):
        dist = hamming(hashes[pairs[:, 0]], hashes[pairs[:, 1]])
        pairs, dist = pairs[dist <= distance], dist[dist <= distance]
        close = calibrate.linf(z[pairs[:, 0]], z[pairs[:, 1]])
        ok = close <= np.minimum(limit[pairs[:, 0]], limit[pairs[:, 1]])
        found.update({(int(a), int(b)): int(d) for (a, b), d in zip(pairs[ok], dist[ok],
                                                                    strict=True)})
    if flips:
        mirrored = calibrate.flipped(grid)
        both = np.concatenate([calibrate.thumb_hashes(grid), calibrate.thumb_hashes(mirrored)])
        pairs = candidate_pairs(both, distance)
        pairs = pairs[(pairs[:, 0] < n) & (pairs[:, 1] >= n)]
        pairs[:, 1] -= n
        pairs = pairs[pairs[:, 0] != pairs[:, 1]]
        if len(pairs):
            close = calibrate.linf(z[pairs[:, 0]], calibrate.zscore(mirrored[pairs[:, 1]]))
            ok = close <= np.minimum(limit[pairs[:, 0]], limit[pairs[:, 1]])
            for a, b in np.sort(pairs[ok], axis=1).tolist():
                found.setdefault((a, b), -1)  # -1: a mirrored copy (no hash distance)
    return [Group([items[a], items[b]], False, d) for (a, b), d in sorted(found.items())
            if exact[a] != exact[b]]


def default_distance_bits(nbytes: int) -> int:
    """``NEAR_BITS_PER_64`` scaled to the hash width (64 bits for images, 192 for volumes)."""
    return NEAR_BITS_PER_64 * max(1, nbytes // 8)


def candidate_pairs(hashes: np.ndarray, max_distance: int) -> np.ndarray:
    """Index pairs (i < j) that agree exactly on at least one of ``max_distance + 1`` bit blocks."""
    nbytes = hashes.shape[1]
    bits = np.unpackbits(hashes, axis=1)
    blocks = np.array_split(np.arange(nbytes * 8), min(max_distance + 1, nbytes * 8))
    found: list[np.ndarray] = []
    for block in blocks:
        weights = (1 << np.arange(len(block), dtype=np.uint64)).astype(np.uint64)
        keys = (bits[:, block].astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
        found.append(_equal_key_pairs(keys, hashes, max_distance))
    if not found:
        return np.zeros((0, 2), np.int64)
    pairs = np.concatenate(found)
    if not len(pairs):
        return pairs
    return np.unique(pairs, axis=0)


def _equal_key_pairs(keys: np.ndarray, hashes: np.ndarray, max_distance: int) -> np.ndarray:
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
        # A big bucket (many similar images): compare in row blocks, keep only close pairs.
        members = order[starts[g]:starts[g] + sizes[g]]
        for start in range(0, len(members), 256):
            rows = members[start:start + 256]
            dist = hamming(hashes[rows][:, None, :], hashes[members][None, :, :])
            i, j = np.nonzero(dist <= max_distance)
            a, b = rows[i], members[j]
            out.append(np.stack([a[a < b], b[a < b]], axis=1))
    if not out:
        return np.zeros((0, 2), np.int64)
    pairs = np.concatenate(out).astype(np.int64)
    return np.sort(pairs, axis=1)
