"""`datacheck labels`: exit codes 0 clean, 1 label issues, 2 usage; JSON report."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("cleanlab")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "datacheck", "labels", *args],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def files(tmp_path_factory, digits):
    x, y = digits
    root = tmp_path_factory.mktemp("labels")
    np.savez(root / "clean.npz", image=x, label=y)
    noisy = y.copy()
    noisy[:90] = (noisy[:90] + 3) % 10
    np.savez(root / "noisy.npz", image=x, label=noisy)
    return root


def test_clean_data_exits_0(files):
    proc = _run(str(files / "clean.npz"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OK: all checks hold")


def test_flipped_labels_exit_1_and_name_each_suspect(files):
    out = files / "report.json"
    proc = _run(str(files / "noisy.npz"), "--json", str(out), "--quiet")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(out.read_text())
    assert report["kind"] == "labels" and not report["ok"]
    [v] = [v for v in report["violations"] if v["code"] == "label_noise"]
    planted = {f"{files / 'noisy.npz'} element {i}" for i in range(90)}
    found = {s["where"] for s in v["extra"]["suspects"]}
    assert len(found & planted) >= 0.8 * 90
    assert report["inputs"][str(files / "noisy.npz")]["status"] == "violating"
    assert report["inputs"][str(files / "noisy.npz")]["codes"] == ["label_noise"]


def test_saved_predictions_drive_the_check(files, digits):
    _x, y = digits
    probs = np.eye(10)[y] * 0.9 + 0.01  # a model that agrees with the clean labels
    np.save(files / "p.npy", probs)
    assert _run(str(files / "clean.npz"), "--predictions", str(files / "p.npy"),
                "-q").returncode == 0
    proc = _run(str(files / "noisy.npz"), "--predictions", str(files / "p.npy"), "-q")
    assert proc.returncode == 1 and "FAILED" in proc.stdout


@pytest.mark.parametrize("args, message", [
    (["--folds", "1"], "--folds must be >= 2"),
    (["--max-rate", "2"], "--max-rate must be within [0, 1]"),
    (["--predictions", "missing.npy"], "missing.npy: no such predictions file"),
    (["--predictions", "p.npy", "--model", "m.keras"], "not allowed with argument"),
])
def test_usage_errors_exit_2_with_one_line(files, args, message):
    proc = _run(str(files / "clean.npz"), *args)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_wrong_predictions_shape_exits_2(files):
    np.save(files / "short.npy", np.full((3, 10), 0.1))
    proc = _run(str(files / "clean.npz"), "--predictions", str(files / "short.npy"))
    assert proc.returncode == 2 and "predictions of shape (3, 10)" in proc.stderr


def test_keras_model_finds_a_relabelled_class(tmp_path, digits):
    keras = pytest.importorskip("keras")
    x, y = digits
    ref, target = np.arange(0, len(y), 2), np.arange(1, len(y), 2)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x[ref], y[ref], epochs=60, batch_size=64, verbose=0)
    model.save(tmp_path / "m.keras")
    given = y[target].copy()
    given[given == 7] = 1
    np.savez(tmp_path / "relabelled.npz", image=x[target], label=given)
    out = tmp_path / "r.json"
    proc = _run(str(tmp_path / "relabelled.npz"), "--model", str(tmp_path / "m.keras"),
                "--json", str(out), "-q")
    assert proc.returncode == 1, proc.stderr
    [swap] = [v for v in json.loads(out.read_text())["violations"]
              if v["extra"].get("kind") == "class_swap"]
    assert (swap["extra"]["given"], swap["extra"]["likely"]) == ("1", "7")
    assert "predictions of m.keras" in swap["message"]
    assert swap["observed"] >= 0.8 * int((y[target] == 7).sum())
