"""Fuzz --allow-external: HDF5 files whose external links, raw segments and virtual sources
name hostile targets; oracle: a report with a reason (or a DatacheckError), never a raw
exception, and no open of anything outside the root.

The outside targets are a regular file (seen by the audit hook if the gate opened it) and
a FIFO (HDF5 opening it by name would block the run: a hang is a failure).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import datacheck as dc
from datacheck.readers.guards import Limits
from tests.hardening import targets
from tests.hardening.test_gate import _watching
from tests.hardening.test_reader_fuzz import FOLDER, fuzz

h5py = pytest.importorskip("h5py")
pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")

ROOT = FOLDER / "h5root"
OUTSIDE = FOLDER / "h5outside"
ROOT.mkdir(exist_ok=True)
OUTSIDE.mkdir(exist_ok=True)
IMAGES = (np.arange(10 * 8 * 8).reshape(10, 8, 8, 1) % 17 / 16.0).astype(np.float32)
for folder in (ROOT, OUTSIDE):
    with h5py.File(folder / "parts.h5", "w") as _handle:
        _handle["image"] = IMAGES
    (folder / "raw.bin").write_bytes(IMAGES.tobytes())
if not (OUTSIDE / "fifo.h5").exists():
    os.mkfifo(OUTSIDE / "fifo.h5")
if not (ROOT / "out_link.h5").exists():
    os.symlink(OUTSIDE / "parts.h5", ROOT / "out_link.h5")
    os.symlink(OUTSIDE / "raw.bin", ROOT / "out_raw.bin")

TARGETS = ["parts.h5", "raw.bin", "missing.h5", "../h5outside/parts.h5",
           "../h5outside/fifo.h5", str(OUTSIDE / "parts.h5"), str(OUTSIDE / "fifo.h5"),
           "out_link.h5", "out_raw.bin", "~/parts.h5", "http://example.com/parts.h5",
           "part%b.h5", "sub/../parts.h5", "x" * 300, "."]
KINDS = ["link", "raw", "virtual"]


def _hostile(kind: str, target: str, rows: int, start: int) -> object:
    if kind == "link":
        return h5py.ExternalLink(target, "/image")
    if kind == "raw":
        size = IMAGES.nbytes - start * IMAGES[0].nbytes
        return {"shape": (rows, 8, 8, 1), "dtype": "<f4", "external": [(target, 0, size)]}
    layout = h5py.VirtualLayout(shape=(rows, 8, 8, 1), dtype=np.float32)
    layout[0:min(rows, 10 - start)] = h5py.VirtualSource(
        target, "image", shape=(10, 8, 8, 1))[start:start + min(rows, 10 - start)]
    return layout


@fuzz(60)
@given(kind=st.sampled_from(KINDS), target=st.sampled_from(TARGETS),
       rows=st.integers(1, 10), start=st.integers(0, 9), allow=st.booleans())
def test_fuzzed_external_targets_stay_inside_the_root(kind, target, rows, start, allow):
    path = ROOT / "fuzz.h5"
    try:
        hostile = _hostile(kind, target, rows, start)
        with h5py.File(path, "w") as handle:
            handle["label"] = np.arange(rows)
            if isinstance(hostile, h5py.VirtualLayout):
                handle.create_virtual_dataset("image", hostile)
            elif isinstance(hostile, dict):
                handle.create_dataset("image", **hostile)
            else:
                handle["image"] = hostile
    except (ValueError, OSError, TypeError, RuntimeError):
        return  # h5py refuses to write it: nothing to read
    with _watching() as opened:
        report = targets.expect_clean(
            lambda: dc.check(path, "digits", limits=Limits(allow_external=allow)),
            "dc.check(external)")
    outside = os.path.realpath(OUTSIDE)
    assert not [p for p in opened if os.path.realpath(p).startswith(outside + os.sep)]
    if report is None:
        return
    status = report.inputs.get(str(path))
    codes = {v.code for v in report.violations}
    if status == "unreadable":
        assert codes & targets.READER_CODES, codes
    if not allow:  # refused with a reason naming the flag, never read
        assert status == "unreadable" and any("--allow-external" in v.message
                                              for v in report.violations)
    assert all(len(v.message) < targets.MAX_MESSAGE for v in report.violations)
