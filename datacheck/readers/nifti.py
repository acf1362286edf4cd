"""Read NIfTI-1/2 volumes (.nii, .nii.gz): header fields first, voxels only within the limits.

The reader parses the fixed-size header itself (with nibabel's header
classes), refuses sizes over the limits before allocating, and reads the
voxel block through a capped stream, so a corrupt or lying .nii.gz can
neither blow up memory nor make us decompress without end. It never judges:
orientation, spacing and affine rules live in ``datacheck.rules.medical``.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from datacheck.errors import DataError
from datacheck.readers.gate import file_size, open_file
from datacheck.readers.guards import (
    CappedReader,
    GzipStream,
    Limits,
    TooLargeError,
    active_limits,
    check_declared,
    human_bytes,
)

_GZIP_MAGIC = b"\x1f\x8b"
_FIX = "Re-export the volume (nibabel.save, or the scanner/converter that wrote it)."


@dataclass(frozen=True)
class NiftiHeader:
    """The header fields the rules read. Matrices are None when their code is 0 or invalid.

    ``slope``/``inter`` are the raw ``scl_slope``/``scl_inter`` fields;
    ``problems`` names fields that could not be interpreted (e.g. a qform
    quaternion out of range), for the affine rule to report. ``zooms`` is
    pixdim as stored; spacing in mm comes from the affine and
    ``xyzt_units`` (``datacheck.readers.geometry``).
    """

    source: str
    version: int
    shape: tuple[int, ...]
    dtype: str
    itemsize: int
    byteorder: str
    zooms: tuple[float, ...]
    affine: np.ndarray | None
    qform: np.ndarray | None
    sform: np.ndarray | None
    qform_code: int
    sform_code: int
    slope: float
    inter: float
    vox_offset: int
    problems: dict[str, str] = field(default_factory=dict)
    xyzt_units: int = 0
    intent_code: int = 0
    intent_name: str = ""

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.itemsize

    def scaling(self) -> tuple[float, float] | None:
        """(slope, inter) the data must be scaled by, None for none (NIfTI and nibabel rules).

        A slope of 0 or a non-finite slope means "unscaled"; a non-finite
        intercept with a valid slope is applied as 0 (the affine rule flags it).
        """
        if self.slope == 0 or not np.isfinite(self.slope):
            return None
        inter = self.inter if np.isfinite(self.inter) else 0.0
        return None if (self.slope, inter) == (1.0, 0.0) else (self.slope, inter)


@dataclass
class NiftiVolume:
    """A header and its voxels (scaled when ``scaled``), in nibabel's (i, j, k[, t]) order."""

    header: NiftiHeader
    data: np.ndarray
    scaled: bool


def read_nifti_header(path: str | os.PathLike[str], limits: Limits | None = None,
                      source: str | None = None,
                      root: str | os.PathLike[str] | None = None) -> NiftiHeader:
    """Read and interpret only the header (the voxels stay on disk).

    >>> read_nifti_header("sub-01_T1w.nii.gz").shape  # doctest: +SKIP
    (256, 256, 180)
    """
    limits = limits or active_limits()
    label = source or str(path)
    with _open(path, label, limits, root) as stream:
        return _parse_header(stream, label, limits)


def read_nifti(path: str | os.PathLike[str], limits: Limits | None = None,
               scaling: str = "apply", source: str | None = None,
               root: str | os.PathLike[str] | None = None) -> NiftiVolume:
    """Read a volume: header, size guard, then the voxels (one allocation, within limits).

    ``scaling="apply"`` applies scl_slope/scl_inter like nibabel; ``"raw"``
    returns stored values. With ``root``, a path escaping it is refused unopened.

    >>> vol = read_nifti("sub-01_T1w.nii.gz"); vol.data.shape  # doctest: +SKIP
    (256, 256, 180)
    """
    limits = limits or active_limits()
    label = source or str(path)
    with _open(path, label, limits, root) as stream:
        header = _parse_header(stream, label, limits)
        end = header.vox_offset + header.nbytes
        if not stream.compressed:
            size = stream.size
            if size < end:
                raise DataError(f"{label}: truncated: header declares {human_bytes(header.nbytes)}"
                                f" of voxel data at offset {header.vox_offset}, the file holds "
                                f"{human_bytes(max(size - header.vox_offset, 0))}. {_FIX}")
        stream.reader.cap = end
        factors = header.scaling() if scaling == "apply" else None
        # Peak memory is one volume as returned (plus a small chunk when scaling): stored
        # values are byte-swapped in place, scaled ones converted chunk by chunk into the
        # output (whole-array conversion held the raw, swapped and float copies at once).
        if factors is None:
            data = _native(_read_voxels(stream, header, label))
        else:
            data = _read_scaled(stream, header, label, *factors)
    return NiftiVolume(header, data, factors is not None)


def _native(raw: np.ndarray) -> np.ndarray:
    """``raw`` in native byte order, swapped in place (no second copy)."""
    if raw.dtype.isnative or raw.dtype.itemsize == 1:
        return raw.view(raw.dtype.newbyteorder("=")) if not raw.dtype.isnative else raw
    raw.byteswap(inplace=True)
    return raw.view(raw.dtype.newbyteorder("="))


