"""DICOM series for ``infer``: each folder of slices is one ``volume`` element, read and
assembled exactly as ``check`` does (``scan.dicom.load_series``), with the header facts
(modality, photometric interpretation, orientation, spacing) that become the ``dicom:``
section. Without a schema, a file is DICOM by its suffix or by the ``DICM`` marker at
byte 128 (scanners often write files without a suffix)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from datacheck.infer.sources import Batch, Source
from datacheck.readers.dicom import DICOM_SUFFIXES

if TYPE_CHECKING:
    from datacheck.readers.nifti import NiftiHeader

#: Files sniffed per folder for the DICM marker (a folder of 10,000 PNGs is not opened whole).
_SNIFF = 64


def _marked(path: Path) -> bool:
    from datacheck.readers.gate import open_file

    try:
        with open_file(path) as handle:
            head = handle.read(132)
    except Exception:  # unreadable here: the scan reports it when the file is read
        return False
    return head[128:132] == b"DICM"


def dicom_files(folder: Path) -> list[Path]:
    """The DICOM files directly in ``folder`` (by suffix, or by marker for suffix-less files)."""
    try:
        entries = sorted(p for p in folder.iterdir() if p.is_file()
                         and not p.name.startswith("."))
    except OSError:
        return []
    named = [p for p in entries if p.name.lower().endswith(DICOM_SUFFIXES)]
    bare = [p for p in entries if not p.suffix or p.suffix[1:].isdigit()]
    if bare and any(_marked(p) for p in bare[:_SNIFF]):
        named += bare
    return sorted(named)


def dicom_folders(root: Path) -> list[Path]:
    """``root`` and every folder under it that holds DICOM files, sorted (hidden ones skipped).

    >>> dicom_folders(Path("patients"))  # doctest: +SKIP
    [PosixPath('patients/p01/ct'), PosixPath('patients/p02/ct')]
    """
    found = []
    for current, dirs, _ in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if dicom_files(Path(current)):
            found.append(Path(current))
    return sorted(found)


def series_facts(header: NiftiHeader, modality: str,
                 photometric: str) -> dict[tuple[str, str], int]:
    """Facts counted per series: modality, photometric, orientation and spacing (mm)."""
    from datacheck.rules.geometry import affine_sane, axcodes, spacing_mm

    facts = {("modality", modality or "(missing)"): 1,
             ("photometric", photometric or "(missing)"): 1}
    spacing = spacing_mm(header)
    if spacing is not None:
        facts[("dicom_spacing", "x".join(f"{z:.6g}" for z in spacing))] = 1
    if affine_sane(header) and header.affine is not None:
        facts[("dicom_orientation", axcodes(header.affine))] = 1
    return facts


def open_dicom_series(path: Path, mask: Path | None, batch_size: int) -> Source:
    """One series (a folder of slices, or one slice file) as one ``volume`` element."""
    from datacheck.errors import DataError
    from datacheck.infer.volumes import as_element
    from datacheck.readers.guards import active_limits
    from datacheck.rules.files import unreadable
    from datacheck.scan.dicom import load_series
    from datacheck.scan.plan import display
    from datacheck.schema.dicom import DicomSpec

    name = display(path)
    files = dicom_files(path) if path.is_dir() else [path]
    if not files:
        raise DataError(f"{name}: the folder holds no DICOM files")
    source = Source(["volume"], False, iter(()), name)

    def batches() -> Iterator[Batch]:
        series = load_series([(os.fspath(f), display(f)) for f in files], name, DicomSpec(),
                             active_limits(), "volume")
        for shown, exc in series.unreadable.items():
            source.problems[shown] = unreadable(shown, exc)
            source.inputs[shown] = "unreadable"
        if series.volume is None or series.header is None:
            why = "; ".join(v.message for v in series.violations) or "no readable slice"
            source.problems[name] = unreadable(name, DataError(
                f"{name}: unreadable: no volume could be assembled ({why})"))
            source.inputs[name] = "unreadable"
            return
        first = series.slices[0]
        headers = {"volume": series_facts(series.header, first.modality, first.photometric)}
        source.inputs[name] = "ok"
        yield Batch({"volume": as_element(series.volume)[None]}, name, 0, headers, single=True)

    source.batches = batches()
    return source
