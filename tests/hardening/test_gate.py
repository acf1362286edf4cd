"""The one gate: nothing outside the dataset root is opened, by any command, however asked.

Hostile datasets are built in tmp_path: a manifest whose rows escape the root
(``..``, an absolute path, a symlink inside the root pointing out), a JSON
report listing files outside, links to FIFOs, files swapped for symlinks
between the check and the open. An audit hook ("open" events, raised by both
``open`` and ``os.open``) records every path opened while a command runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from datacheck.cli.main import main
from datacheck.errors import DatacheckError, DataError
from datacheck.readers import gate
from datacheck.readers.gate import RefusedPathError, confine, open_file

nib = pytest.importorskip("nibabel")

#: Paths opened while ``_watching`` is active (the hook cannot be removed, so it is gated).
_OPENED: list[str] | None = None


def _hook(event: str, args: tuple) -> None:  # type: ignore[type-arg]
    if event == "open" and _OPENED is not None and isinstance(args[0], (str, bytes, os.PathLike)):
        _OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_hook)


@contextlib.contextmanager
def _watching() -> Iterator[list[str]]:
    global _OPENED
    _OPENED = opened = []
    try:
        yield opened
    finally:
        _OPENED = None


def _outside(opened: list[str], outside: Path) -> list[str]:
    secret = os.path.realpath(outside)
    return [p for p in opened if os.path.realpath(p).startswith(secret + os.sep)]


def _volume(path: Path, value: int = 1) -> None:
    data = (np.arange(8 * 8 * 8).reshape(8, 8, 8) % 7 + value).astype(np.int16)
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)


@pytest.fixture()
def hostile(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(root, outside folder, manifest): 1 good row, 3 rows reaching outside the root."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    _volume(root / "a.nii.gz")
    _volume(outside / "secret.nii.gz", 5)
    (outside / "secret.csv").write_text("image,label\nsecret.nii.gz,1\n")
    os.symlink(outside / "secret.nii.gz", root / "link.nii.gz")
    manifest = root / "manifest.csv"
    manifest.write_text("id,subject,split,image,label\n"
                        "1,s1,train,a.nii.gz,0\n"
                        "2,s2,val,../outside/secret.nii.gz,1\n"
                        f"3,s3,val,{outside / 'secret.nii.gz'},1\n"
                        "4,s4,test,link.nii.gz,1\n")
    return root, outside, manifest


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    start = time.monotonic()
    code = main(argv)
    assert time.monotonic() - start < 30
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_check_with_html_opens_nothing_outside_the_root(hostile, tmp_path, capsys):
    root, outside, manifest = hostile
    with _watching() as opened:
        code, _ = _run(["check", "--schema", "brain_t1_nifti", str(manifest), "--html",
                        str(tmp_path / "c.html"), "--json", str(tmp_path / "c.json"), "-q"],
                       capsys)
    assert code == 1
    assert _outside(opened, outside) == []
    report = json.loads((tmp_path / "c.json").read_text())
    escaped = [v for v in report["violations"] if v["code"] == "manifest"
               and "escape the dataset root" in v["message"]]
    assert len(escaped) == 1 and "3 paths escape" in escaped[0]["message"]
    # Inputs carry their status with codes and reason (issue 15's per-input accounting).
    assert report["counts"]["unreadable"] == 3 and \
        report["inputs"][display(root / "a.nii.gz")]["status"] in ("ok", "violating")


def display(path: Path) -> str:
    from datacheck.scan.plan import display as shown

    return shown(path)


@pytest.mark.parametrize("command", ["infer", "diff"])
def test_infer_and_diff_refuse_rows_escaping_the_root(hostile, tmp_path, capsys, command):
    _, outside, manifest = hostile
    saved = tmp_path / "diff.json"
    argv = [command, str(manifest)] + ([str(manifest), "-q", "--json", str(saved)]
                                       if command == "diff" else [])
    with _watching() as opened:
        code, err = _run(argv, capsys)
    # infer and diff never abort on one bad row (issue 15): each escaping row is named with
    # the gate's reason, the rest is used, exit 1.
    assert code == 1
    said = err if command == "infer" else \
        "\n".join(v["message"] for v in json.loads(saved.read_text())["violations"])
    assert "line 3: ../outside/secret.nii.gz: escapes the dataset root" in said
    for line in (4, 5):
        assert f"line {line}: " in said
    assert said.count("escapes the dataset root") >= 3
    assert _outside(opened, outside) == []


def test_other_image_headers_are_read_inside_the_root_only(tmp_path):
    # Issue 16's grid check of other_image_columns reads headers; a link swapped in after the
    # table was judged must not make it open a file outside the root (issue 14's gate).
    from datacheck.rules.manifest import ManifestEntry
    from datacheck.scan.subjects import subject_violations
    from datacheck.schema.io import load_schema

    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    _volume(root / "t1.nii.gz")
    _volume(root / "t2.nii.gz")
    nib.save(nib.Nifti1Image(np.zeros((5, 8, 8), np.int16), np.eye(4)), outside / "s.nii.gz")
    os.symlink(outside / "s.nii.gz", root / "t2_link.nii.gz")
    schema = load_schema({"name": "mm", "features": {"volume": {"layout": "DHWC"}},
                          "manifest": {"other_image_columns": ["t2"]}})
    entries = [ManifestEntry(0, "m.csv line 2", root / "t1.nii.gz",
                             others={"t2": root / "t2_link.nii.gz"}, root=root)]
    with _watching() as opened:
        found = subject_violations(entries, schema)
    assert found == [] and _outside(opened, outside) == []  # the unit names the refused file
    entries[0].others["t2"] = root / "t2.nii.gz"  # inside: read, and on the same grid
    assert subject_violations(entries, schema) == []
    unconfined = [ManifestEntry(0, "m.csv line 2", root / "t1.nii.gz",
                                others={"t2": root / "t2_link.nii.gz"})]
    assert [v.code for v in subject_violations(unconfined, schema)] == ["shape"]


def test_report_html_renders_only_the_json(hostile, tmp_path, capsys):
    _, outside, manifest = hostile
    saved = tmp_path / "c.json"
    main(["check", "--schema", "brain_t1_nifti", str(manifest), "--json", str(saved), "-q"])
    data = json.loads(saved.read_text())
    # A hostile report: it names files outside as violating volumes and inputs.
    data["inputs"] = {str(outside / "secret.nii.gz"): "violating",
                      str(outside / "secret.csv"): "ok", "/etc/passwd": "violating"}
    data["summaries"]["volume"].pop("histogram", None)
    saved.write_text(json.dumps(data))
    page = tmp_path / "r.html"
    with _watching() as opened:
        code, _ = _run(["report", str(saved), "--html", str(page), "-q"], capsys)
    assert code == 1
    read = [p for p in opened if os.path.realpath(p) != os.path.realpath(saved)
            and not p.startswith(sys.prefix) and "site-packages" not in p
            and os.path.realpath(p) != os.path.realpath(page)]
    assert _outside(opened, outside) == [] and "/etc/passwd" not in opened, read
    text = page.read_text()
    assert "no file it names is read" in text and "does not store one" in text


def test_report_json_with_malformed_stored_figures_is_noted_not_raised(tmp_path, capsys):
    report = {"violations": [], "inputs": {"a.nii": "violating"},
              "summaries": {"x": {"kind": "tensor", "histogram": {"exp": 0, "counts": "zz"}}},
              "stats": {"thumbnails": {"a.nii": [{"height": 10**9, "width": 1, "data": "AA"}]}}}
    saved = tmp_path / "r.json"
    saved.write_text(json.dumps(report))
    code, _ = _run(["report", str(saved), "--html", str(tmp_path / "r.html"), "-q"], capsys)
    assert code == 0
    text = (tmp_path / "r.html").read_text()
    assert "counts are malformed" in text and "thumbnails of a.nii are malformed" in text


def test_report_of_a_device_is_one_line(capsys):
    code, err = _run(["report", "/dev/zero"], capsys)
    assert code == 2 and err.count("\n") == 1 and "not a regular file" in err


def _bounded(run, seconds: float = 5.0):  # type: ignore[no-untyped-def]
    """Run ``run`` in a thread; fail (not hang) if it takes ``seconds``."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["result"] = run()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    start = time.monotonic()
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still blocked after {seconds} s"
    assert time.monotonic() - start < seconds
    return box