#: Stored bytes converted at a time when scaling (small next to a volume, large for numpy).
SCALE_CHUNK = 1 << 18


def _read_scaled(stream: _Stream, header: NiftiHeader, label: str, slope: float,
                 inter: float) -> np.ndarray:
    """The volume scaled like nibabel (``x * slope + inter`` in float32 or wider), read in
    chunks straight into the one output array."""
    stored = np.dtype(header.dtype).newbyteorder("<" if header.byteorder == "<" else ">")
    out = np.empty(math.prod(header.shape), np.result_type(np.dtype(header.dtype), np.float32))
    step = max(1, SCALE_CHUNK // stored.itemsize)
    buffer = np.empty(min(step, out.size) * stored.itemsize, dtype=np.uint8)
    _seek(stream, header, label)
    for start in range(0, out.size, step):
        count = min(step, out.size - start)
        view = buffer[:count * stored.itemsize]
        got = _fill(stream, view, label)
        if got < view.size:
            _truncated(header, start * stored.itemsize + got, label)
        chunk = out[start:start + count]
        chunk[...] = view.view(stored)  # same operations as before, element by element
        chunk *= slope
        if inter:
            chunk += inter
    return out.reshape(header.shape, order="F")


class _Stream:
    """An open (possibly gzip) file behind a CappedReader; knows whether it decompresses."""

    def __init__(self, reader: CappedReader, compressed: bool, size: int) -> None:
        self.reader = reader
        self.compressed = compressed
        self.size = size  # of the file on disk, from the descriptor that is read

    def __enter__(self) -> _Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reader.close()


def _open(path: str | os.PathLike[str], label: str, limits: Limits,
          root: str | os.PathLike[str] | None = None) -> _Stream:
    # The gate opens once and checks the descriptor (a regular file; inside root if given).
    raw: IO[bytes] = open_file(path, root=root, label=label)
    size = file_size(raw)
    if size == 0:
        raw.close()
        raise DataError(f"{label}: empty file (0 bytes). {_FIX}")
    compressed = raw.read(2) == _GZIP_MAGIC
    raw.seek(0)
    if compressed:
        raw = GzipStream(raw)  # type: ignore[assignment]
    # Until the header is parsed, allow only the header itself plus the voxel budget.
    return _Stream(CappedReader(raw, limits.max_bytes + 1024, label), compressed, size)


def _read(stream: _Stream, n: int, label: str, what: str) -> bytes:
    try:
        return stream.reader.read(n)
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        raise DataError(f"{label}: unreadable {what}: {_gzip_reason(exc)}. {_FIX}") from None


def _gzip_reason(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "truncated gzip stream (it ends before the end-of-stream marker)"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"corrupt gzip data ({text})" if isinstance(exc, (zlib.error, gzip.BadGzipFile)) \
        else text


def _parse_header(stream: _Stream, label: str, limits: Limits) -> NiftiHeader:
    import nibabel as nib

    block = _read(stream, 348, label, "header")
    if len(block) < 4:
        raise DataError(f"{label}: not a NIfTI file (only {len(block)} bytes). {_FIX}")
    endian = next((e for e in "<>" if struct.unpack(e + "i", block[:4])[0] in (348, 540)), None)
    if endian is None:
        size = struct.unpack("<i", block[:4])[0]
        raise DataError(f"{label}: not a NIfTI file: wrong magic (sizeof_hdr {size}, expected "
                        "348 or 540). Is it another format renamed to .nii?")
    version = 1 if struct.unpack(endian + "i", block[:4])[0] == 348 else 2
    if version == 2:
        block += _read(stream, 540 - 348, label, "header")
    size = 348 if version == 1 else 540
    if len(block) < size:
        raise DataError(f"{label}: truncated header ({len(block)} of {size} bytes). {_FIX}")
    magic = block[344:348] if version == 1 else block[4:8]
    expected = b"n+1\x00" if version == 1 else b"n+2\x00"
    if magic != expected:
        pair = magic in (b"ni1\x00", b"ni2\x00")
        hint = ("a .hdr/.img pair header; datacheck reads single-file .nii/.nii.gz" if pair
                else "Is it another format renamed to .nii?")
        raise DataError(f"{label}: not a NIfTI file: wrong magic {magic!r} (expected "
                        f"{expected!r}); {hint}")
    klass = nib.Nifti1Header if version == 1 else nib.Nifti2Header
    try:
        hdr = klass(binaryblock=block[:size], endianness=endian, check=False)
    except Exception as exc:  # nibabel raises several types for corrupt blocks
        raise DataError(f"{label}: corrupt header ({exc}). {_FIX}") from None
    return _interpret(hdr, version, endian, label, limits)


def _interpret(hdr: Any, version: int, endian: str, label: str, limits: Limits) -> NiftiHeader:
    dim = [int(d) for d in hdr["dim"]]
    ndim = dim[0]
    if not 1 <= ndim <= 7:
        raise DataError(f"{label}: corrupt header: dim[0]={ndim} (the number of dimensions "
                        f"must be 1-7). {_FIX}")
    shape = tuple(dim[1:ndim + 1])
    if any(d < 1 for d in shape):
        raise DataError(f"{label}: corrupt header: dimensions {shape} include negative or zero "
                        f"sizes. {_FIX}")
    dtype = _voxel_dtype(hdr, label)
    check_declared(label, shape, dtype.itemsize, limits)
    minimum = 352 if version == 1 else 544
    offset_raw = float(hdr["vox_offset"])
    if not np.isfinite(offset_raw) or offset_raw < 0:
        raise DataError(f"{label}: corrupt header: vox_offset {offset_raw}. {_FIX}")
    vox_offset = max(int(offset_raw), minimum)
    if vox_offset > limits.max_bytes:
        raise TooLargeError(f"{label}: too_large: vox_offset {vox_offset:,} puts the voxels past "
                        f"the limit of {human_bytes(limits.max_bytes)}. {_FIX}")
    problems: dict[str, str] = {}
    qcode, scode = int(hdr["qform_code"]), int(hdr["sform_code"])
    qform = _matrix(lambda: hdr.get_qform(), "qform", problems) if qcode > 0 else None
    sform = _matrix(lambda: hdr.get_sform(), "sform", problems) if scode > 0 else None
    affine = sform if sform is not None else qform
    if affine is None and "qform" not in problems and "sform" not in problems:
        affine = _matrix(lambda: hdr.get_base_affine(), "pixdim", problems)
    pixdim = [float(p) for p in hdr["pixdim"][1:ndim + 1]]
    return NiftiHeader(
        source=label, version=version, shape=shape, dtype=dtype.newbyteorder("=").name,
        itemsize=dtype.itemsize, byteorder=endian, zooms=tuple(pixdim), affine=affine,
        qform=qform, sform=sform,
        qform_code=qcode, sform_code=scode, slope=float(hdr["scl_slope"]),
        inter=float(hdr["scl_inter"]), vox_offset=vox_offset, problems=problems,
        xyzt_units=int(hdr["xyzt_units"]), intent_code=int(hdr["intent_code"]),
        intent_name=bytes(hdr["intent_name"]).split(b"\x00")[0].decode("ascii", "replace"))


def _voxel_dtype(hdr: Any, label: str) -> np.dtype[Any]:
    """The voxel dtype, or a refusal naming the datatype code when datacheck cannot judge it.

    nibabel maps codes it knows but numpy cannot hold (binary, float128 where
    longdouble is not binary128, "none"/"all") to a zero-size void type, and
    RGB/RGBA to records; reading either would fail later with a raw numpy error.
    """
    from nibabel.nifti1 import data_type_codes

    code = int(hdr["datatype"])
    try:
        dtype = np.dtype(hdr.get_data_dtype())
    except Exception:  # a code nibabel does not know (KeyError, or worse for odd headers)
        dtype = np.dtype("V0")
    if dtype.kind in "biufc" and dtype.itemsize > 0:
        return dtype
    name = data_type_codes.label[code] if code in data_type_codes.label else "not a NIfTI code"
    fix = ("re-save it as uint8 with a channel axis (one channel per colour)" if dtype.names
           else "re-save the volume as float32 (nibabel: img.set_data_dtype('float32'))")
    raise DataError(f"{label}: header datatype {code} ({name}) is not supported: datacheck "
                    "reads int8-uint64, float32/float64 and complex64/complex128 voxels; "
                    f"{fix}.")


def _matrix(get: Any, name: str, problems: dict[str, str]) -> np.ndarray | None:
    try:
        with np.errstate(all="ignore"):
            return np.asarray(get(), dtype=np.float64)
    except Exception as exc:  # e.g. a qform quaternion with norm > 1
        problems[name] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None


def _read_voxels(stream: _Stream, header: NiftiHeader, label: str) -> np.ndarray:
    dtype = np.dtype(header.dtype).newbyteorder("<" if header.byteorder == "<" else ">")
    buffer = np.empty(header.nbytes, dtype=np.uint8)
    _seek(stream, header, label)
    got = _fill(stream, buffer, label)
    if got < header.nbytes:
        _truncated(header, got, label)
    return buffer.view(dtype).reshape(header.shape, order="F")


_VOXEL_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile, OSError)


def _seek(stream: _Stream, header: NiftiHeader, label: str) -> None:
    try:
        stream.reader.seek(header.vox_offset)
    except _VOXEL_ERRORS as exc:
        raise DataError(f"{label}: unreadable voxel data: {_gzip_reason(exc)}. {_FIX}") from None


def _fill(stream: _Stream, buffer: np.ndarray, label: str) -> int:
    try:
        return stream.reader.readinto(buffer)
    except _VOXEL_ERRORS as exc:
        raise DataError(f"{label}: unreadable voxel data: {_gzip_reason(exc)}. {_FIX}") from None


def _truncated(header: NiftiHeader, got: int, label: str) -> None:
    raise DataError(f"{label}: truncated: header declares {human_bytes(header.nbytes)} of "
                    f"voxel data, the file holds {human_bytes(got)}. {_FIX}")
