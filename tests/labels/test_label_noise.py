"""label_noise on scikit-learn's real digits: flipped labels, a relabelled class, clean data."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cleanlab")

import datacheck as dc
from datacheck.errors import DataError
from datacheck.labels.probs import to_probabilities


def _flip(y: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(y), int(share * len(y)), replace=False)
    noisy = y.copy()
    noisy[idx] = (noisy[idx] + rng.integers(1, 10, len(idx))) % 10
    return noisy, idx


def _suspects(report: dc.Report) -> list[dict]:
    return [s for v in report.violations if v.code == "label_noise"
            for s in v.extra.get("suspects", [])]


@pytest.fixture(scope="module")
def flipped(digits):
    x, y = digits
    noisy, idx = _flip(y, 0.05, seed=0)
    return x, y, noisy, idx, dc.find_label_issues((x, noisy))


def test_five_percent_flipped_labels_are_found(flipped):
    x, y, noisy, idx, report = flipped
    suspects = _suspects(report)
    found = {s["index"] for s in suspects}
    planted = set(idx.tolist())
    recall, precision = len(found & planted) / len(planted), len(found & planted) / len(found)
    assert recall >= 0.8 and precision >= 0.7, (recall, precision)
    for s in suspects:  # each suspect names its given label and a different likely one
        assert s["given"] == str(noisy[s["index"]]) and s["likely"] != s["given"]
        assert s["where"] == f"<array> element {s['index']}"
    right = [s for s in suspects if s["index"] in planted]
    assert np.mean([s["likely"] == str(y[s["index"]]) for s in right]) >= 0.9
    [v] = report.violations
    assert v.severity == "error" and v.observed == len(suspects)
    assert v.message.startswith(f"label: label_noise: {len(suspects)} of {len(x)} elements")
    assert "out-of-fold logistic regression on pixels, 5 folds" in v.message
    assert not report.ok and report.counts() == {"ok": 0, "violating": 1, "unreadable": 0,
                                                 "total": 1, "skipped": 0}
    assert report.stats["labels"]["suspects"] == len(suspects)


def test_clean_digits_pass_with_at_most_a_few_ambiguous_elements(digits):
    x, y = digits
    report = dc.find_label_issues((x, y))
    assert report.ok and report.errors == []
    assert len(_suspects(report)) <= 0.01 * len(y)
    assert "label_conflict" not in report.codes()
    assert report.inputs == {"<array>": "ok"}


def test_a_relabelled_class_is_one_class_swap_with_predictions(digits):
    """Every 7 labelled 1, scored by a model trained on other (clean) digits."""
    from sklearn.linear_model import LogisticRegression

    x, y = digits
    ref, target = np.arange(0, len(y), 2), np.arange(1, len(y), 2)
    flat = x.reshape(len(x), -1)
    probs = LogisticRegression(max_iter=1000).fit(flat[ref], y[ref]).predict_proba(flat[target])
    given = y[target].copy()
    sevens = np.flatnonzero(given == 7)
    given[sevens] = 1
    report = dc.find_label_issues((x[target], given), predictions=probs)
    swaps = [v for v in report.violations if v.extra.get("kind") == "class_swap"]
    [swap] = swaps
    assert swap.severity == "error" and swap.code == "label_noise"
    assert swap.extra["given"] == "1" and swap.extra["likely"] == "7"
    assert swap.observed >= 0.9 * len(sevens)
    assert set(swap.extra["indices"]) <= set(sevens.tolist())
    assert swap.extra["confusion"]["1->7"] == swap.observed
    assert f"class swap: {swap.observed} of the {swap.extra['looks_like']} elements that look " \
           "like class 7 are labelled 1" in swap.message
    assert "fix the class mapping" in swap.message
    others = {s["index"] for s in _suspects(report)}
    assert not others & set(swap.extra["indices"])  # reported once, not again one by one


@pytest.mark.parametrize(("source", "target"), [(7, 1), (3, 8)])
def test_a_whole_relabelled_class_is_found_without_a_model(digits, source, target):
    """Every 7 labelled 1, nothing but the data: class 7 is declared (below the highest
    label) yet empty, and class 1 splits into two class-sized clusters."""
    x, y = digits
    given = y.copy()
    given[y == source] = target
    report = dc.find_label_issues((x, given))
    [swap] = [v for v in report.violations if v.extra.get("kind") == "class_swap"]
    assert swap.code == "label_noise" and swap.severity == "error" and not report.ok
    assert (swap.extra["given"], swap.extra["likely"]) == (str(target), str(source))
    moved = set(np.flatnonzero(y == source).tolist())
    kept = set(np.flatnonzero(y == target).tolist())
    a, b = (set(c) for c in swap.extra["clusters"])
    assert a | b == moved | kept and not a & b
    # one cluster is (almost) exactly the relabelled class, the other the true one
    foreign, own = (a, b) if len(a & moved) > len(b & moved) else (b, a)
    assert len(foreign & moved) >= 0.9 * len(moved) and len(foreign - moved) <= 0.1 * len(foreign)
    assert len(own & kept) >= 0.9 * len(kept)
    assert swap.observed == min(len(a), len(b))
    assert swap.extra["confusion"][f"{target} cluster sizes"] == [len(a), len(b)]
    assert swap.message.startswith(f"label: label_noise: class swap: class {source} has no "
                                   f"elements while class {target} holds {len(a) + len(b)}")
    assert "fix the class mapping" in swap.message
    assert report.stats["labels"]["merged_classes"] == [[str(target), str(source)]]


def test_merge_candidates_need_an_empty_class_and_an_oversized_one():
    from datacheck.rules.label_quality import is_merged, merge_candidates

    assert merge_candidates({"0": 180, "1": 361, "2": 177, "3": 0}, ["3"]) == [("1", "3")]
    assert merge_candidates({"0": 180, "1": 200, "2": 177, "3": 0}, ["3"]) == []
    assert merge_candidates({"0": 180, "1": 361, "2": 177}, []) == []
    assert is_merged((179, 182), 180.0) and not is_merged((340, 21), 180.0)


def test_half_relabelled_class_is_a_swap_for_the_probe(digits):
    x, y = digits
    given = y.copy()
    given[np.flatnonzero(y == 7)[::2]] = 1
    report = dc.find_label_issues((x, given))
    [swap] = [v for v in report.violations if v.extra.get("kind") == "class_swap"]
    assert (swap.extra["given"], swap.extra["likely"]) == ("1", "7")
    assert not report.ok


def test_embeddings_and_string_labels(digits):
    x, y = digits
    noisy, idx = _flip(y, 0.05, seed=1)
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])
    report = dc.find_label_issues({"image": x, "label": names[noisy]},
                                  embeddings=x.reshape(len(x), -1))
    suspects = _suspects(report)
    assert len({s["index"] for s in suspects} & set(idx.tolist())) >= 0.7 * len(idx)
    assert all(s["given"] in names and s["likely"] in names for s in suspects)
    assert "on embeddings" in report.violations[0].message


def test_bad_predictions_are_one_clear_error(digits):
    x, y = digits
    with pytest.raises(DataError, match=r"predictions of shape \(5, 10\) for 1797 elements"):
        dc.find_label_issues((x, y), predictions=np.full((5, 10), 0.1))
    with pytest.raises(DataError, match="4 prediction columns but labels reach class 9"):
        dc.find_label_issues((x, y), predictions=np.full((len(y), 4), 0.25))


def test_logits_are_softmaxed_and_sigmoids_split():
    probs = to_probabilities(np.array([[2.0, -1.0], [0.0, 3.0]]), 2, 2, "p")
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert probs[0].argmax() == 0 and probs[1].argmax() == 1
    np.testing.assert_allclose(to_probabilities(np.array([0.2, 0.9]), 2, 2, "p"),
                               [[0.8, 0.2], [0.1, 0.9]])


def test_a_folder_with_a_broken_file_accounts_for_every_input(tmp_path, digits):
    x, y = digits
    noisy, idx = _flip(y, 0.03, seed=2)
    np.savez(tmp_path / "a.npz", image=x[:900], label=noisy[:900])
    np.savez(tmp_path / "b.npz", image=x[900:], label=noisy[900:])
    (tmp_path / "c.npz").write_bytes((tmp_path / "a.npz").read_bytes()[:500])
    report = dc.find_label_issues(tmp_path)
    details = report.input_details()
    assert details[str(tmp_path / "c.npz")]["status"] == "unreadable"
    assert "not a readable .npz archive" in details[str(tmp_path / "c.npz")]["message"]
    counts = report.counts()
    assert counts["total"] == 3 and counts["ok"] + counts["violating"] + counts["unreadable"] == 3
    for name, detail in details.items():  # every input that is not ok has its own reason
        assert detail["status"] == "ok" or detail["message"], name
    suspects = _suspects(report)
    by_file = {s["where"].rsplit(" element ", 1)[0] for s in suspects}
    assert by_file <= {str(tmp_path / "a.npz"), str(tmp_path / "b.npz")}
    for v in report.violations:  # one finding per file, naming only that file's elements
        if v.code == "label_noise":
            assert v.input in (str(tmp_path / "a.npz"), str(tmp_path / "b.npz"))
            assert all(s["where"].startswith(v.input + " ") for s in v.extra["suspects"])
            assert f"elements of {v.input} (of {len(suspects)} suspects in 1797" in v.message
    planted = {f"{tmp_path / 'a.npz'} element {i}" if i < 900 else
               f"{tmp_path / 'b.npz'} element {i - 900}" for i in idx.tolist()}
    assert len({s["where"] for s in suspects} & planted) >= 0.7 * len(planted)


def test_data_without_labels_is_one_clear_error(digits):
    x, _ = digits
    with pytest.raises(DataError, match="found no labels among image"):
        dc.find_label_issues({"image": x})
