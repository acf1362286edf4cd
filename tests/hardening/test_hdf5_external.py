"""--allow-external: HDF5 data in other files is read only inside the root, through the gate.

Every hostile target outside the root is a FIFO: HDF5 opening it by name
would block forever, so each such case runs in a subprocess with a timeout,
and a hang fails the test. Targets inside the root are opened through the
gate, which the audit hook sees (HDF5's own opens are invisible to it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import datacheck as dc
from datacheck.cli.main import main
from datacheck.readers.guards import Limits

h5py = pytest.importorskip("h5py")
pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")

ALLOW = Limits(allow_external=True)
IMAGES = (np.arange(10 * 8 * 8).reshape(10, 8, 8, 1) % 17 / 16.0).astype(np.float32)


@pytest.fixture()
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """(root, outside): root/parts.h5 holds the images; outside/fifo.h5 is a FIFO."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    with h5py.File(root / "parts.h5", "w") as handle:
        handle["image"] = IMAGES
    os.mkfifo(outside / "fifo.h5")
    return root, outside


def _write(path: Path, image: object) -> Path:
    with h5py.File(path, "w") as handle:
        handle["label"] = np.arange(10)
        if isinstance(image, h5py.VirtualLayout):
            handle.create_virtual_dataset("image", image, fillvalue=0.5)
        elif isinstance(image, dict):
            handle.create_dataset("image", **image)
        else:
            handle["image"] = image
    return path


def _isolated(path: Path, allow: bool) -> dc.Report:
    """dc.check in a subprocess: a read that blocks on the FIFO fails the test, not hangs it."""
    code = ("import json, sys, datacheck as dc; from datacheck.readers.guards import Limits; "
            f"r = dc.check({str(path)!r}, 'digits', limits=Limits(allow_external={allow})); "
            "print(json.dumps({'inputs': r.inputs, 'violations': [[v.code, v.message] "
            "for v in r.violations]}))")
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert time.monotonic() - start < 30
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def _refused(result: dict, path: Path, phrase: str, code: str = "unreadable") -> None:  # type: ignore[type-arg]
    assert result["inputs"] == {str(path): "unreadable"}, result
    assert any(c == code and phrase in m for c, m in result["violations"]), result["violations"]
    assert not any(c == "range" for c, _ in result["violations"])


def test_an_external_link_inside_the_root_is_read_only_when_allowed(tree):
    root, _ = tree
    path = _write(root / "data.h5", h5py.ExternalLink("parts.h5", "/image"))
    refused = dc.check(path, "digits")
    assert refused.inputs == {str(path): "unreadable"}
    assert any("--allow-external" in v.message for v in refused.violations)
    allowed = dc.check(path, "digits", limits=ALLOW)
    assert allowed.inputs == {str(path): "ok"}, [v.message for v in allowed.violations]
    assert allowed.ok


def test_an_allowed_external_link_still_never_leaves_the_root(tree):
    root, outside = tree
    path = _write(root / "data.h5", h5py.ExternalLink(str(outside / "fifo.h5"), "/image"))
    _refused(_isolated(path, True), path, "escapes the dataset root")
    os.symlink(outside / "fifo.h5", root / "link.h5")  # a symlink inside pointing out
    path = _write(root / "data2.h5", h5py.ExternalLink("link.h5", "/image"))
    _refused(_isolated(path, True), path, "escapes the dataset root")
    os.mkfifo(root / "inside_fifo.h5")  # inside, but no regular file: refused without blocking
    path = _write(root / "data3.h5", h5py.ExternalLink("inside_fifo.h5", "/image"))
    _refused(_isolated(path, True), path, "not a regular file")


def test_external_raw_storage_is_read_from_gated_descriptors(tree):
    root, outside = tree
    raw = IMAGES.tobytes()
    (root / "a.bin").write_bytes(b"HEAD" + raw[:1000])
    (root / "b.bin").write_bytes(raw[1000:])
    spec = {"shape": IMAGES.shape, "dtype": "<f4",
            "external": [("a.bin", 4, 1000), ("b.bin", 0, len(raw) - 1000)]}
    path = _write(root / "raw.h5", spec)
    assert dc.check(path, "digits").inputs == {str(path): "unreadable"}
    from datacheck.readers.hdf5 import describe, open_h5, read_rows

    with open_h5(path, limits=ALLOW) as handle:
        info = describe(handle, "/image")
        assert info is not None and not info.refusal
        np.testing.assert_array_equal(read_rows(handle, info, 1, 5, str(path)), IMAGES[1:5])
    assert dc.check(path, "digits", limits=ALLOW).ok
    spec["external"] = [(str(outside / "fifo.h5"), 0, len(raw))]
    path = _write(root / "raw_out.h5", spec)
    _refused(_isolated(path, True), path, "escapes the dataset root")


