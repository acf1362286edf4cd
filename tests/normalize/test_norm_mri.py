"""The MRI case on nibabel's real test scans: foreground statistics and normalization."""

from __future__ import annotations

import os

import numpy as np
import pytest

nib = pytest.importorskip("nibabel")
keras = pytest.importorskip("keras")

import datacheck as dc  # noqa: E402
from datacheck.normalize import Normalize, fit_stats  # noqa: E402

DATA = os.path.join(os.path.dirname(nib.__file__), "tests", "data")
ANATOMICAL = os.path.join(DATA, "anatomical.nii")  # 33x41x25 int16, no zero background
EXAMPLE4D = os.path.join(DATA, "example4d.nii.gz")  # 128x96x24x2, 61 % zeros


def _volume(path: str) -> np.ndarray:
    data = nib.load(path).get_fdata(dtype=np.float32)
    return (data[..., None] if data.ndim == 3 else data)[None]


def test_zero_padded_anatomical_scan_nonzero_stats_equal_the_unpadded_scan(tmp_path):
    image = nib.load(ANATOMICAL)
    padded = np.pad(np.asarray(image.dataobj), 6)  # int16 scan inside a zero background
    nib.save(nib.Nifti1Image(padded, image.affine), tmp_path / "padded.nii.gz")
    # The scan holds no exact zeros, so the non-zero foreground is exactly the original scan.
    assert (np.asarray(image.dataobj) != 0).all()
    padded_stats = fit_stats(tmp_path / "padded.nii.gz", foreground="nonzero")
    original = fit_stats(ANATOMICAL)
    np.testing.assert_array_equal(padded_stats.count, original.count)
    np.testing.assert_allclose(padded_stats.mean, original.mean, rtol=1e-9)
    np.testing.assert_allclose(padded_stats.std, original.std, rtol=1e-9)
    np.testing.assert_array_equal(padded_stats.percentile(99.5), original.percentile(99.5))

    layer = Normalize(padded_stats, method="zscore")
    y = keras.ops.convert_to_numpy(layer(_volume(str(tmp_path / "padded.nii.gz"))))[0, ..., 0]
    inside = y[6:-6, 6:-6, 6:-6]
    assert (y == 0).sum() == y.size - inside.size  # background stays 0
    assert abs(inside.mean()) < 1e-4 and abs(inside.std() - 1) < 1e-4
    assert layer.violations() == []


def test_percentile_clipping_of_the_anatomical_scan_matches_numpy():
    stats = fit_stats(ANATOMICAL)
    volume = _volume(ANATOMICAL)
    layer = Normalize(stats, method="percentile", percentiles=(0.5, 99.5))
    y = keras.ops.convert_to_numpy(layer(volume)).astype(np.float64)
    lo, hi = np.percentile(volume, [0.5, 99.5])
    expected = (np.clip(volume, lo, hi) - lo) / (hi - lo)
    bound = 2 * stats.error_bound()[0] / (hi - lo)
    assert np.abs(y - expected).max() <= bound + 1e-6
    assert y.min() == 0.0 and y.max() <= 1.0
    assert layer.violations() == []


def test_brain_mask_statistics_turn_off_the_moment_check_the_layer_cannot_reproduce():
    volume = _volume(ANATOMICAL)
    mask = volume[..., 0] > np.percentile(volume, 40)  # a crude brain mask
    stats = fit_stats(volume, foreground=mask)
    np.testing.assert_allclose(stats.mean, [volume[..., 0][mask].mean()], rtol=1e-6)
    layer = Normalize(stats, method="zscore")
    layer(volume)
    # Over the whole volume the output is not mean 0 (the stats cover the mask only), and the
    # layer knows it: only finiteness is judged.
    assert abs(layer.last_check()["mean"]) > 0.1
    assert layer.expect.normalization is None and layer.violations() == []


