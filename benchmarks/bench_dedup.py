"""Near-duplicate search: multi-index hashing vs all-pairs Hamming, side by side in one run.

Two regimes. "spread": 64-bit hashes of unrelated images sit ~32 bits apart,
so they are drawn uniformly at random, with 1% planted near copies (<= 3 bits
off) - the usual case for photos and scans. "digits": scikit-learn's real
8x8 digits resampled with noise, whose aHashes crowd together (the worst case:
the output itself is millions of pairs). Both methods must find the same
pairs; the script prints their times and the ratio, and the cost of hashing
in the profile pass. ``--quick`` runs the small sizes only.

    python benchmarks/bench_dedup.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from sklearn.datasets import load_digits

from datacheck.dedup.hashing import hamming, perceptual_hashes
from datacheck.dedup.index import candidate_pairs
from datacheck.drift.profile import build_profile


def spread(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 256, (n, 8), dtype=np.uint8)
    copies = rng.choice(n, n // 100, replace=False)
    flips = rng.integers(0, 64, (len(copies), 3))
    for row, src in enumerate(copies):
        target = (src + 1 + row) % n
        bits[target] = bits[src]
        for bit in flips[row]:
            bits[target, bit // 8] ^= np.uint8(1 << (bit % 8))
    return bits


def images(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = load_digits().images
    picks = base[rng.integers(0, len(base), n)]
    return picks + rng.normal(0, 0.5, picks.shape)


def mih(bits: np.ndarray, distance: int) -> set[tuple[int, int]]:
    pairs = candidate_pairs(bits, distance)
    keep = hamming(bits[pairs[:, 0]], bits[pairs[:, 1]]) <= distance
    return {(int(a), int(b)) for a, b in pairs[keep]}


def brute(bits: np.ndarray, distance: int, block: int = 512) -> set[tuple[int, int]]:
    found: set[tuple[int, int]] = set()
    for start in range(0, len(bits), block):
        d = hamming(bits[start:start + block, None], bits[None])
        i, j = np.nonzero(d <= distance)
        i = i + start
        found.update((int(a), int(b)) for a, b in zip(i, j, strict=True) if a < b)
    return found


def timed(fn, *args, repeats: int = 3):  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    args = parser.parse_args()
    plans = [("spread", n) for n in ([4_000] if args.quick else [4_000, 16_000])]
    plans += [("digits", n) for n in ([2_000] if args.quick else [2_000, 4_000])]
    print(f"{'data':>7} {'N':>7} {'pairs':>8} {'multi-index s':>14} {'all-pairs s':>12} "
          f"{'ratio':>7}")
    for kind, n in plans:
        bits = spread(n) if kind == "spread" else perceptual_hashes(images(n), "HW")[0]
        t_mih, a = timed(mih, bits, 4)
        t_all, b = timed(brute, bits, 4, repeats=1 if n > 10_000 else 3)
        assert a == b, "multi-index search must find exactly the all-pairs result"
        print(f"{kind:>7} {n:>7} {len(a):>8} {t_mih:>14.3f} {t_all:>12.3f} "
              f"{t_all / t_mih:>6.1f}x")
    x = images(8_000)[..., None].astype("float32")
    y = np.zeros(len(x), np.int64)
    t_plain, _ = timed(build_profile, (x, y))
    t_hash, _ = timed(lambda: build_profile((x, y), hashes=True))
    mb = x.nbytes / 2**20
    print(f"profile of {len(x)} images ({mb:.1f} MiB): {t_plain:.2f} s; with hashes "
          f"{t_hash:.2f} s ({t_hash / t_plain:.2f}x)")


if __name__ == "__main__":
    main()
