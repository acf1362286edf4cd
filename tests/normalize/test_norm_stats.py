"""NormStats and fit_stats: three-way mergeability, foregrounds, sources, save/load, errors."""

from __future__ import annotations

import os

import numpy as np
import pytest

from datacheck.errors import DatacheckError, DataError
from datacheck.normalize import NormStats, fit_stats, stats_path


def _assert_same_stats(a: NormStats, b: NormStats) -> None:
    np.testing.assert_array_equal(a.count, b.count)
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-12)
    np.testing.assert_allclose(a.std, b.std, rtol=1e-10)
    np.testing.assert_array_equal(a.min, b.min)
    np.testing.assert_array_equal(a.max, b.max)
    np.testing.assert_array_equal(a.nonfinite, b.nonfinite)
    np.testing.assert_array_equal(a.values, b.values)
    for ha, hb in zip(a.histograms, b.histograms, strict=True):
        assert (ha.exp, ha.offset) == (hb.exp, hb.offset)
        np.testing.assert_array_equal(ha.counts, hb.counts)
    assert a.elements == b.elements


def test_batch_by_batch_merged_and_whole_agree(rng):
    data = rng.normal([10.0, -3.0, 500.0], [2.0, 0.5, 90.0], (60, 6, 6, 3))
    data[5, 0, 0, 1] = np.nan
    batches = [data[i:i + 8] for i in range(0, 60, 8)]
    streamed = fit_stats(iter(batches))  # batch by batch
    parts = [fit_stats(batches[:3]), fit_stats(batches[3:5]), fit_stats(batches[5:])]
    merged = parts[2].merge(parts[0].merge(parts[1]))  # merged from parts, any order
    whole = NormStats.of(data)
    _assert_same_stats(streamed, whole)
    _assert_same_stats(merged, whole)
    flat = data.reshape(-1, 3)
    np.testing.assert_allclose(whole.mean, np.nanmean(flat, axis=0), rtol=1e-12)
    np.testing.assert_allclose(whole.std, np.nanstd(flat, axis=0), rtol=1e-10)
    assert whole.nonfinite.tolist() == [0, 1, 0]
    assert whole.values.tolist() == [flat.shape[0]] * 3
    q = np.nanpercentile(flat, 99.5, axis=0)
    assert (np.abs(whole.percentile(99.5) - q) <= whole.error_bound()).all()


def test_channels_first_and_pooled_channels(rng):
    data = rng.normal(0, 1, (4, 2, 5, 5))
    first = fit_stats(data, channel_axis=1)
    np.testing.assert_allclose(first.mean, data.mean(axis=(0, 2, 3)))
    pooled = fit_stats(data, channel_axis=None)
    assert pooled.channels == 1
    np.testing.assert_allclose(pooled.mean, [data.mean()])


def test_nonzero_foreground_uses_voxels_where_any_channel_is_nonzero(rng):
    data = rng.normal(50, 5, (3, 8, 8, 2))
    data[:, :4] = 0.0  # background
    data[0, 5, 5, 0] = 0.0  # a zero inside the foreground: channel 1 is non-zero there
    stats = fit_stats(data, foreground="nonzero")
    keep = (data != 0).any(axis=-1)
    np.testing.assert_allclose(stats.mean, data[keep].mean(axis=0))
    np.testing.assert_allclose(stats.std, data[keep].std(axis=0))
    assert stats.foreground == "nonzero"
    assert stats.count.tolist() == [keep.sum()] * 2


def test_mask_array_and_mask_pairs_agree(rng):
    data = rng.normal(0, 1, (6, 5, 5, 1))
    mask = rng.random((6, 5, 5)) > 0.5
    from_array = fit_stats(data, foreground=mask)
    from_pairs = fit_stats(((data[i:i + 2], mask[i:i + 2]) for i in range(0, 6, 2)),
                           foreground="mask")
    _assert_same_stats(from_array, from_pairs)
    np.testing.assert_allclose(from_array.mean, [data[..., 0][mask].mean()])
    assert from_array.foreground == "mask"


def test_tf_data_dataset_of_tuples_and_dicts(rng):
    import tensorflow as tf

    images = rng.normal(3, 2, (40, 4, 4, 1)).astype(np.float32)
    labels = rng.integers(0, 2, 40)
    by_tuple = fit_stats(tf.data.Dataset.from_tensor_slices((images, labels)).batch(7))
    by_dict = fit_stats(tf.data.Dataset.from_tensor_slices({"image": images, "y": labels})
                        .batch(9), feature="image")
    _assert_same_stats(by_tuple, fit_stats(images))
    np.testing.assert_allclose(by_dict.mean, by_tuple.mean, rtol=1e-12)
    with pytest.raises(DataError, match="pass feature="):
        fit_stats(tf.data.Dataset.from_tensor_slices({"image": images, "y": labels}).batch(9))


