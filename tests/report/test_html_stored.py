"""The HTML page is drawn from what the report stores: histograms and thumbnails of flagged volumes.

The data is deleted before rendering, so a figure on the page can only come
from the report (Chromium-free checks; tests/report/test_html.py views pages).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import datacheck as dc
from datacheck.summary.tensor import TensorSummary

nib = pytest.importorskip("nibabel")
NIB_DATA = Path(os.path.dirname(nib.__file__)) / "tests" / "data"
ROOT = Path(__file__).resolve().parents[2]


def _alts(page: Path) -> list[str]:
    return re.findall(r"<img src='data:image/png;base64,[^']+' alt='([^']*)'", page.read_text())


def test_report_html_draws_stored_figures_after_the_data_is_gone(tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    shutil.copy(NIB_DATA / "anatomical.nii", folder / "sub-01.nii")  # LPS-ish: flagged
    shutil.copy(NIB_DATA / "standard.nii.gz", folder / "sub-02.nii.gz")
    saved, page = tmp_path / "r.json", tmp_path / "r.html"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = [sys.executable, "-m", "datacheck"]
    first = subprocess.run([*run, "check", "--schema", "brain_t1_nifti", str(folder), "--json",
                            str(saved), "-q"], capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 1, first.stderr
    stored = json.loads(saved.read_text())
    # JSON inputs carry status, codes and first reason (issue 15).
    flagged = [k for k, v in stored["inputs"].items() if v["status"] == "violating"]
    assert flagged and set(stored["stats"]["thumbnails"]) == set(flagged)
    for slices in stored["stats"]["thumbnails"].values():
        assert len(slices) == 3 and all(max(s["height"], s["width"]) <= 64 for s in slices)
    assert sum(sum(c) for c in stored["summaries"]["volume"]["histogram"]["counts"]) > 0
    shutil.rmtree(folder)
    second = subprocess.run([*run, "report", str(saved), "--html", str(page), "-q"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert second.returncode == 1 and "Traceback" not in second.stderr
    alts = _alts(page)
    assert "middle slices of flagged volumes" in alts
    assert any(a.startswith("volume intensity histogram") for a in alts)
    assert "thumbnails" not in page.read_text().split("raw statistics", 1)[-1]


def test_stored_histograms_merge_exactly_whatever_the_batching(digits):
    x, _ = digits
    whole = TensorSummary.from_array(x)
    parts = TensorSummary.from_array(x[:100]).merge(TensorSummary.from_array(x[100:700])) \
        .merge(TensorSummary.from_array(x[700:]))
    assert whole.histogram.total == parts.histogram.total == x.size  # small elements: all values
    assert np.array_equal(whole.histogram.counts, parts.histogram.counts)
    again = TensorSummary.from_dict(json.loads(json.dumps(parts.to_dict())))
    assert np.array_equal(again.histogram.counts, parts.histogram.counts)


def test_a_part_without_a_histogram_leaves_none(digits):
    x, _ = digits
    with_hist = TensorSummary.from_array(x[:10])
    without = TensorSummary.from_array(x[10:20])
    without.histogram = None  # e.g. a summary from the TF backend or an HDF5 scan
    assert with_hist.merge(without).histogram is None  # never a part passed off as the whole
    report = dc.check({"image": x[:10]}, {"name": "t", "features": {"image": {"rank": 4}}})
    assert "histogram" in report.summaries["image"]


def test_a_flagged_mask_is_drawn_and_a_volume_without_thumbnails_is_named(tmp_path):
    # Issue 16's mask rules flag the mask file: it gets its own stored slices (issue 14).
    from datacheck.report.html import render_html

    shutil.copy(NIB_DATA / "anatomical.nii", tmp_path / "a.nii")
    real = nib.load(NIB_DATA / "anatomical.nii")
    nib.save(nib.Nifti1Image(np.zeros(real.shape, np.uint8), real.affine),
             tmp_path / "a_mask.nii.gz")
    schema = {"name": "t", "features": {"volume": {"layout": "DHWC"}}, "pairs": {"required": True}}
    report = dc.check(str(tmp_path), schema)
    mask = next(k for k in report.inputs if k.endswith("a_mask.nii.gz"))
    assert report.inputs[mask] == "violating" and report.codes() == ["empty_mask"]
    # Issue 16's HTML report: the mask is outlined on its image's card, which carries the
    # mask's reasons (the image itself is ok, its card is flagged by its mask).
    image = next(k for k in report.inputs if k.endswith("a.nii"))
    assert list(report.stats["thumbnails"]) == [image]
    assert report.stats["previews"][image]["mask"] == mask
    card = render_html(report).split("id='cards'", 1)[1]
    assert "middle slices of flagged volumes" in card and "empty_mask" in card
    report.inputs["elsewhere/b.nii"] = "violating"  # flagged, but no slices stored
    page = render_html(report)
    assert "No slices drawn for 1 flagged volume(s)" in page and "elsewhere/b.nii" in page