def test_a_virtual_dataset_is_read_box_by_box_inside_the_root(tree):
    root, outside = tree
    layout = h5py.VirtualLayout(shape=(10, 8, 8, 1), dtype=np.float32)
    layout[0:4] = h5py.VirtualSource("parts.h5", "image", shape=(10, 8, 8, 1))[2:6]
    layout[7:10, :, 2:6] = h5py.VirtualSource("parts.h5", "image", shape=(10, 8, 8, 1))[0:3, :, 4:8]
    path = _write(root / "vds.h5", layout)
    from datacheck.readers.hdf5 import describe, open_h5, read_rows

    with open_h5(path, limits=ALLOW) as handle:
        info = describe(handle, "/image")
        assert info is not None and not info.refusal
        rows = read_rows(handle, info, 0, 10, str(path))
        np.testing.assert_array_equal(read_rows(handle, info, 3, 8, str(path)), rows[3:8])
    with h5py.File(path) as native:  # what HDF5 itself returns (sources inside the root)
        np.testing.assert_array_equal(rows, native["image"][()])
    np.testing.assert_array_equal(rows[:4], IMAGES[2:6])
    np.testing.assert_array_equal(rows[7:, :, 2:6], IMAGES[0:3, :, 4:8])
    assert (rows[4:7] == 0.5).all()  # unmapped rows: the fill value, as HDF5 returns
    read = dc.check(path, "digits", limits=ALLOW)  # read (blank fill rows may be flagged)
    assert read.inputs[str(path)] != "unreadable"
    assert not {"unreadable", "too_large"} & set(read.codes())
    layout = h5py.VirtualLayout(shape=(10, 8, 8, 1), dtype=np.float32)
    layout[:] = h5py.VirtualSource(str(outside / "fifo.h5"), "image", shape=(10, 8, 8, 1))
    path = _write(root / "vds_out.h5", layout)
    _refused(_isolated(path, True), path, "escapes the dataset root")
    _refused(_isolated(path, False), path, "is a virtual dataset")


def test_a_virtual_dataset_declaring_terabytes_is_too_large_before_any_read(tree):
    root, _ = tree
    layout = h5py.VirtualLayout(shape=(10**9, 8, 8, 1), dtype=np.float32)
    layout[0:10] = h5py.VirtualSource("parts.h5", "image", shape=(10, 8, 8, 1))
    path = _write(root / "huge.h5", layout)
    with h5py.File(path, "a") as handle:  # labels as long as the images
        del handle["label"]
        handle.create_dataset("label", shape=(10**9,), dtype="i1", chunks=(1 << 20,))
    start = time.monotonic()
    report = dc.check(path, "digits", limits=ALLOW)
    assert time.monotonic() - start < 5
    too_large = [v for v in report.violations if v.code == "too_large"]
    assert too_large and "declares 1000000000x8x8x1" in too_large[0].message, \
        [v.message for v in report.violations]
    assert report.inputs == {str(path): "unreadable"}


def test_allow_external_on_the_command_line_and_in_the_schema(tree, tmp_path, capsys):
    root, _ = tree
    path = _write(root / "data.h5", h5py.ExternalLink("parts.h5", "/image"))
    assert main(["check", "--schema", "digits", str(path), "-q"]) == 1
    assert main(["check", "--schema", "digits", "--allow-external", str(path), "-q"]) == 0
    capsys.readouterr()
    assert main(["infer", str(path)]) == 2
    assert "--allow-external" in capsys.readouterr().err
    assert main(["infer", "--allow-external", str(path)]) == 0
    assert "image" in capsys.readouterr().out
    assert main(["diff", str(path), str(path), "-q"]) == 2
    assert "--allow-external" in capsys.readouterr().err
    assert main(["diff", "--allow-external", str(path), str(path), "-q"]) == 0
    schema = dc.load_schema("digits").to_dict()
    schema.setdefault("hdf5", {})["allow_external"] = True
    assert dc.check(path, schema).ok


def test_fit_stats_on_a_virtual_dataset_is_refused_not_read_by_hdf5(tree):
    root, outside = tree
    from datacheck.errors import DataError
    from datacheck.normalize.stats import fit_stats

    layout = h5py.VirtualLayout(shape=(10, 8, 8, 1), dtype=np.float32)
    layout[:] = h5py.VirtualSource(str(outside / "fifo.h5"), "image", shape=(10, 8, 8, 1))
    path = _write(root / "vds_out.h5", layout)
    start = time.monotonic()
    with pytest.raises(DataError, match="is a virtual dataset"):
        fit_stats(path, key="image")
    assert time.monotonic() - start < 5
    layout = h5py.VirtualLayout(shape=(10, 8, 8, 1), dtype=np.float32)
    layout[:] = h5py.VirtualSource("parts.h5", "image", shape=(10, 8, 8, 1))
    path = _write(root / "vds_in.h5", layout)
    with pytest.raises(DataError, match="is a virtual dataset"):
        fit_stats(path, key="image")


def test_cycles_of_links_and_virtual_sources_are_refused_not_followed_forever(tree):
    root, _ = tree
    layout = h5py.VirtualLayout(shape=(10, 8, 8, 1), dtype=np.float32)
    layout[:] = h5py.VirtualSource(".", "image", shape=(10, 8, 8, 1))  # itself
    own = _write(root / "own.h5", layout)
    for name, other in (("a.h5", "b.h5"), ("b.h5", "a.h5")):  # a -> b -> a -> ...
        _write(root / name, h5py.ExternalLink(other, "/image"))
    for name, other in (("va.h5", "vb.h5"), ("vb.h5", "va.h5")):
        layout = h5py.VirtualLayout(shape=(10, 8, 8, 1), dtype=np.float32)
        layout[:] = h5py.VirtualSource(other, "image", shape=(10, 8, 8, 1))
        _write(root / name, layout)
    for path, phrase in ((own, "maps onto itself"), (root / "a.h5", "one through another"),
                         (root / "va.h5", "one through another")):
        start = time.monotonic()
        report = dc.check(path, "digits", limits=ALLOW)
        assert time.monotonic() - start < 5
        assert report.inputs == {str(path): "unreadable"}
        assert any(phrase in v.message for v in report.violations), \
            [v.message for v in report.violations]