def test_a_link_to_a_fifo_never_blocks(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    os.symlink(tmp_path / "pipe", tmp_path / "scan.nii.gz")
    box = _bounded(lambda: open_file(tmp_path / "scan.nii.gz"))
    assert isinstance(box["error"], RefusedPathError) and box["error"].code == "unreadable"

    import datacheck as dc

    box = _bounded(lambda: dc.check(tmp_path / "scan.nii.gz", "brain_t1_nifti"))
    report = box["result"]
    assert report.counts()["unreadable"] == 1  # type: ignore[attr-defined]
    assert "not a regular file" in report.violations[0].message  # type: ignore[attr-defined]
    from datacheck.infer.schema import infer

    box = _bounded(lambda: infer([tmp_path / "scan.nii.gz"]))
    assert isinstance(box["error"], DataError)  # refused (as no file), never opened


def test_image_tfrecord_and_npy_readers_refuse_a_fifo_at_once(tmp_path):
    # Readers added with issue 17 (images, TFRecord) and the labels' .npy files use the gate too.
    from datacheck.labels.probs import load_predictions
    from datacheck.readers.images import read_image
    from datacheck.readers.tfrecord import iter_records

    for name in ("img.png", "data.tfrecord", "p.npy"):
        os.mkfifo(tmp_path / name)
    for read in (lambda: read_image(tmp_path / "img.png"),
                 lambda: list(iter_records(tmp_path / "data.tfrecord")),
                 lambda: load_predictions(tmp_path / "p.npy", 3, 2)):
        box = _bounded(read)
        assert isinstance(box["error"], DatacheckError)
        assert "not a regular file" in str(box["error"])


@pytest.mark.parametrize("name", ["../x.nii", "/etc/passwd", "~/x.nii", "http://h/x.nii",
                                  "a\x00b.nii"])
def test_confine_refuses_escapes_unopened(tmp_path, name):
    with pytest.raises(RefusedPathError) as info:
        confine(name, tmp_path)
    assert info.value.code == "manifest" and "refused, not opened" in str(info.value)


def test_a_file_swapped_for_a_symlink_after_the_check_is_not_read(tmp_path, monkeypatch):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (root / "sub" / "a.bin").write_bytes(b"inside")
    (outside / "a.bin").write_bytes(b"secret")
    real_confine = gate.confine

    def swap_after_check(path, root_, label=None):  # type: ignore[no-untyped-def]
        result = real_confine(path, root_, label)
        (root / "sub" / "a.bin").unlink()
        os.symlink(outside / "a.bin", root / "sub" / "a.bin")
        return result

    monkeypatch.setattr(gate, "confine", swap_after_check)
    with pytest.raises(DataError, match="cannot open"):  # O_NOFOLLOW: ELOOP, nothing read
        open_file("sub/a.bin", root=root)


def test_a_folder_swapped_on_the_way_is_caught_by_the_descriptor(tmp_path, monkeypatch):
    if not Path("/proc/self/fd").exists():
        pytest.skip("needs /proc/self/fd (Linux)")
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (root / "sub" / "a.bin").write_bytes(b"inside")
    (outside / "a.bin").write_bytes(b"secret")
    real_confine = gate.confine

    def swap_after_check(path, root_, label=None):  # type: ignore[no-untyped-def]
        result = real_confine(path, root_, label)
        (root / "sub").rename(root / "old")
        os.symlink(outside, root / "sub")
        return result

    monkeypatch.setattr(gate, "confine", swap_after_check)
    with pytest.raises(RefusedPathError, match="swapped for a path outside"):
        open_file("sub/a.bin", root=root)


@pytest.mark.parametrize("command", ["infer", "diff"])
def test_infer_and_diff_apply_max_bytes_to_every_read(hostile, capsys, command):
    root, _, _ = hostile
    volume = str(root / "a.nii.gz")
    argv = [command, volume] + ([volume, "-q"] if command == "diff" else []) \
        + ["--max-bytes", "100"]
    code, err = _run(argv, capsys)
    assert code == 2 and "too_large: header declares 8x8x8 = 512 voxels" in err
    assert "over the limit of 100 B" in err


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_manifest_rows_over_the_limit_are_refused_before_parsing(tmp_path, suffix):
    import pandas as pd

    from datacheck.readers.guards import Limits
    from datacheck.readers.manifest import read_manifest

    table = pd.DataFrame({"image": ["a.nii.gz"] * 5000, "label": [0] * 5000})
    path = tmp_path / f"m{suffix}"
    if suffix == ".csv":
        table.to_csv(path, index=False)
    else:
        pytest.importorskip("pyarrow")
        table.to_parquet(path)
    assert len(read_manifest(path, Limits(max_rows=5000))) == 5000
    start = time.monotonic()
    with pytest.raises(DataError, match="too_large: manifest holds 5,000 rows, over the limit of "
                                        "4,999"):
        read_manifest(path, Limits(max_rows=4999))
    assert time.monotonic() - start < 5
