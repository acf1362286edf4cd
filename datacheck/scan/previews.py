"""Check-time previews of volumes for the HTML report: oriented slices, mask outlines, histograms.

Everything the HTML report draws about a volume is computed here, while the
scan holds the voxels, and stored in the report, so rendering never opens a
data path (a report may be someone else's JSON).

Orientation: slices are taken from the volume reoriented to the closest
canonical RAS frame (``nibabel.orientations.io_orientation``, views only, no
copy, no resampling) and laid out in radiological convention: the patient's
right on the viewer's left; axial and coronal views have superior/anterior
at the top, sagittal views anterior on the viewer's left. Each slice stores
the anatomical letter at each of its four edges, so the page labels what it
shows instead of assuming it. A volume without a usable affine is drawn in
stored voxel order with "?" at its edges.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

#: Longest side of a stored slice, in pixels.
SIDE = 64
#: Bins of the per-volume foreground histogram (between its 1st and 99th percentile).
HISTOGRAM_BINS = 32

# Edges (left, right, top, bottom) of each view once laid out by _display (RAS data).
_EDGES = {"axial": ("R", "L", "A", "P"), "coronal": ("R", "L", "S", "I"),
          "sagittal": ("A", "P", "S", "I")}


def canonical(data: np.ndarray, affine: np.ndarray | None) -> tuple[np.ndarray, str, str]:
    """(first 3D volume of ``data`` as a view in closest-canonical RAS, stored axcodes, shown).

    >>> canonical(np.zeros((2, 3, 4)), np.diag([-2.0, 2, 2, 1]))[0].shape
    (2, 3, 4)
    """
    arr = np.asarray(data)
    while arr.ndim > 3:
        arr = arr[..., 0]
    if arr.ndim != 3 or affine is None or not np.isfinite(affine).all() \
            or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        return arr, "unknown", "voxel order"
    from nibabel.orientations import apply_orientation, io_orientation, ornt2axcodes

    ornt = io_orientation(affine)
    if np.isnan(ornt).any():  # axes nibabel cannot tell apart (a near-degenerate affine)
        return arr, "unknown", "voxel order"
    stored = "".join(str(c) for c in ornt2axcodes(ornt))
    return apply_orientation(arr, ornt), stored, "RAS"


def _display(image: np.ndarray) -> np.ndarray:
    """A RAS slice (first axis to the patient's right/anterior, second up) as rows x columns:
    higher first-axis values on the viewer's left, higher second-axis values at the top."""
    return image[::-1, ::-1].T


def _slices(volume: np.ndarray) -> list[tuple[str, np.ndarray]]:
    if volume.ndim == 2:
        return [("axial", volume)]
    i, j, k = (d // 2 for d in volume.shape)
    return [("axial", volume[:, :, k]), ("coronal", volume[:, j, :]),
            ("sagittal", volume[i, :, :])]


def _zooms(affine: np.ndarray | None, oriented: bool) -> tuple[float, float, float]:
    if affine is None or not oriented:
        return 1.0, 1.0, 1.0
    from nibabel.orientations import io_orientation

    norms = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    ornt = io_orientation(affine)
    if np.isnan(ornt).any():
        return 1.0, 1.0, 1.0
    out = [1.0, 1.0, 1.0]
    for axis, (target, _) in enumerate(ornt):
        out[int(target)] = float(norms[axis]) or 1.0
    return out[0], out[1], out[2]


def volume_slices(data: np.ndarray, affine: np.ndarray | None) -> list[dict[str, object]]:
    """Middle axial, coronal and sagittal slices as stored thumbnails with edge labels.

    Each is ``{"height", "width", "data", "view", "edges", "aspect", "step"}``:
    ``data`` the base64 of uint8 pixels windowed to the slice's 1st..99th
    percentile, ``edges`` the letters at the left, right, top and bottom,
    ``aspect`` the pixel height over width in mm.
    """
    volume, _, shown = canonical(data, affine)
    if volume.ndim not in (2, 3):
        return []
    zooms = _zooms(affine, shown == "RAS")
    pairs = {"axial": (zooms[0], zooms[1]), "coronal": (zooms[0], zooms[2]),
             "sagittal": (zooms[1], zooms[2])}
    out: list[dict[str, object]] = []
    for view, image in _slices(volume):
        step = max(1, -(-max(image.shape) // SIDE))
        small = np.nan_to_num(np.asarray(_display(image)[::step, ::step], dtype=np.float64))
        lo, hi = np.percentile(small, [1, 99]) if small.size else (0.0, 1.0)
        scaled = np.clip((small - lo) / (hi - lo if hi > lo else 1.0), 0, 1) * 255
        pixels = np.ascontiguousarray(scaled.astype(np.uint8))
        across, up = pairs[view]
        out.append({"height": int(pixels.shape[0]), "width": int(pixels.shape[1]),
                    "data": base64.b64encode(pixels.tobytes()).decode("ascii"), "view": view,
                    "edges": list(_EDGES[view]) if shown == "RAS" else ["?"] * 4,
                    "aspect": round(up / across, 4), "step": step})
    return out


def add_outline(slices: list[dict[str, object]], mask: np.ndarray,
                affine: np.ndarray | None) -> bool:
    """Store the mask's non-zero voxels on each image slice (``"mask"``: packed bits).

    ``affine`` is the image's: the mask is on the image's grid (the caller
    checks the shapes), so it is oriented the same way. Returns False when the
    mask cannot be laid over these slices.
    """
    volume, _, _ = canonical(mask, affine)
    views = dict(_slices(volume))
    for entry in slices:
        image = views.get(str(entry["view"]))
        step = entry.get("step")
        if image is None or not isinstance(step, int):
            return False
        bits = np.asarray(_display(image)[::step, ::step]) != 0
        if bits.shape != (entry["height"], entry["width"]):
            return False
        entry["mask"] = base64.b64encode(np.packbits(bits).tobytes()).decode("ascii")
    return True


def foreground_sample(image: np.ndarray) -> np.ndarray | None:
    """The sampled finite voxels above background (as ``scan.volume.foreground`` defines it)."""
    from datacheck.scan.volume import _sample, _threshold

    sample = _sample(image)
    if sample is None:
        return None
    fg = sample[sample > _threshold(sample)]
    return fg if fg.size >= 2 else None


def foreground_histogram(image: np.ndarray, fg: np.ndarray | None = None) -> dict[str, Any] | None:
    """Histogram of the foreground's sampled intensities between their 1st and 99th percentile.

    Foreground as the mask rules define it (``scan.volume.foreground``); the
    values outside the robust range are counted, not drawn.

    >>> h = foreground_histogram(np.r_[np.zeros(500), np.arange(500.0)].reshape(10, 10, 10))
    >>> h["range"], sum(h["counts"]) + h["below"] + h["above"] == h["sampled"]
    ([52.51, 494.49], True)
    """
    fg = foreground_sample(image) if fg is None else fg
    if fg is None:
        return None
    lo, hi = (float(v) for v in np.percentile(fg, [1, 99]))
    if not hi > lo:
        hi = lo + max(1.0, abs(lo) * 1e-6)
    try:
        counts, _ = np.histogram(fg, bins=HISTOGRAM_BINS, range=(lo, hi))
    except ValueError:  # a range too narrow (or wide) for finite bins at float precision
        return None
    return {"range": [round(lo, 6), round(hi, 6)], "counts": [int(c) for c in counts],
            "below": int(np.count_nonzero(fg < lo)), "above": int(np.count_nonzero(fg > hi)),
            "sampled": int(fg.size)}


def preview(data: np.ndarray, affine: np.ndarray | None) -> tuple[list[dict[str, object]],
                                                                   dict[str, Any], Any]:
    """(slices, info, foreground ChannelHistogram or None) of one volume.

    ``info`` holds the orientation shown and the volume's own foreground
    histogram; the ChannelHistogram (a fixed power-of-two grid) merges exactly
    across volumes into the dataset's foreground histogram.
    """
    from datacheck.summary.histogram import ChannelHistogram

    _, stored, shown = canonical(data, affine)
    fg = foreground_sample(data)
    info: dict[str, Any] = {"stored": stored, "shown": shown,
                            "histogram": foreground_histogram(data, fg)}
    merged = ChannelHistogram.of(fg.reshape(-1, 1)) if fg is not None else None
    return volume_slices(data, affine), info, merged
