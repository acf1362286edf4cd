"""`datacheck doctor`: exit codes 0/1/2, the table, --json, --schema, --smoke, --loss."""

from __future__ import annotations

import json

import numpy as np
import pytest

from datacheck.cli.main import main


@pytest.fixture(scope="module")
def files(cnn, make_cnn, digits, tmp_path_factory):
    x, y = digits
    root = tmp_path_factory.mktemp("doctor_cli")
    cnn.save(root / "cnn.keras")
    make_cnn(loss=None).save(root / "uncompiled.keras")
    np.savez(root / "clean.npz", image=x, label=y)
    np.savez(root / "raw.npz", image=(x * 255).astype("uint8"), label=np.eye(10)[y])
    np.savez(root / "unnamed.npz", x, y)
    return root


def test_clean_data_exits_0(files, capsys):
    assert main(["doctor", "--model", str(files / "cnn.keras"), str(files / "clean.npz")]) == 0
    out = capsys.readouterr().out
    assert "datacheck doctor: model 'digits_cnn'" in out and "OK: all checks hold" in out


def test_broken_data_exits_1_with_every_finding(files, capsys, tmp_path):
    report_path = tmp_path / "report.json"
    code = main(["doctor", "--model", str(files / "cnn.keras"), "--json", str(report_path),
                 str(files / "raw.npz")])
    out = capsys.readouterr().out
    assert code == 1
    assert "unnormalized" in out and "loss_mismatch" in out and "Rescaling(1/255)" in out
    saved = json.loads(report_path.read_text())
    assert saved["kind"] == "doctor" and saved["ok"] is False
    assert {v["code"] for v in saved["violations"]} == {"unnormalized", "loss_mismatch"}


def test_quiet_prints_only_the_verdict(files, capsys):
    assert main(["doctor", "-q", "--model", str(files / "cnn.keras"),
                 str(files / "raw.npz")]) == 1
    assert capsys.readouterr().out.strip().startswith("FAILED: 2 errors, 0 warnings")


def test_schema_and_smoke(files, capsys):
    code = main(["doctor", "--model", str(files / "cnn.keras"), "--schema", "digits",
                 "--smoke", "--smoke-steps", "25", str(files / "unnamed.npz")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Smoke test: loss" in out and "in 25 steps" in out


def test_uncompiled_model_with_loss_option(files, capsys):
    args = ["doctor", "--model", str(files / "uncompiled.keras"), str(files / "raw.npz")]
    assert main(args) == 1
    assert "loss checks were skipped" in capsys.readouterr().out
    assert main([*args, "--loss", "sparse_categorical_crossentropy"]) == 1
    assert "loss_mismatch" in capsys.readouterr().out


@pytest.mark.parametrize(("extra", "message"), [
    (["--model", "missing.keras", "clean.npz"], "no such model file"),
    (["--model", "cnn.keras", "clean.csv"], "no such file"),
    (["--model", "cnn.keras", "--loss", "crossentropy", "clean.npz"], "unknown loss"),
    (["--model", "cnn.keras", "--smoke-steps", "0", "clean.npz"], "--smoke-steps must be >= 1"),
])
def test_usage_errors_exit_2(files, capsys, extra, message):
    args = [str(files / a) if a.endswith((".keras", ".npz", ".csv")) else a for a in extra]
    assert main(["doctor", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
