"""Per-element verdicts: a blank, non-finite or unscaled element is found by its index.

The same planted faults (tests/cases.py ELEMENT_CASES) are judged by the numpy
backend (``check``) and in graph (``validate``); both must name the same elements.
"""

from __future__ import annotations

import numpy as np
import pytest

import datacheck as dc
from datacheck.rules.base import ELEMENTS_RE
from tests.cases import BATCH, ELEMENT_CASES, schema_for

IDS = [c[0] for c in ELEMENT_CASES]


def _first(report: dc.Report, code: str) -> dc.Violation:
    return next(v for v in report.violations if v.code == code)


@pytest.mark.parametrize(("name", "make", "schema", "code", "indices"), ELEMENT_CASES, ids=IDS)
def test_numpy_names_every_bad_element(name, make, schema, code, indices):
    x, y = make()
    report = dc.check((x, y), schema_for(schema), batch_size=BATCH)
    assert report.codes() == [code], report.to_text()
    first = _first(report, code)
    assert first.extra["elements"] == len(indices)
    assert first.extra["indices"] == indices
    assert first.extra["of"] == len(x)
    shown = ", ".join(map(str, indices))
    noun = "index" if len(indices) == 1 else "indices"
    assert first.message.endswith(
        f"Affected: {len(indices)} of {len(x)} elements of the input ({noun} {shown}).")
    # Every listed violation points at one of the planted elements.
    for v in report.violations:
        element = int(v.where.split("element ")[1].split(" ")[0])
        batch = int(v.where.split("batch ")[1].split(",")[0])
        assert batch * BATCH + element in indices


tf = pytest.importorskip("tensorflow")


def _dataset(x, y, batch=BATCH):
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch)


@pytest.mark.parametrize(("name", "make", "schema", "code", "indices"), ELEMENT_CASES, ids=IDS)
def test_graph_drops_exactly_the_elements_numpy_names(name, make, schema, code, indices, tmp_path):
    x, y = make()
    resolved = schema_for(schema)
    validated = dc.validate(_dataset(x, y), resolved, on_error="drop",
                            log=str(tmp_path / "drop.log"))
    kept = list(validated.as_numpy_iterator())
    report = validated.report()
    assert report.stats["dropped_indices"] == indices
    assert {v.code for v in report.violations} == {code}
    keep = np.setdiff1d(np.arange(len(x)), indices)
    np.testing.assert_array_equal(np.concatenate([a for a, _ in kept]), x[keep])


