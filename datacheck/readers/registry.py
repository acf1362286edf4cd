"""The reader registry: which file formats datacheck reads, and who handles each.

One table maps a source to its format: the suffixes, the unit runner that
``check`` schedules for one file (``datacheck.scan``), the opener ``infer``
reads it with, and the pip extra it needs. ``scan``, ``infer``, ``fit_stats``
and the tf.data loader ask it (``suffix_of``, ``format_of``) instead of
keeping suffix tables of their own; every byte is still read through
``datacheck.readers.gate``.

Handlers are named as ``"module:function"`` and imported on first use, so the
registry costs nothing at import time and pulls no optional dependency in.

>>> suffix_of("sub-01_T1w.NII.GZ")
'.nii.gz'
>>> format_of("train.h5").kind
'h5'
>>> format_of("notes.txt") is None
True
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Literal

#: The formats datacheck reads (``Format.kind``); a scan unit of kind ``external`` runs a
#: checker registered in ``datacheck.scan.paths.CHECKERS``.
FormatKind = Literal["nifti", "h5", "npz", "images", "tfrecord", "dicom", "npy", "manifest"]
UnitKind = FormatKind | Literal["external"]


@dataclass(frozen=True)
class Format:
    """One registered file format."""

    kind: FormatKind
    suffixes: tuple[str, ...]
    description: str
    #: ``"module:function"`` judging one file as a scan unit (``datacheck.scan.units.Runner``);
    #: None when the format is planned rather than scanned (manifests list other files).
    runner: str | None
    #: ``"module:function"`` opening it for ``infer`` (``datacheck.infer.files.Opener``).
    opener: str | None
    #: The pip extra that installs what it needs (``pip install datacheck[extra]``).
    extra: str | None = None

    def handler(self, which: str) -> Callable[..., Any]:
        """The runner or opener function, imported now."""
        ref = getattr(self, which)
        if ref is None:
            raise LookupError(f"{self.kind} files have no {which}")
        module, _, name = ref.partition(":")
        return getattr(import_module(module), name)  # type: ignore[no-any-return]


#: Manifest suffixes read as Parquet (the other manifest suffixes are delimited text).
_PARQUET = (".parquet", ".pq")

#: Every format datacheck reads. Add a reader here (and nowhere else) to make check,
#: infer and the folder walk find it.
FORMATS: tuple[Format, ...] = (
    Format("nifti", (".nii.gz", ".nii"), "NIfTI-1/NIfTI-2 volumes (nibabel)",
           "datacheck.scan.units:run_nifti_unit", "datacheck.infer.volumes:open_nifti",
           "medical"),
    Format("h5", (".h5", ".hdf5"), "HDF5 datasets (h5py)",
           "datacheck.scan.units:run_h5_unit", "datacheck.infer.volumes:open_hdf5", "medical"),
    Format("npz", (".npz",), "numpy .npz archives of named arrays",
           "datacheck.scan.units:run_npz_unit", "datacheck.infer.files:open_npz"),
    Format("images", (".png", ".jpg", ".jpeg", ".bmp", ".gif"),
           "image files and class-per-folder image datasets (Pillow)",
           "datacheck.scan.images:run_images", "datacheck.infer.images:open_image_folder",
           "images"),
    Format("tfrecord", (".tfrecord", ".tfrecords"), "TFRecord files of tf.train.Example",
           "datacheck.scan.tfrecord:run_tfrecord", "datacheck.infer.tfrecord:open_tfrecord"),
    Format("dicom", (".dcm", ".dicom", ".ima"),
           "DICOM series: the slices of one folder are one volume (pydicom)",
           "datacheck.scan.dicom:run_dicom", "datacheck.infer.dicom:open_dicom_series", "dicom"),
    Format("npy", (".npy",), "single numpy arrays (fit_stats reads them, memory-mapped)",
           None, None),
    Format("manifest", (".csv", ".tsv", *_PARQUET),
           "manifests: tables of file paths, labels and subjects (pandas, pyarrow)",
           None, "datacheck.infer.manifest:open_manifest", "medical"),
)

#: Suffix -> format, longest suffixes first (``.nii.gz`` before ``.gz``).
_BY_SUFFIX: dict[str, Format] = {
    suffix: fmt for fmt in FORMATS for suffix in sorted(fmt.suffixes, key=len, reverse=True)}


def suffix_of(path: str | os.PathLike[str], known: tuple[str, ...] | None = None) -> str:
    """The file's format suffix, lower case: the longest known one it ends with
    (``.nii.gz``), else its last suffix (``''`` when it has none)."""
    name = os.path.basename(os.fspath(path)).lower()
    for suffix in sorted(known if known is not None else _BY_SUFFIX, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    if known is not None:
        return ""
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


def stem_of(path: str | os.PathLike[str]) -> str:
    """The file name without its format suffix (``sub-01_T1w`` for ``sub-01_T1w.nii.gz``)."""
    name = os.path.basename(os.fspath(path))
    suffix = suffix_of(name)
    return name[: len(name) - len(suffix)] if suffix else name


def format_of(path: str | os.PathLike[str]) -> Format | None:
    """The registered format of ``path`` by its suffix, or None."""
    return _BY_SUFFIX.get(suffix_of(path))


def by_kind(kind: str) -> Format:
    """The registered format of one kind."""
    for fmt in FORMATS:
        if fmt.kind == kind:
            return fmt
    raise LookupError(f"no reader registered for {kind!r} files")


def suffixes(*kinds: str) -> tuple[str, ...]:
    """Suffixes of the given kinds (all formats when none is named), longest first."""
    chosen = [f for f in FORMATS if not kinds or f.kind in kinds]
    return tuple(sorted((s for f in chosen for s in f.suffixes), key=len, reverse=True))


def unit_kinds() -> dict[str, UnitKind]:
    """Suffix -> unit kind for every format ``check`` scans file by file."""
    return {s: f.kind for f in FORMATS if f.runner is not None for s in f.suffixes}


def is_parquet(path: str | os.PathLike[str]) -> bool:
    """A manifest stored as Parquet (rows counted from its footer), not delimited text."""
    return suffix_of(path) in _PARQUET
