"""Voxel geometry measured as the field defines it: millimetres, degrees, spacing from the affine.

* Spacing is the norm of each column of the affine's 3x3 (nibabel, TorchIO,
  ITK), scaled by the header's xyzt spatial unit (micron -> mm x 0.001);
  pixdim alone is only what the header claims.
* Two affines "agree within d mm" when every corner voxel of the volume
  lands within d mm under both: the largest displacement of a box under an
  affine map is reached at a corner, so the 8 corners measure the whole
  volume. Matrix entries do not: a 10 degree rotation changes them by 0.17
  while moving the corner of a 200 mm field of view by about 40 mm.
* Rotation between two affines and obliquity (tilt from the nearest
  axis-aligned frame) are angles in degrees of their direction cosines.

Measurement only; the rules that judge these numbers live in
``datacheck.rules.geometry``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

#: NIfTI xyzt_units spatial codes (bits 0-2) -> millimetres per unit; 0 means "not set".
SPATIAL_MM: dict[int, float] = {1: 1000.0, 2: 1.0, 3: 0.001}
SPATIAL_NAMES: dict[int, str] = {0: "unknown", 1: "meter", 2: "mm", 3: "micron"}
#: NIfTI xyzt_units temporal codes (bits 3-5) -> seconds per unit; 0 means "not set".
TEMPORAL_S: dict[int, float] = {8: 1.0, 16: 0.001, 24: 1e-6}


def spatial_unit(xyzt_units: int) -> tuple[int, float | None]:
    """(spatial code, mm per unit); mm per unit is None for a code NIfTI does not define.

    An unset code (0) is read as mm, as nibabel and ITK do; the units rule warns.

    >>> spatial_unit(3)
    (3, 0.001)
    """
    code = int(xyzt_units) & 0x07
    return code, SPATIAL_MM.get(code, 1.0 if code == 0 else None)


def temporal_unit(xyzt_units: int) -> tuple[int, float | None]:
    """(temporal code, seconds per unit), None for an undefined code; unset (0) reads as s."""
    code = int(xyzt_units) & 0x38
    return code, TEMPORAL_S.get(code, 1.0 if code == 0 else None)


def column_norms(affine: np.ndarray) -> np.ndarray:
    """Voxel size along i, j, k in the affine's units (nibabel's and TorchIO's spacing).

    >>> column_norms(np.diag([2.0, -3.0, 1.0, 1.0])).tolist()
    [2.0, 3.0, 1.0]
    """
    return np.linalg.norm(np.asarray(affine, dtype=np.float64)[:3, :3], axis=0)


def corners(shape: tuple[int, ...]) -> np.ndarray:
    """Homogeneous voxel coordinates (4 x 8) of the corner voxel centres of a 3D grid."""
    ends = [(0.0, float(max(int(n), 1) - 1)) for n in (*shape[:3], 1, 1, 1)[:3]]
    points = np.array(list(itertools.product(*ends)), dtype=np.float64).T
    return np.vstack([points, np.ones((1, points.shape[1]))])


def corner_displacement(a: np.ndarray, b: np.ndarray, shape: tuple[int, ...]) -> float:
    """Largest distance (affine units, mm) a corner voxel of ``shape`` moves from ``a`` to ``b``.

    >>> shift = np.eye(4); shift[0, 3] = 2.0
    >>> corner_displacement(np.eye(4), shift, (10, 10, 10))
    2.0
    """
    diff = (np.asarray(a, np.float64) - np.asarray(b, np.float64)) @ corners(shape)
    if not np.isfinite(diff).all():
        return math.inf
    return float(np.linalg.norm(diff[:3], axis=0).max())


def directions(affine: np.ndarray) -> np.ndarray:
    """The nearest rotation-with-reflection to the affine's 3x3 (unit, orthogonal columns).

    Polar decomposition (U V^T of the SVD), so shear and scaling do not read
    as rotation.
    """
    u, _, vt = np.linalg.svd(np.asarray(affine, dtype=np.float64)[:3, :3])
    return np.asarray(u @ vt)


def rotation_angle(a: np.ndarray, b: np.ndarray) -> float:
    """Angle in degrees of the rotation taking ``a``'s voxel axes to ``b``'s (0 when parallel).

    A flipped axis (a different handedness) is reported as 180.

    >>> rot = np.eye(4); rot[:2, :2] = [[0, -1], [1, 0]]
    >>> round(rotation_angle(np.eye(4), rot), 6)
    90.0
    """
    r = directions(a).T @ directions(b)
    if np.linalg.det(r) < 0:
        return 180.0
    cos = (float(np.trace(r)) - 1.0) / 2.0
    return math.degrees(math.acos(min(1.0, max(-1.0, cos))))


def obliquity(affine: np.ndarray) -> float:
    """Degrees between the voxel axes and the nearest axis-aligned frame (AFNI's obliquity).

    The largest, over the three voxel axes, of the angle between the axis
    and the world axis it is closest to; 0 for any permutation or flip of
    the world axes, 45 where an axis is halfway between two.

    >>> obliquity(np.diag([-2.0, 2.0, 2.0, 1.0]))
    0.0
    """
    cosines = np.abs(directions(affine)).max(axis=0)
    return float(np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0))).max())