@pytest.mark.parametrize(("name", "make", "schema", "code", "indices"), ELEMENT_CASES, ids=IDS)
def test_graph_raise_and_numpy_give_the_same_first_violation(name, make, schema, code, indices):
    x, y = make()
    resolved = schema_for(schema)
    with pytest.raises(dc.ValidationError) as info:
        for _ in dc.validate(_dataset(x, y), resolved):
            pass
    (graph,) = info.value.violations
    numpy = _first(dc.check((x, y), resolved, batch_size=BATCH), code)
    assert (graph.code, graph.where) == (numpy.code, numpy.where)
    assert ELEMENTS_RE.sub("", graph.message) == ELEMENTS_RE.sub("", numpy.message)
    in_batch = [i for i in indices if i // BATCH == indices[0] // BATCH]
    shown = ", ".join(map(str, in_batch))
    noun = "index" if len(in_batch) == 1 else "indices"
    expected = f"Affected: {len(in_batch)} of {BATCH} elements ({noun} {shown})."
    assert graph.message.endswith(expected)


def test_drop_mode_with_one_blank_image_per_batch_keeps_every_other_image(digits, tmp_path):
    x, y = digits
    x = x.copy()
    batch = 32
    # One blank image per batch, at a different position in each (the last batch holds 5).
    blanks = [min(start + (start // batch) % batch, len(x) - 1)
              for start in range(0, len(x), batch)]
    x[blanks] = 0.0
    validated = dc.validate(_dataset(x, y, batch), "digits", on_error="drop",
                            log=str(tmp_path / "drop.log"))
    kept = list(validated.as_numpy_iterator())
    report = validated.report()
    assert report.stats["dropped_indices"] == blanks
    kept_x = np.concatenate([a for a, _ in kept])
    assert len(kept_x) == len(x) - len(blanks) == 1797 - 57
    np.testing.assert_array_equal(kept_x, np.delete(x, blanks, axis=0))
    assert {v.code for v in report.violations} == {"constant"}


def test_mixed_scaling_names_how_many_and_fixes_those_elements(digits):
    x, y = digits
    x = x.copy()
    unscaled = list(range(3, 1797, 36))[:50]
    x[unscaled] *= 16  # still 0-16: a loader path that skipped the division
    report = dc.check((x, y), "digits")
    first = _first(report, "range")
    assert first.extra["elements"] == 50 and first.extra["of"] == 1797
    assert first.extra["indices"] == unscaled[:10]
    assert "Mixed scaling" in first.message and "on that path only" in first.message
    assert "Affected: 50 of 1797 elements of the input (indices 3, 39," in first.message
    # Everything unscaled: the fix is to divide everything.
    everything = _first(dc.check((x * 16, y), "digits"), "range")
    assert "Mixed scaling" not in everything.message
    assert "If these are 0-255 pixels, divide by 255" in everything.message
    assert everything.extra["elements"] == 1797


def test_mixed_scaling_in_graph_says_which_elements(digits):
    x, y = digits
    x = x.copy()
    x[[40, 45]] *= 16
    with pytest.raises(dc.ValidationError) as info:
        for _ in dc.validate(_dataset(x, y, 32), "digits"):
            pass
    (v,) = info.value.violations
    assert v.where == "batch 1, element 8 (index 40)"
    assert "Mixed scaling" in v.message
    assert v.message.endswith("Affected: 2 of 32 elements (indices 40, 45).")


def test_npz_file_reports_the_count_and_first_indices(tmp_path, digits):
    x, y = digits
    x = x.copy()
    blank = [7, 100, 101, 640]
    x[blank] = 0.0
    path = tmp_path / "digits.npz"
    np.savez(path, image=x, label=y)
    report = dc.check(str(path), "digits")
    first = _first(report, "constant")
    assert first.extra["elements"] == 4 and first.extra["indices"] == blank
    assert "Affected: 4 of 1797 elements of the input (indices 7, 100, 101, 640)" \
        in first.message
    assert report.counts()["violating"] == 1


def test_a_never_written_hdf5_row_is_found_with_batches_above_one(tmp_path):
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(0)
    volumes = rng.random((10, 6, 6, 6, 1)).astype("float32")
    volumes[6] = 0.0  # allocated, never written
    path = tmp_path / "volumes.h5"
    with h5py.File(path, "w") as handle:
        handle["volume"] = volumes
    schema = dc.Schema(features={"volume": dc.Feature(layout="DHWC", range=[0, 1])})
    report = dc.check(str(path), schema, batch_size=4)
    (v,) = report.violations
    assert v.code == "constant" and "element 2 (index 6)" in v.where
    assert v.extra["indices"] == [6]


def test_where_never_says_batch_for_unbatched_steps():
    from datacheck.backends.numpy.evaluate import where_text
    from datacheck.backends.tf import graph

    assert where_text(15, 0, 0, batched=False) == "element 15"
    text = graph.where_text(tf.constant(15, tf.int64), tf.constant(15, tf.int64),
                            tf.constant(0, tf.int64), batched=False)
    assert text.numpy().decode() == "element 15"


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_complex_tensors_are_refused_not_passed(dtype):
    schema = dc.Schema(features={"volume": dc.Feature(layout="DHW", range=[0, 1])})
    x = np.full((2, 4, 4, 4), 1e9, dtype)
    x[0, 0, 0, 0] = np.nan
    (v,) = dc.check({"volume": x}, schema).violations
    assert v.code == "dtype" and dtype in v.message and "np.abs(x)" in v.message
    with pytest.raises(dc.ValidationError) as info:
        dc.validate(tf.data.Dataset.from_tensor_slices({"volume": x}).batch(2), schema)
    assert info.value.violations[0].code == "dtype"


def test_complex_nifti_voxels_are_refused(tmp_path):
    nib = pytest.importorskip("nibabel")
    data = np.full((4, 4, 4), 1e9, np.complex64)
    data[1, 1, 1] = np.nan
    path = tmp_path / "complex.nii"
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(path))
    schema = dc.Schema(features={"volume": dc.Feature(layout="DHW", range=[0, 1])})
    report = dc.check(str(path), schema)
    assert not report.ok
    assert report.codes() == ["dtype"], report.to_text()


@pytest.mark.parametrize("feature", [{}, {"range": [0, 1]}, {"range": [-1, 1]}],
                         ids=["no-range", "unit-range", "signed-range"])
def test_dynamic_element_shapes_judge_each_element(feature):
    # Unknown spatial dims: the fast constant test gathers hashed positions per element.
    schema = dc.Schema(features={"image": dc.Feature(layout="HWC", **feature)})
    rng = np.random.default_rng(0)
    batches = [rng.random((4, 9, 7, 1), "float32"), rng.random((4, 5, 6, 1), "float32")]
    batches[1][2] = 0.25
    ds = tf.data.Dataset.from_generator(
        lambda: iter(batches), output_signature=tf.TensorSpec([None, None, None, 1], tf.float32))
    with pytest.raises(dc.ValidationError) as info:
        for _ in dc.validate(ds, schema, batched=True):
            pass
    (v,) = info.value.violations
    assert v.code == "constant" and v.where == "batch 1, element 2 (index 6)"
    assert v.message.endswith("Affected: 1 of 4 elements (index 6).")
    assert "(0.25)" in v.message


def test_fast_and_exact_views_agree_per_element():
    from datacheck.backends.tf.views import TFTensorView

    x = np.random.default_rng(1).random((6, 16, 16, 3)).astype("float32")
    x[4] = 0.5
    for exact in (False, True):
        view = TFTensorView(tf.constant(x), exact=exact)
        assert bool(view.all_within(0, 1)) and bool(view.constant())
    exact = TFTensorView(tf.constant(x))
    assert exact.element_constant().numpy().tolist() == [False] * 4 + [True, False]


def test_a_whole_unscaled_batch_in_a_scaled_dataset_is_still_mixed_scaling(digits):
    x, y = digits
    x = x.copy()
    x[32:64] *= 16  # one whole batch from a loader path that skipped the division
    report = dc.check((x, y), "digits", batch_size=32)
    (v,) = report.violations
    assert v.where == "batch 1, element 0 (index 32)"
    assert "Mixed scaling" in v.message and "divide everything" not in v.message
    assert "Affected: 32 of 1797 elements of the input (indices 32, 33," in v.message


def test_the_one_pass_verdict_holds_for_good_batches(digits):
    # If the fast verdict failed on good data, every batch would pay for the exact judge.
    from datacheck.backends.tf import graph

    x, y = digits
    schema = dc.load_schema("digits")
    checks = graph.batch_checks(schema, {"image": tf.constant(x[:128]),
                                         "label": tf.constant(y[:128])}, {}, exact=False)
    assert bool(graph.verdict(checks))
    # z-scored volumes with a constant background (no range: no max to compare against).
    rng = np.random.default_rng(0)
    vol = np.full((2, 32, 32, 32, 1), -0.8, "float32")
    vol[:, 8:24, 8:24, 8:24] = rng.normal(0.5, 1.0, (2, 16, 16, 16, 1))
    mri = dc.load_schema("mri3d")
    checks = graph.batch_checks(mri, {"volume": tf.constant(vol)}, {}, exact=False)
    assert bool(graph.verdict(checks))