def test_four_d_scan_with_zero_background_per_channel_and_per_sample():
    volume = _volume(EXAMPLE4D)  # (1, 128, 96, 24, 2): the 2 volumes act as channels
    keep = (volume[0] != 0).any(axis=-1)
    stats = fit_stats(EXAMPLE4D, foreground="nonzero")
    assert stats.channels == 2 and stats.count.tolist() == [keep.sum()] * 2
    fg = volume[0][keep].astype(np.float64)
    np.testing.assert_allclose(stats.mean, fg.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(stats.std, fg.std(axis=0), rtol=1e-9)
    for method in ("zscore", "zscore_per_sample"):
        layer = Normalize(stats, method=method)
        y = keras.ops.convert_to_numpy(layer(volume))[0].astype(np.float64)
        assert (y[~keep] == 0).all()
        np.testing.assert_allclose(y[keep].mean(axis=0), [0, 0], atol=1e-3)
        np.testing.assert_allclose(y[keep].std(axis=0), [1, 1], atol=1e-3)
        assert layer.violations() == []


def test_fit_stats_uses_each_images_mask_pair(tmp_path):
    # Issue 16: the mask pair is the foreground; paths are read through the guarded reader.
    import os

    import nibabel as nib

    from datacheck.normalize import fit_stats

    nilearn = pytest.importorskip("nilearn")
    data_dir = os.path.join(os.path.dirname(nilearn.__file__), "datasets", "data")
    name = "mni_icbm152_{}_tal_nlin_sym_09a_converted.nii.gz"
    t1 = nib.load(os.path.join(data_dir, name.format("t1")))
    tissue = sum(np.asarray(nib.load(os.path.join(data_dir, name.format(k))).dataobj,
                            dtype=np.float32) for k in ("gm", "wm"))
    brain = (tissue > 127).astype(np.uint8)
    nib.save(t1, tmp_path / "mni.nii.gz")
    nib.save(nib.Nifti1Image(brain, t1.affine), tmp_path / "mni_mask.nii.gz")
    values = t1.get_fdata()[brain > 0]
    stats = fit_stats(str(tmp_path / "mni.nii.gz"), foreground="mask")
    assert float(stats.mean[0]) == pytest.approx(values.mean(), rel=1e-6)
    assert float(stats.std[0]) == pytest.approx(values.std(), rel=1e-4)
    pairs = fit_stats([(tmp_path / "mni.nii.gz", tmp_path / "mni_mask.nii.gz")],
                      foreground="mask")
    assert float(pairs.mean[0]) == pytest.approx(values.mean(), rel=1e-6)
    nonzero = fit_stats(str(tmp_path / "mni.nii.gz"), foreground="nonzero")
    assert int(stats.moments.count[0]) == values.size and stats.foreground == "mask"
    assert int(nonzero.moments.count[0]) > values.size  # non-brain tissue counted too
    (tmp_path / "mni_mask.nii.gz").unlink()
    from datacheck.errors import DataError

    with pytest.raises(DataError, match=r"needs its mask mni_mask\.nii"):
        fit_stats(str(tmp_path / "mni.nii.gz"), foreground="mask")


def test_one_truncated_file_does_not_stop_the_fit_and_is_named(tmp_path):
    import shutil

    good = [tmp_path / "a.nii", tmp_path / "b.nii"]
    for path in good:
        shutil.copy(os.path.join(DATA, "anatomical.nii"), path)
    with open(os.path.join(DATA, "example4d.nii.gz"), "rb") as handle:
        source = handle.read()
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(source[: len(source) // 3])
    with pytest.warns(UserWarning, match=r"fit_stats: not used: .*broken\.nii\.gz"):
        stats = fit_stats([good[0], broken, good[1]])
    reference = fit_stats(good)
    np.testing.assert_allclose(stats.mean, reference.mean)
    assert stats.elements == reference.elements == 2
    with pytest.raises(dc.DataError, match=r"nothing to fit .*broken\.nii\.gz"):
        fit_stats([broken])
