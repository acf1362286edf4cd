"""The HTML report for MRI (issue 16): volume cards by severity, true orientation, mask outlines,
foreground histograms, more than 12 montages, viewed in headless Chromium as a person would.

Scans are nilearn's MNI152 template and its own brain mask (downsampled to 2 mm to keep the
test quick) with faults planted in copies, and nibabel's real anatomical.nii. Pages are
rendered after the scans are deleted: a figure can only come from the report.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import datacheck as dc
from datacheck.report.html import render_html, write_html

nib = pytest.importorskip("nibabel")
NIB_DATA = Path(os.path.dirname(nib.__file__)) / "tests" / "data"
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

SCHEMA = {"name": "mri", "features": {"volume": {"layout": "DHWC"}},
          "nifti": {"orientation": "RAS", "spacing": [2, 2, 2], "ndim": 3},
          "pairs": {"labels": [0, 1], "required": False}}

HARNESS = """<!DOCTYPE html><html><body><pre id="out">pending</pre>
<iframe id="f" src="REPORT" width="1200" height="6000"></iframe>
<script>
window.addEventListener('load', () => {
  const d = document.getElementById('f').contentWindow.document;
  const cards = Array.from(d.querySelectorAll('section.card')).map(c => ({
    severity: c.dataset.severity, title: c.querySelector('h3').innerText,
    text: c.innerText, reasons: Array.from(c.querySelectorAll('.reasons li')).map(
      li => li.innerText),
    image: Array.from(c.querySelectorAll('img')).map(i => ({alt: i.alt, width: i.naturalWidth,
      height: i.naturalHeight}))}));
  document.getElementById('out').textContent = JSON.stringify({cards: cards,
    text: d.body.innerText, scripts: d.querySelectorAll('script').length});
});
</script></body></html>"""


def view(page: Path) -> dict:
    """Cards and text of ``page`` as Chromium shows them, and a screenshot beside the page."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    harness = page.parent / f"harness-{page.stem}.html"
    harness.write_text(HARNESS.replace("REPORT", page.name), encoding="utf-8")
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={page.parent / ('chromium-' + page.stem)}"]
    result = subprocess.run([*flags, "--allow-file-access-from-files",
                             "--virtual-time-budget=15000", "--dump-dom", harness.as_uri()],
                            capture_output=True, text=True, timeout=120)
    match = re.search(r'<pre id="out">(.*?)</pre>', result.stdout, re.S)
    assert match and match.group(1) != "pending", result.stderr[-2000:]
    shot = page.with_suffix(".png")
    subprocess.run([*flags, "--hide-scrollbars", "--window-size=1200,4000",
                    f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 50_000  # a page with figures, not blank
    return json.loads(html.unescape(match.group(1)))


def save(path: Path, data: np.ndarray, affine: np.ndarray, units: bool = True) -> Path:
    img = nib.Nifti1Image(data, affine)
    img.set_sform(affine, code=1)
    img.set_qform(affine, code=1)
    if units:
        img.header.set_xyzt_units("mm", "sec")
    nib.save(img, path)
    return path


@pytest.fixture(scope="module")
def mni() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The MNI152 template (2 mm), its own brain mask, and their affine (RAS)."""
    datasets = pytest.importorskip("nilearn.datasets")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        template = datasets.load_mni152_template().slicer[::2, ::2, ::2]
        mask = datasets.load_mni152_brain_mask().slicer[::2, ::2, ::2]
    data = np.asarray(template.dataobj, np.float32)
    return data, (np.asarray(mask.dataobj) != 0).astype(np.uint8), template.affine


def to_las(data: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same anatomy stored LAS: first axis reversed, the affine says so."""
    flip = np.array([[-1.0, 0, 0, data.shape[0] - 1], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    return np.ascontiguousarray(data[::-1]), affine @ flip


@pytest.fixture()
def scans(tmp_path: Path, mni) -> Path:
    data, mask, affine = mni
    folder = tmp_path / "scans"
    folder.mkdir()
    save(folder / "sub-01_T1w.nii.gz", data, affine)  # clean, with its own mask
    save(folder / "sub-01_T1w_mask.nii.gz", mask, affine)
    save(folder / "sub-02_T1w.nii.gz", data, affine)  # mask flipped top to bottom
    save(folder / "sub-02_T1w_mask.nii.gz", np.ascontiguousarray(mask[:, :, ::-1]), affine)
    save(folder / "sub-03_T1w.nii.gz", *to_las(data, affine))  # stored LAS
    save(folder / "sub-04_T1w.nii.gz", data, affine, units=False)  # warning: no units
    shutil.copy(NIB_DATA / "anatomical.nii", folder / "sub-05_T1w.nii")  # real LAS scan
    return folder


def test_cards_by_severity_with_reasons_labels_and_outline(tmp_path: Path, scans: Path) -> None:
    report = dc.check(str(scans), SCHEMA)
    shutil.rmtree(scans)  # the page is drawn from the report alone
    page = tmp_path / "mri.html"
    write_html(report, page)
    seen = view(page)
    assert seen["scripts"] == 0
    cards = seen["cards"]
    names = [Path(c["title"].split()[-1]).name for c in cards]
    # Errors first, then warnings, then clean volumes, each group in input order.
    assert names == ["sub-02_T1w.nii.gz", "sub-03_T1w.nii.gz", "sub-05_T1w.nii",
                     "sub-04_T1w.nii.gz", "sub-01_T1w.nii.gz"]
    assert [c["severity"] for c in cards] == ["error"] * 3 + ["warning", "ok"]
    assert [c["title"].split()[0] for c in cards] == ["ERROR"] * 3 + ["WARNING", "OK"]
    # Every non-ok input's reasons are on its card (a mask's on its image's card).
    by_card = {n: " ".join(c["reasons"]) for n, c in zip(names, cards, strict=True)}
    for v in report.violations:
        owner = Path(v.input or v.where).name.replace("_mask", "")
        assert f"{v.code} ({v.severity})" in by_card[owner], (v.code, owner)
    assert "mask_mismatch (error)" in by_card["sub-02_T1w.nii.gz"]
    assert "72." in by_card["sub-02_T1w.nii.gz"]  # the measured overlap, not just a code
    assert by_card["sub-01_T1w.nii.gz"] == "no findings"
    for card in cards:
        assert "axial: R left, L right, A top, P bottom" in card["text"]
        assert "sagittal: A left, P right, S top, I bottom" in card["text"]
        assert [i for i in card["image"] if i["width"] > 300 and i["height"] > 100]
    assert "shown in RAS (stored LAS)" in cards[1]["text"]
    assert "mask sub-02_T1w_mask.nii.gz outlined" in cards[0]["text"]
    assert "mask sub-01_T1w_mask.nii.gz outlined" in cards[-1]["text"]
    assert "radiological convention" in seen["text"] and "Foreground intensity p1-p99" \
        in cards[0]["text"]
    assert "Foreground intensities, all volumes" in seen["text"]


def _pixels(entry: dict) -> np.ndarray:
    raw = np.frombuffer(base64.b64decode(entry["data"]), np.uint8)
    return raw.reshape(entry["height"], entry["width"])


def test_slices_are_stored_in_true_orientation(tmp_path: Path, mni) -> None:
    data, _, affine = mni
    marked = data.copy()
    # A bright block in the patient's right hemisphere (x > 0 mm in RAS), front and top.
    ijk = np.round(np.linalg.inv(affine) @ [40, 20, 30, 1]).astype(int)[:3]
    marked[ijk[0]:ijk[0] + 8, ijk[1]:ijk[1] + 8, :] = 5.0
    save(tmp_path / "ras.nii.gz", marked, affine)
    save(tmp_path / "las.nii.gz", *to_las(marked, affine))
    report = dc.check([str(tmp_path / "ras.nii.gz"), str(tmp_path / "las.nii.gz")], SCHEMA)
    stored = report.stats["thumbnails"]
    ras, las = stored[str(tmp_path / "ras.nii.gz")], stored[str(tmp_path / "las.nii.gz")]
    for a, b in zip(ras, las, strict=True):  # the same anatomy looks the same
        assert a["view"] == b["view"] and np.array_equal(_pixels(a), _pixels(b))
    axial = _pixels(ras[0])
    rows, cols = np.nonzero(axial == 255)
    # Radiological: the right hemisphere on the viewer's left; anterior at the top.
    assert cols.mean() < axial.shape[1] / 2 and rows.mean() < axial.shape[0] / 2
    assert ras[0]["edges"] == ["R", "L", "A", "P"] and ras[1]["edges"] == ["R", "L", "S", "I"]
    info = report.stats["previews"][str(tmp_path / "las.nii.gz")]
    assert (info["stored"], info["shown"]) == ("LAS", "RAS")


def test_foreground_histograms_use_a_robust_range(tmp_path: Path, mni) -> None:
    data, _, affine = mni
    save(tmp_path / "mni.nii.gz", data, affine)
    report = dc.check(str(tmp_path / "mni.nii.gz"), SCHEMA)
    hist = report.stats["previews"][str(tmp_path / "mni.nii.gz")]["histogram"]
    lo, hi = hist["range"]
    fg = data[data > 0.1 * data.max()]
    # Background (0, most of the volume) is left out; the range is the foreground's p1..p99.
    assert abs(lo - np.percentile(fg, 1)) < 0.05 and abs(hi - np.percentile(fg, 99)) < 0.05
    assert sum(hist["counts"]) + hist["below"] + hist["above"] == hist["sampled"]
    assert report.stats["foreground_histogram"]["counts"]
    page = render_html(report)
    assert "foreground intensity histogram of all volumes" in page
    assert "foreground_histogram" not in page.split("raw statistics", 1)[-1]
    # A report is untrusted input: stored values reach the page as text or not at all.
    info = report.stats["previews"][str(tmp_path / "mni.nii.gz")]
    info["histogram"]["below"] = "<script>window.pwned=1</script>"
    info["stored"] = "<b>LAS</b>"
    report.stats["thumbnails"][str(tmp_path / "mni.nii.gz")][0]["edges"] = ["<i>", "L", "A", "P"]
    page = render_html(report)
    assert "<script>" not in page and "<b>LAS</b>" not in page and "<i>" not in page
    assert "(? sampled voxels below" in page and "axial: ? left" in page


def test_more_than_12_montages_and_severe_ones_kept_first(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    real = nib.load(NIB_DATA / "standard.nii.gz")  # 4x5x7, 1x3x2 mm, RAS
    good = np.asarray(real.dataobj).astype(np.float32)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    for i in range(14):  # clean volumes come first in input order
        save(folder / f"a{i:02d}.nii.gz", good + i, affine)
    for i in range(3):  # then three on another spacing (errors)
        save(folder / f"z{i}.nii.gz", good, real.affine)
    default = dc.check(str(folder), SCHEMA)
    assert len(default.stats["thumbnails"]) == 12
    assert [Path(n).name for n in default.stats["thumbnails"]][:3] == \
        ["z0.nii.gz", "z1.nii.gz", "z2.nii.gz"]  # errors kept over earlier clean volumes
    page = render_html(default)
    assert page.count("<section class='card") == 12 and "check --montages N keeps N" in page
    many = dc.check(str(folder), SCHEMA, montages=17)
    assert len(many.stats["thumbnails"]) == 17
    assert render_html(many).count("<section class='card") == 12  # rendering default: 12
    assert render_html(many, montages=17).count("<section class='card") == 17
    page = tmp_path / "cli.html"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    schema = tmp_path / "mri.json"
    schema.write_text(json.dumps(SCHEMA))
    run = subprocess.run([sys.executable, "-m", "datacheck", "check", "--schema", str(schema),
                          str(folder), "--montages", "15", "--html", str(page), "--json",
                          str(tmp_path / "r.json"), "-q"],
                         capture_output=True, text=True, env=env, timeout=180)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert page.read_text().count("<section class='card") == 15
    again = subprocess.run([sys.executable, "-m", "datacheck", "report", str(tmp_path / "r.json"),
                            "--html", str(page), "--montages", "13", "-q"],
                           capture_output=True, text=True, env=env, timeout=180)
    assert again.returncode == 1 and page.read_text().count("<section class='card") == 13
    bad = subprocess.run([sys.executable, "-m", "datacheck", "check", "--schema", str(schema),
                          str(folder), "--montages", "-1"],
                         capture_output=True, text=True, env=env, timeout=180)
    assert bad.returncode == 2 and "--montages must be >= 0" in bad.stderr


@pytest.mark.parametrize("values", [
    np.r_[np.zeros(500), np.full(250, 1.0), np.full(250, np.nextafter(1.0, 2.0))],
    np.r_[np.zeros(500), np.full(250, -1e308), np.full(250, 1e308)],
    np.r_[np.zeros(500), np.full(500, 7.0)],
])
def test_a_preview_never_raises_on_extreme_values(values: np.ndarray) -> None:
    from datacheck.scan.previews import foreground_histogram, preview

    volume = values.reshape(10, 10, 10)
    with np.errstate(all="ignore"):  # the scan runs previews so: overflow is not an error
        hist = foreground_histogram(volume)
        slices, info, _ = preview(volume, np.eye(4))
    assert hist is None or sum(hist["counts"]) + hist["below"] + hist["above"] \
        == hist["sampled"]
    assert len(slices) == 3 and info["shown"] == "RAS"


def test_previews_of_an_older_report_are_drawn_with_unknown_sides(tmp_path: Path) -> None:
    from datacheck.report.report import Report

    pixels = base64.b64encode(bytes(range(256)) * 16).decode("ascii")  # 64 x 64
    old = {"violations": [{"code": "orientation", "feature": "volume", "message": "LAS",
                           "where": "a.nii", "input": "a.nii"}],
           "inputs": {"a.nii": "violating"},
           "stats": {"thumbnails": {"a.nii": [{"height": 64, "width": 64, "data": pixels}] * 3}}}
    page = render_html(Report.from_dict(old))
    card = page.split("id='cards'", 1)[1]
    assert "orientation not stored in this report" in card and "axial" not in card
    assert "? left, ? right" in card and "orientation</span> (error)" in card


def test_an_affine_nibabel_cannot_orient_gets_a_preview_in_voxel_order(
        nibabel_data: Path, tmp_path: Path) -> None:
    """Found by the reader fuzzer: a NIfTI-2 affine with a 1e200 column (float64 fits it)
    made nibabel's io_orientation return NaN and apply_orientation raise, so the file was
    reported with nibabel's raw OrientationError instead of being checked."""
    import nibabel as nib

    import datacheck as dc
    from datacheck.scan.previews import preview

    img = nib.load(nibabel_data / "example_nifti2.nii.gz")
    affine = np.diag([1e200, 1.0, 1.0, 1.0])
    assert np.isnan(nib.orientations.io_orientation(affine)).any()
    volume = np.asarray(img.dataobj, dtype=np.float32)
    slices, info, _ = preview(volume, affine)
    assert slices and info["shown"] == "voxel order"
    path = tmp_path / "huge_affine.nii.gz"
    nib.save(nib.Nifti2Image(volume, affine), path)
    report = dc.check([path], {"name": "mri", "features": {"volume": {"layout": "DHW"}}})
    assert report.inputs[str(path)] != "unreadable"
    for v in report.violations:
        assert "OrientationError" not in v.message
