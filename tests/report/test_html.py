"""The HTML report, rendered by headless Chromium: what a person sees, and nothing executes.

A harness page (no CSP of its own) frames the report and reads back, after
load: the visible text, how many <script> elements exist, every image's
decoded size, and whether an injected handler ran. File access between
file:// pages is allowed for the harness only via a Chromium flag.
"""

from __future__ import annotations

import html
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
from datacheck.report.html import render_html, write_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

HARNESS = """<!DOCTYPE html><html><body><pre id="out">pending</pre>
<iframe id="f" src="REPORT" width="1200" height="4000"></iframe>
<script>
window.addEventListener('load', () => {
  const w = document.getElementById('f').contentWindow;
  const d = w.document;
  const images = Array.from(d.images).map(i => ({alt: i.alt, width: i.naturalWidth,
      height: i.naturalHeight, data: i.src.startsWith('data:image/png;base64,')}));
  document.getElementById('out').textContent = JSON.stringify({
    title: d.title, text: d.body.innerText, scripts: d.querySelectorAll('script').length,
    handlers: d.querySelectorAll('[onerror],[onload],[onclick]').length,
    images: images, pwned: (w.pwned === undefined ? null : w.pwned) || window.pwned || null,
    verdict: (d.getElementById('verdict') || {}).innerText || null,
    rows: d.querySelectorAll('#violations tbody tr').length,
    bars: d.querySelectorAll('table.bars div.bar').length});
});
</script></body></html>"""


def view(page: Path) -> dict:
    """Render ``page`` in headless Chromium and return what the harness read from it."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium chromium-driver; "
                    ".ci/run installs it from .ci/apt-packages.txt)")
    harness = page.parent / f"harness-{page.stem}.html"
    harness.write_text(HARNESS.replace("REPORT", page.name), encoding="utf-8")
    profile = page.parent / f"chromium-profile-{page.stem}"
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--allow-file-access-from-files",
         "--virtual-time-budget=15000", "--dump-dom", harness.as_uri()],
        capture_output=True, text=True, timeout=120)
    match = re.search(r'<pre id="out">(.*?)</pre>', result.stdout, re.S)
    assert match, f"no harness output; stderr: {result.stderr[-2000:]}"
    assert match.group(1) != "pending", "the harness script did not run"
    return json.loads(html.unescape(match.group(1)))


def visible(seen: dict) -> str:
    return " ".join(seen["text"].split())


def loaded(seen: dict, alt_part: str) -> list[dict]:
    return [i for i in seen["images"] if alt_part in i["alt"] and i["width"] > 50
            and i["height"] > 50 and i["data"]]


@pytest.fixture()
def failing_check(tmp_path, digits):
    x, y = digits
    path = tmp_path / "raw.npz"
    np.savez(path, image=x * 255, label=y)
    return dc.check(path, "digits"), path


def test_check_report_shows_verdict_table_histogram_and_classes(tmp_path, failing_check):
    report, _ = failing_check
    page = tmp_path / "check.html"
    write_html(report, page)
    seen = view(page)
    assert seen["verdict"].startswith("FAILED: 1 error, 0 warnings (range)")
    assert seen["rows"] == 1
    text = visible(seen)
    assert "image: range: max 255 > 1" in text and "divide by 255" in text
    assert loaded(seen, "image intensity histogram")
    assert seen["bars"] == 10 and "class" in text
    assert seen["scripts"] == 0 and seen["pwned"] is None


def test_names_from_data_are_text_not_markup(tmp_path, digits):
    x, y = digits
    evil_file = tmp_path / 'x<img src=x onerror="window.pwned=1">.npz'
    np.savez(evil_file, image=x * 255, label=y)
    evil_key = "</td></tr></table><script>window.pwned=3</script><b>"
    schema = {"name": "<script>window.pwned=4</script>",
              "features": {evil_key: {"range": [0, 1]}}}
    report = dc.check(evil_file, "digits").merge(dc.check({evil_key: x * 255}, schema))
    page = tmp_path / "evil.html"
    write_html(report, page)
    raw = page.read_text()
    assert "<script>" not in raw and 'onerror="' not in raw
    seen = view(page)
    text = visible(seen)
    assert 'x<img src=x onerror="window.pwned=1">.npz' in text
    assert evil_key in text
    assert seen["scripts"] == 0 and seen["handlers"] == 0 and seen["pwned"] is None
    assert seen["title"] == "datacheck check: schema digits"
    assert all(i["data"] for i in seen["images"])


def test_diff_report_overlays_a_and_b(tmp_path, digits):
    x, y = digits
    np.savez(tmp_path / "train.npz", image=x[:900], label=y[:900])
    keep = y[900:] < 5
    np.savez(tmp_path / "val.npz", image=x[900:][keep] * 255, label=y[900:][keep])
    page = tmp_path / "diff.html"
    result = subprocess.run(
        [sys.executable, "-m", "datacheck", "diff", str(tmp_path / "train.npz"),
         str(tmp_path / "val.npz"), "--html", str(page), "-q"],
        capture_output=True, text=True, timeout=180)
    assert result.returncode == 1, result.stderr
    seen = view(page)
    text = visible(seen)
    assert seen["verdict"].startswith("FAILED")
    assert "image: drift: intensity distribution" in text and "label: drift: class" in text
    assert loaded(seen, "intensity histograms of A and B")
    assert seen["bars"] == 20  # ten classes, one bar for each split
    assert "Jensen-Shannon divergence per channel" in text


def test_report_command_renders_saved_json(tmp_path, failing_check):
    _, path = failing_check
    saved = tmp_path / "report.json"
    page = tmp_path / "from_json.html"
    first = subprocess.run([sys.executable, "-m", "datacheck", "check", "--schema", "digits",
                            str(path), "--json", str(saved), "-q"],
                           capture_output=True, text=True, timeout=180)
    assert first.returncode == 1
    result = subprocess.run([sys.executable, "-m", "datacheck", "report", str(saved), "--html",
                             str(page), "-q"], capture_output=True, text=True, timeout=180)
    assert result.returncode == 1 and result.stdout.startswith("FAILED"), result.stderr
    seen = view(page)
    assert "image: range" in visible(seen) and loaded(seen, "intensity histogram")
    saved.write_text("{not json")
    bad = subprocess.run([sys.executable, "-m", "datacheck", "report", str(saved), "--html",
                          str(page)], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "invalid JSON" in bad.stderr and "Traceback" not in bad.stderr


nib = pytest.importorskip("nibabel")
NIB_DATA = Path(os.path.dirname(nib.__file__)) / "tests" / "data"


def test_flagged_volumes_get_a_montage(tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    shutil.copy(NIB_DATA / "anatomical.nii", folder / "sub-<b>01<i>.nii")
    shutil.copy(NIB_DATA / "standard.nii.gz", folder / "sub-02.nii.gz")
    report = dc.check(folder, "brain_t1_nifti")
    assert "violating" in report.inputs.values()
    page = tmp_path / "mri.html"
    write_html(report, page)
    seen = view(page)
    assert loaded(seen, "middle slices of flagged volumes")
    text = visible(seen)
    assert "Flagged volumes" in text and "sub-<b>01<i>.nii" in text
    assert seen["scripts"] == 0


def test_page_is_self_contained(failing_check):
    report, _ = failing_check
    page = render_html(report)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"(src|href)=['\"](?!data:)", page)
    assert not re.search(r"https?://", page)
