"""Exact and perceptual hashes, and the multi-index near-duplicate search."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_sample_images

from datacheck.dedup.hashing import (
    box_resize,
    content_hash,
    hamming,
    perceptual_hashes,
)
from datacheck.dedup.index import HashIndex, candidate_pairs, near_groups


@pytest.fixture(scope="module")
def photo_crops() -> np.ndarray:
    """Non-overlapping 64x64 grey crops of scikit-learn's two sample photos (real images)."""
    crops = []
    for image in load_sample_images().images:
        grey = image.mean(axis=-1)
        for i in range(0, grey.shape[0] - 64, 64):
            for j in range(0, grey.shape[1] - 64, 64):
                crops.append(grey[i:i + 64, j:j + 64])
    return np.asarray(crops)


def test_content_hash_sees_dtype_shape_and_bytes():
    x = np.arange(12, dtype=np.int32)
    assert content_hash([x]) == content_hash([x.copy()])
    assert content_hash([x]) != content_hash([x.astype(np.int64)])
    assert content_hash([x]) != content_hash([x.reshape(3, 4)])
    y = x.copy()
    y[5] += 1
    assert content_hash([x]) != content_hash([y])


def test_box_resize_averages_blocks():
    image = np.arange(16.0).reshape(1, 4, 4)
    np.testing.assert_allclose(box_resize(image, 2, 2)[0], [[2.5, 4.5], [10.5, 12.5]])
    assert box_resize(np.ones((2, 3, 5)), 8, 9).shape == (2, 8, 9)


def test_perceptual_hash_survives_noise_and_rescaling(photo_crops, rng):
    bits, thumbs = perceptual_hashes(photo_crops, "HW")
    assert bits.shape == (len(photo_crops), 8) and thumbs.shape == (len(photo_crops), 64)
    noisy = np.clip(photo_crops * 0.9 + rng.normal(0, 3, photo_crops.shape), 0, 255)
    same = hamming(bits, perceptual_hashes(noisy, "HW")[0])
    half = hamming(bits, perceptual_hashes(photo_crops[:, ::2, ::2], "HW")[0])
    others = hamming(bits[:, None], bits[None])[np.triu_indices(len(bits), 1)]
    assert np.median(same) <= 1 and np.median(half) <= 2
    assert np.median(others) >= 20  # unrelated photo crops are far apart


def test_volumes_hash_three_middle_slices(rng):
    volumes = rng.random((3, 12, 10, 8, 1))
    bits, thumbs = perceptual_hashes(volumes, "DHWC")
    assert bits.shape == (3, 24) and thumbs.shape == (3, 192)
    assert perceptual_hashes(rng.random((3, 5)), None) is None


def test_multi_index_search_equals_brute_force(digits):
    x, _ = digits
    bits, _ = perceptual_hashes(x, "HWC")
    brute = hamming(bits[:, None], bits[None])
    for distance in (0, 2, 4):
        pairs = candidate_pairs(bits, distance)
        close = pairs[hamming(bits[pairs[:, 0]], bits[pairs[:, 1]]) <= distance]
        i, j = np.nonzero(np.triu(brute <= distance, 1))
        assert {tuple(p) for p in close.tolist()} == set(zip(i.tolist(), j.tolist(), strict=True))


def test_near_groups_need_matching_thumbnails(photo_crops, rng):
    a, b = HashIndex("A"), HashIndex("B")
    bits, thumbs = perceptual_hashes(photo_crops, "HW")
    noisy = photo_crops[:5] * 1.1 + rng.normal(0, 2, photo_crops[:5].shape)
    nbits, nthumbs = perceptual_hashes(noisy, "HW")
    for i in range(len(bits)):
        a.add(f"a{i}", content_hash([photo_crops[i]]), bits[i].tobytes(), None, thumbs[i].tobytes())
    for i in range(5):
        b.add(f"b{i}", content_hash([noisy[i]]), nbits[i].tobytes(), None, nthumbs[i].tobytes())
    groups = near_groups([a, b], 4)
    cross = {(g.members[0], g.members[1]) for g in groups if len(g.splits()) == 2}
    found = sum(((0, i), (1, i)) in cross for i in range(5))
    assert found >= 4
    restored = HashIndex.from_dict(b.to_dict())
    assert restored.thumbs == b.thumbs and restored.phash == b.phash
