"""The pytest plugin, as users meet it: a fresh pytest process in a project folder.

Nothing passes ``-p``: the plugin must arrive through the installed ``pytest11``
entry point.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

DIGITS_TEST = """
import numpy as np
import pytest
from datacheck.testing import assert_matches

def load_batch(scale=1.0):
    with np.load("digits.npz") as saved:  # real digits, saved by the outer test
        return (saved["x"] * scale).astype("float32"), saved["y"]

{body}
"""


def _run(folder: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=folder, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def project(tmp_path: Path, digits) -> Path:
    np.savez(tmp_path / "digits.npz", x=digits[0], y=digits[1])
    return tmp_path


def _project(tmp_path: Path, body: str, ini: str = "") -> Path:
    (tmp_path / "test_loader.py").write_text(DIGITS_TEST.format(body=textwrap.dedent(body)),
                                             encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n" + ini, encoding="utf-8")
    return tmp_path


def test_marker_selects_a_bundled_schema_and_assert_matches_passes(project):
    folder = _project(project, """
        @pytest.mark.datacheck_schema("digits")
        def test_loader(datacheck_schema):
            assert datacheck_schema.name == "digits"
            assert_matches(load_batch(), datacheck_schema)
        """)
    result = _run(folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_failure_shows_the_datacheck_message_and_hides_helper_frames(project):
    folder = _project(project, """
        @pytest.mark.datacheck_schema("digits")
        def test_loader(datacheck_schema):
            assert_matches(load_batch(scale=16.0), datacheck_schema)
        """)
    result = _run(folder)
    assert result.returncode == 1
    out = result.stdout
    assert "data does not match schema 'digits': 1 violation (range)" in out
    assert "image: range: max 16 > 1 in batch 0, element 0." in out
    assert "assert_matches(load_batch(scale=16.0), datacheck_schema)" in out
    assert "datacheck/testing/assertions.py" not in out  # __tracebackhide__


def test_command_line_option_and_ini_value_with_a_project_schema(project):
    schemas = project / "schemas"
    schemas.mkdir()
    (schemas / "loader.yaml").write_text(
        "name: my_loader\nfeatures:\n  image: {layout: HWC, shape: [8, 8, 1], range: [0, 1]}\n"
        "labels:\n  label: {encoding: sparse, num_classes: 10}\n", encoding="utf-8")
    folder = _project(project, """
        def test_loader(datacheck_schema):
            assert datacheck_schema.name in ("my_loader", "digits")
            assert_matches(load_batch(), datacheck_schema)
        """, ini="datacheck_schema = schemas/loader.yaml\n")
    from_ini = _run(folder)
    assert from_ini.returncode == 0, from_ini.stdout + from_ini.stderr
    assert "datacheck schema: schemas/loader.yaml" in from_ini.stdout  # report header
    from_option = _run(folder, "--datacheck-schema=digits")
    assert from_option.returncode == 0, from_option.stdout + from_option.stderr
    assert "datacheck schema: digits" in from_option.stdout


def test_a_missing_or_bad_schema_fails_with_one_clear_line(project):
    folder = _project(project, """
        def test_no_schema(datacheck_schema):
            pass

        @pytest.mark.datacheck_schema("cifar11")
        def test_typo(datacheck_schema):
            pass
        """)
    result = _run(folder)
    assert result.returncode == 1
    assert "the datacheck_schema fixture needs a schema: mark the test with" in result.stdout
    assert ("datacheck_schema (from @pytest.mark.datacheck_schema): no bundled schema named "
            "'cifar11' and no such file. Did you mean 'cifar10'?") in result.stdout


def test_the_plugin_loads_nothing_heavy_at_start_up():
    probe = ("import sys, datacheck.testing.pytest_plugin\n"
             "heavy = ['tensorflow', 'keras', 'hypothesis', 'nibabel', 'h5py', 'pandas', "
             "'dask', 'matplotlib', 'sklearn']\n"
             "print(','.join(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == ""


def test_the_entry_point_is_installed():
    from importlib.metadata import entry_points

    names = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert names.get("datacheck") == "datacheck.testing.pytest_plugin"
    pytest.importorskip("datacheck.testing.pytest_plugin")
