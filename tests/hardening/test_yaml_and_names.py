"""Every YAML datacheck parses is bounded; schema names cannot be shadowed; one-line errors.

YAML: an alias bomb anywhere (here inside ``hdf5...attrs``), deep nesting and
duplicate keys are refused by the parser with the line, in bounded time, for
schemas and normalization statistics alike. Names: a bare name is a bundled
schema whatever the working directory holds. Errors: each hostile command line
of issue 14 ends in one line on stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import datacheck as dc
from datacheck.errors import DataError, SchemaError
from datacheck.schema.io import SchemaNameWarning, schema_from_text
from datacheck.schema.yamlsafe import MAX_DEPTH, load_yaml

ROOT = Path(__file__).resolve().parents[2]


def _bomb(levels: int = 7) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines)


def test_an_alias_bomb_inside_hdf5_attrs_is_refused_by_the_parser():
    text = (_bomb() + "\nname: h5\nfeatures: {image: {rank: 2}}\n"
            "hdf5:\n  datasets:\n    image: {path: /image, attrs: {units: *a6}}\n")
    start = time.monotonic()
    with pytest.raises(SchemaError, match=r"malformed YAML at line \d+, column \d+: expands to "
                                          r"more than 200,000 nodes"):
        schema_from_text(text, origin="bomb.yaml")
    assert time.monotonic() - start < 5


def test_deep_nesting_is_refused_with_the_line():
    text = "name: deep\nfeatures: {x: {rank: 1}}\nextra: " + "[" * (MAX_DEPTH + 5) \
        + "]" * (MAX_DEPTH + 5) + "\n"
    with pytest.raises(SchemaError, match=f"line 3, .*nested deeper than {MAX_DEPTH} levels"):
        schema_from_text(text, origin="deep.yaml")


def test_duplicate_keys_are_an_error_naming_the_key():
    text = "name: dup\nfeatures:\n  image: {range: [0, 1]}\n  image: {range: [0, 255]}\n"
    with pytest.raises(SchemaError, match=r"dup\.yaml: malformed YAML at line 4, column 3: "
                                          r"duplicate key 'image'"):
        schema_from_text(text, origin="dup.yaml")
    with pytest.raises(SchemaError, match="duplicate key 'range'"):
        schema_from_text("features: {x: {range: [0, 1], range: [0, 9]}}", origin="flow.yaml")


def test_merge_keys_may_still_override_defaults():
    data = load_yaml("base: &b {rank: 2, dtype: float32}\nx:\n  <<: *b\n  rank: 3\n")
    assert data["x"] == {"rank": 3, "dtype": "float32"}


def test_normalization_statistics_yaml_has_the_same_limits(tmp_path):
    from datacheck.normalize.stats import NormStats

    bomb = tmp_path / "bomb.norm.yaml"
    bomb.write_text(_bomb() + "\nmean: *a6\n")
    with pytest.raises(DataError, match="expands to more than"):
        NormStats.load(bomb)
    dup = tmp_path / "dup.norm.yaml"
    dup.write_text("mean: [1.0]\nmean: [2.0]\n")
    with pytest.raises(DataError, match="duplicate key 'mean'"):
        NormStats.load(dup)


def test_a_bare_name_is_bundled_even_with_a_same_named_file_here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("cifar10").write_text("name: impostor\nfeatures: {image: {rank: 1}}\n")
    with pytest.warns(SchemaNameWarning, match=r"'cifar10' is the bundled schema; the file "
                                               r"\./cifar10 .* not used"):
        assert dc.load_schema("cifar10").name == "cifar10"
    assert dc.load_schema("./cifar10").name == "impostor"
    Path("mine").write_text("name: mine\nfeatures: {image: {rank: 1}}\n")
    with pytest.raises(SchemaError, match=r"no bundled schema named 'mine'; the file \./mine is "
                                          r"not taken .* pass \./mine"):
        dc.load_schema("mine")
    assert dc.load_schema(Path("mine")).name == "mine"


def test_a_schema_path_to_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "schema.yaml")
    start = time.monotonic()
    with pytest.raises(SchemaError, match="not a regular file"):
        dc.load_schema(tmp_path / "schema.yaml")
    assert time.monotonic() - start < 5


def _cli(args: list[str], cwd: Path, stdout: object = subprocess.PIPE) -> tuple[int, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "datacheck", *args], cwd=cwd, env=env,
                            stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=60)
    return result.returncode, result.stderr


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    np.savez(tmp_path / "d.npz", image=np.zeros((10, 8, 8, 1), np.float32),
             label=np.arange(10))
    (tmp_path / "big.yaml").write_text("name: big\nfeatures: {image: {rank: 4}}\nlabels:\n"
                                       "  label: {encoding: sparse, num_classes: 1.0e+8}\n")
    (tmp_path / "big_str.yaml").write_text("name: big\nfeatures: {image: {rank: 4}}\nlabels:\n"
                                           "  label: {encoding: sparse, num_classes: 1e8}\n")
    return tmp_path


@pytest.mark.parametrize("args, expected", [
    (["check", "--schema", "big.yaml", "d.npz"], "less than or equal to 1000000"),
    (["check", "--schema", "big_str.yaml", "d.npz"], "num_classes"),
    (["check", "--schema", "digits", "d.npz", "--scheduler", "garbage://x"],
     "unknown address scheme 'garbage'"),
    (["check", "--schema", "digits", "d.npz", "--batch-size", "0"], "--batch-size must be >= 1"),
    (["infer", "d.npz", "--batch-size", "0"], "--batch-size must be >= 1"),
    (["report", "/dev/zero"], "not a regular file"),
], ids=["num_classes-1e8", "num_classes-string", "scheduler", "check-batch-size",
        "infer-batch-size", "report-dev-zero"])
def test_hostile_command_lines_end_in_one_line(data_dir, args, expected):
    start = time.monotonic()
    code, err = _cli(args, data_dir)
    assert time.monotonic() - start < 30
    assert code == 2 and expected in err
    assert "Traceback" not in err and err.count("\n") == 1, err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["check", "--schema", "digits", "d.npz"], ["infer", "d.npz"]])
def test_stdout_on_a_full_disk_is_one_line(data_dir, args):
    with open("/dev/full", "w") as full:
        code, err = _cli(args, data_dir, stdout=full)
    assert code == 2 and err == "datacheck: error: cannot write the output: No space left on " \
                                "device\n"


nib = pytest.importorskip("nibabel")


@pytest.mark.parametrize("kind", ["nan-pixdim", "one-dimensional"])
def test_infer_on_a_broken_nifti_header_never_raises(tmp_path, kind):
    if kind == "nan-pixdim":
        image = nib.Nifti1Image(np.ones((4, 4, 4), np.int16), np.eye(4))
        image.header["pixdim"][1:4] = [np.nan, 1, 1]
    else:
        image = nib.Nifti1Image(np.ones((10,), np.int16), np.eye(4))
    nib.save(image, tmp_path / "scan.nii")
    result = subprocess.run([sys.executable, "-m", "datacheck", "infer", "scan.nii"],
                            cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            capture_output=True, text=True, timeout=60)
    assert "Traceback" not in result.stderr
    assert result.returncode == 0 and "spacing: [" not in result.stdout
    if kind == "nan-pixdim":
        assert "not 3 finite positive sizes: none declared" in result.stdout
    schema_from_text(result.stdout, origin="inferred.yaml")  # what infer writes loads again