def test_files_hdf5_npy_and_nifti_list(tmp_path, rng):
    import h5py
    import nibabel as nib

    data = rng.normal(7, 3, (20, 6, 6, 1)).astype(np.float32)
    with h5py.File(tmp_path / "scans.h5", "w") as f:
        f.create_dataset("volumes", data=data)
        f.create_dataset("labels", data=np.zeros(20))
    from_h5 = fit_stats(tmp_path / "scans.h5", key="volumes")
    _assert_same_stats(from_h5, fit_stats(data))
    with pytest.raises(DataError, match="pass key="):
        fit_stats(tmp_path / "scans.h5")
    np.save(tmp_path / "scans.npy", data)
    _assert_same_stats(fit_stats(str(tmp_path / "scans.npy")), fit_stats(data))
    paths = []
    for i in range(3):
        path = tmp_path / f"vol{i}.nii.gz"
        nib.save(nib.Nifti1Image(data[i] * (i + 1), np.eye(4)), path)  # a 6x6x1 volume
        paths.append(path)
    from_nifti = fit_stats(paths)
    expected = np.concatenate([(data[i] * (i + 1)).ravel() for i in range(3)])
    np.testing.assert_allclose(from_nifti.mean, [expected.mean()], rtol=1e-6)
    assert from_nifti.elements == 3 and from_nifti.batches == 3


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_save_and_load_round_trip(tmp_path, rng, suffix):
    stats = fit_stats(rng.normal(0, 1, (10, 4, 4, 2)), foreground="nonzero")
    path = stats.save(tmp_path / f"image.norm{suffix}")
    loaded = NormStats.load(path)
    _assert_same_stats(loaded, stats)
    assert loaded.foreground == "nonzero"
    np.testing.assert_array_equal(loaded.percentile(1), stats.percentile(1))
    text = path.read_text()
    assert "percentiles" in text and "histograms" in text


def test_minimal_dict_and_stats_path():
    stats = NormStats.from_dict({"mean": [10.0, 20.0], "std": [2.0, 4.0]})
    np.testing.assert_allclose(stats.std, [2.0, 4.0])
    assert stats_path("schemas/brats.yaml", "image") == \
        stats_path("schemas/brats.yaml", "image").with_name("brats.image.norm.yaml")


def test_errors_name_the_problem_and_the_fix(tmp_path, rng):
    with pytest.raises(DataError, match=r"missing_file.*fit_stats"):
        NormStats.load(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("mean: [1, 2]\nstd: [1]\nmin: [0]\n")
    with pytest.raises(DataError, match="different lengths"):
        NormStats.load(tmp_path / "bad.yaml")
    with pytest.raises(DatacheckError, match=r"use \.json, \.yaml or \.yml"):
        fit_stats(np.ones((2, 2, 1))).save(tmp_path / "stats.txt")
    with pytest.raises(DataError, match="dtype"):
        fit_stats(np.array([["a"], ["b"]]))
    with pytest.raises(DataError, match="channels"):
        fit_stats([np.ones((2, 3, 1)), np.ones((2, 3, 2))])
    with pytest.raises(DataError, match="mask_mismatch"):
        fit_stats(np.ones((2, 3, 3, 1)), foreground=np.ones((2, 4, 4), bool))
    with pytest.raises(DataError, match="no batches"):
        fit_stats([])
    with pytest.raises(DataError, match="channel_axis=None"):
        fit_stats(np.ones(5))
    (tmp_path / "broken.nii").write_bytes(b"not a nifti")
    with pytest.raises(DataError, match=r"broken\.nii: unreadable"):
        fit_stats(tmp_path / "broken.nii")


def test_real_nifti_anatomical_matches_numpy():
    import nibabel as nib

    path = os.path.join(os.path.dirname(nib.__file__), "tests", "data", "anatomical.nii")
    stats = fit_stats(path)
    volume = nib.load(path).get_fdata()
    assert stats.count.tolist() == [volume.size] and stats.channels == 1
    np.testing.assert_allclose(stats.mean, [volume.mean()], rtol=1e-9)
    np.testing.assert_allclose(stats.std, [volume.std()], rtol=1e-9)
    assert (stats.min[0], stats.max[0]) == (volume.min(), volume.max()) == (-610.0, 30393.0)
    for q in (0.5, 50, 99.5):
        assert abs(stats.percentile(q)[0] - np.percentile(volume, q)) <= stats.error_bound()[0]
