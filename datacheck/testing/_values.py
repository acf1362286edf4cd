"""Numbers that satisfy one schema feature: dtype, range, finiteness, non-constancy, moments.

Hypothesis-free on purpose: the strategies draw a seed and a few knobs and
call these with a numpy Generator, so the same code can build test data
anywhere. Nothing here asks the judge whether the data is valid: the values
are built from the schema's declarations alone, so tests that feed them to
``dc.check`` really test the rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from datacheck.errors import SchemaError
from datacheck.schema.dtypes import DTYPE_KINDS
from datacheck.schema.model import Feature

FLOATS = ("float32", "float64", "float16")
INTEGERS = ("int64", "int32", "int16", "int8", "uint8", "uint16", "uint32", "uint64")
#: How the free values are spread: uniformly, touching both bounds, a few distinct
#: values, or two neighbouring representable values (the sharpest non-constant batch).
STYLES = ("uniform", "edges", "few", "tight")
#: Spread of values when the schema bounds nothing.
SCALES = (1e-3, 1.0, 1e3)


class Infeasible(SchemaError):
    """The schema admits no data of the requested kind; the message says why."""


@dataclass(frozen=True)
class ValueSpec:
    """What generated values must satisfy, resolved for one concrete dtype.

    ``lo``/``hi`` are the tightest bounds representable in ``dtype`` (None: unbounded).
    """

    dtype: str
    lo: float | None
    hi: float | None
    mean: float | None
    std: float | None
    tolerance: float
    not_constant: bool


def concrete_dtypes(allowed: list[str] | None, default: tuple[str, ...] = ("float32",
                                                                          "float64")) -> list[str]:
    """Numpy dtype names covered by schema dtype names/kinds (bfloat16 has no numpy twin)."""
    if allowed is None:
        return list(default)
    out: list[str] = []
    for name in allowed:
        for dtype in DTYPE_KINDS.get(name, (name,)):
            dtype = "string" if dtype in ("str", "bytes", "object") else dtype
            if dtype != "bfloat16" and dtype not in out:
                out.append(dtype)
    return out


def _float_bound(value: float, dtype: str, up: bool) -> float:
    """``value`` clipped into the dtype's finite range and rounded inwards."""
    info = np.finfo(np.dtype(dtype))
    clipped = float(np.clip(value, -float(info.max), float(info.max)))
    cast = np.asarray(clipped, dtype=np.float64).astype(dtype)
    direction = np.inf if up else -np.inf
    while (float(cast) < value) if up else (float(cast) > value):
        cast = np.nextafter(cast, np.asarray(direction, dtype=dtype))
    return float(cast)


def value_spec(feature: Feature, dtype: str) -> ValueSpec | None:
    """The spec for ``dtype``, or None when the dtype cannot hold any valid batch."""
    bounds = feature.value_range()
    mean, std = feature.expected_moments()
    lo, hi = bounds if bounds is not None else (None, None)
    if dtype == "string":
        return ValueSpec(dtype, None, None, None, None, feature.tolerance, False)
    if dtype == "bool" or dtype in INTEGERS:
        info = np.iinfo(np.dtype("uint8" if dtype == "bool" else dtype))
        top = 1 if dtype == "bool" else int(info.max)
        ilo = int(info.min) if lo is None or lo == -math.inf else max(math.ceil(lo), int(info.min))
        ihi = top if hi is None or hi == math.inf else min(math.floor(hi), top)
        if ilo > ihi or (feature.not_constant and ilo == ihi and bounds is not None):
            return None
        return ValueSpec(dtype, float(ilo), float(ihi), mean, std, feature.tolerance,
                         feature.not_constant)
    flo = None if lo is None else _float_bound(lo, dtype, up=True)
    fhi = None if hi is None else _float_bound(hi, dtype, up=False)
    if flo is not None and fhi is not None and (
            flo > fhi or (flo == fhi and feature.not_constant)):
        return None
    return ValueSpec(dtype, flo, fhi, mean, std, feature.tolerance, feature.not_constant)


def feasible_specs(feature: Feature, name: str) -> list[ValueSpec]:
    """Specs for every allowed dtype that can hold valid values (raises Infeasible if none)."""
    dtypes = concrete_dtypes(feature.dtypes())
    numeric = [d for d in dtypes if d != "string"]
    specs = [s for s in (value_spec(feature, d) for d in (numeric or dtypes)) if s is not None]
    if not specs:
        raise Infeasible(f"{name}: no allowed dtype ({', '.join(dtypes) or 'none'}) can hold "
                         f"values in range {feature.value_range()} that vary within a batch; "
                         "fix the schema's range, dtype or not_constant.")
    return specs


def _base(count: int, rng: np.random.Generator, style: str) -> np.ndarray:
    """Positions in [0, 1] shaped by the style."""
    if style == "few":
        z = rng.choice(np.array([0.0, 0.5, 1.0]), size=count)
    elif style == "tight":
        z = rng.choice(np.array([0.5, 0.5 + 1e-9]), size=count)
    else:
        z = rng.random(count)
    if style in ("edges", "few", "tight") and count >= 2:
        picks = rng.choice(count, size=2, replace=False)
        z[picks[0]], z[picks[1]] = (0.0, 1.0) if style != "tight" else (0.5, 0.5 + 1e-9)
    return z


def _interval(spec: ValueSpec, scale: float) -> tuple[float, float]:
    lo, hi = spec.lo, spec.hi
    if lo is not None and hi is not None:
        return lo, hi
    if lo is not None:
        return lo, lo + scale
    if hi is not None:
        return hi - scale, hi
    return -scale, scale


def _cast(x: np.ndarray, spec: ValueSpec) -> np.ndarray:
    """Round to the dtype, then step back inside the bounds where rounding left them."""
    if spec.dtype == "bool" or spec.dtype in INTEGERS:
        lo = -np.inf if spec.lo is None else spec.lo
        hi = np.inf if spec.hi is None else spec.hi
        rounded = np.clip(np.rint(x), lo, hi)
        with np.errstate(invalid="ignore"):  # NaN from an overflowed attempt; verified later
            return rounded.astype(spec.dtype) if spec.dtype != "bool" else rounded.astype(bool)
    info = np.finfo(np.dtype(spec.dtype))
    out = np.clip(x, -float(info.max), float(info.max)).astype(spec.dtype)
    for _ in range(4):
        high = out > spec.hi if spec.hi is not None else np.zeros(out.shape, bool)
        low = out < spec.lo if spec.lo is not None else np.zeros(out.shape, bool)
        if not (high.any() or low.any()):
            break
        out = np.where(high, np.nextafter(out, np.asarray(-np.inf, out.dtype)), out)
        out = np.where(low, np.nextafter(out, np.asarray(np.inf, out.dtype)), out)
    return out


def _spread(x: np.ndarray, spec: ValueSpec, rng: np.random.Generator) -> np.ndarray:
    """Make two values differ when the spec forbids constant batches."""
    if not spec.not_constant or x.size < 2 or np.unique(x).size > 1:
        return x
    first, second = rng.choice(x.size, size=2, replace=False)
    value = x[first]
    if x.dtype.kind == "b":
        x[second] = not value
        return x
    up: float
    down: float
    if x.dtype.kind in "iu":
        up, down = int(value) + 1, int(value) - 1
    else:
        up = float(np.nextafter(value, np.asarray(np.inf, x.dtype)))
        down = float(np.nextafter(value, np.asarray(-np.inf, x.dtype)))
    if spec.hi is None or up <= spec.hi:
        x[second] = up
    elif spec.lo is None or down >= spec.lo:
        x[second] = down
    else:
        raise Infeasible(f"range [{spec.lo}, {spec.hi}] holds one {spec.dtype} value only")
    return x


def spread_elements(x: np.ndarray, spec: ValueSpec, rng: np.random.Generator,
                    regroup: int = 0) -> np.ndarray:
    """Make every element (axis 0) hold two values: constancy is judged per element.

    ``regroup``: rows per group whose values may trade places (0: none). Where the
    spec declares a mean or std, values are first dealt out within each group so
    that every row gets values from both ends: that keeps the moments, which
    changing a value (``_spread``) would break.
    """
    if not spec.not_constant or x.ndim == 0 or x.size == 0 or spec.dtype == "string":
        return x
    rows = x.reshape(x.shape[0], -1)
    if rows.shape[1] < 2:
        return x
    if regroup and (spec.mean is not None or spec.std is not None):
        rows = rows.copy()
        for start in range(0, rows.shape[0], regroup):
            group = rows[start:start + regroup]
            if all(np.unique(row).size > 1 for row in group):
                continue
            ordered = np.sort(group, axis=None)
            # row r gets ordered[r], ordered[r + R], ...: the smallest and the largest values
            dealt = ordered.reshape(group.shape[1], group.shape[0]).T
            group[...] = rng.permuted(dealt, axis=1)
    for row in rows:  # each row is a view: _spread edits it in place
        _spread(row, spec, rng)
    return rows.reshape(x.shape)


def _targets(spec: ValueSpec, count: int, fixed: np.ndarray,
             interval: tuple[float, float]) -> tuple[float, float]:
    """Mean and std the free values need so that free + fixed hit the spec's moments."""
    lo, hi = interval
    total_mean = spec.mean if spec.mean is not None else (lo + hi) / 2
    total_std = spec.std if spec.std is not None else (hi - lo) / 6
    n_fixed = fixed.size
    total = count + n_fixed
    if n_fixed == 0:
        return total_mean, total_std
    free_mean = (total * total_mean - float(fixed.sum())) / count
    fixed_m2 = float(((fixed - fixed.mean()) ** 2).sum())
    between = (free_mean - float(fixed.mean())) ** 2 * count * n_fixed / total
    free_m2 = total * total_std ** 2 - fixed_m2 - between
    if free_m2 < 0:
        raise Infeasible("planted values alone already break the declared mean/std")
    return free_mean, math.sqrt(free_m2 / count)


def _moments_ok(values: np.ndarray, spec: ValueSpec) -> bool:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return True
    slack = spec.tolerance / 2
    if spec.mean is not None and not abs(float(finite.mean()) - spec.mean) <= slack:
        return False
    return spec.std is None or abs(float(finite.std()) - spec.std) <= slack


def _in_bounds(x: np.ndarray, spec: ValueSpec) -> bool:
    return bool(np.all(np.isfinite(x))
                and (spec.lo is None or float(x.min()) >= spec.lo)
                and (spec.hi is None or float(x.max()) <= spec.hi))


def _standardized(spec: ValueSpec, count: int, rng: np.random.Generator, style: str,
                  fixed: np.ndarray, scale: float) -> np.ndarray:
    """Free values whose moments (with ``fixed``) match the spec; two-point fallback."""
    mean, std = _targets(spec, count, fixed, _interval(spec, scale))
    z = _base(count, rng, style)
    candidates = []
    if count >= 2 and np.ptp(z) > 0:
        candidates.append((z - z.mean()) / z.std())
    half = count // 2
    if half:
        a = math.sqrt(count / (2 * half))
        two = np.concatenate([np.full(half, -a), np.full(half, a), np.zeros(count % 2)])
        candidates.append(rng.permutation(two))
    candidates.append(np.zeros(count))
    for unit in candidates:
        with np.errstate(over="ignore", invalid="ignore"):
            x = _cast(mean + std * unit, spec)
        as_float = x.astype(np.float64)
        distinct = not spec.not_constant or count < 2 or np.unique(x).size > 1
        if _in_bounds(as_float, spec) and distinct and _moments_ok(
                np.concatenate([as_float, fixed]), spec):
            return x
    raise Infeasible(f"cannot hit mean {spec.mean} / std {spec.std} within "
                     f"[{spec.lo}, {spec.hi}] in {spec.dtype}")


def valid_values(spec: ValueSpec, count: int, rng: np.random.Generator, *, style: str = "uniform",
                 scale: float = 1.0, fixed: np.ndarray | None = None) -> np.ndarray:
    """``count`` values in ``spec.dtype`` that satisfy the spec (with ``fixed`` for the moments).

    >>> spec = ValueSpec("float32", 0.0, 1.0, None, None, 0.1, True)
    >>> v = valid_values(spec, 5, np.random.default_rng(0)); bool(v.min() >= 0 and v.max() <= 1)
    True
    """
    extra = np.zeros(0) if fixed is None else np.asarray(fixed, np.float64)
    extra = extra[np.isfinite(extra)]
    if count == 0:
        return np.zeros(0, dtype=spec.dtype if spec.dtype != "string" else "<U1")
    if spec.dtype == "string":
        return np.array([f"s{int(i)}" for i in rng.integers(0, 1000, count)])
    if spec.mean is not None or spec.std is not None:
        return _standardized(spec, count, rng, style, extra, scale)
    lo, hi = _interval(spec, scale)
    z = _base(count, rng, style)
    if style == "tight" and spec.dtype in FLOATS and count >= 2:
        centre = _cast(np.asarray([lo * 0.5 + hi * 0.5]), spec)
        step = np.nextafter(centre, np.asarray(np.inf, centre.dtype))
        if spec.hi is not None and float(step[0]) > spec.hi:
            step = np.nextafter(centre, np.asarray(-np.inf, centre.dtype))
        if spec.lo is not None and float(step[0]) < spec.lo:
            step = centre  # a one-value range: no neighbour fits
        x = np.where(z > 0.5, step[0], centre[0]).astype(spec.dtype)
        return _spread(x, spec, rng)
    with np.errstate(over="ignore"):
        x = _cast(lo * (1 - z) + hi * z, spec)
    return _spread(x, spec, rng)


def shifted(spec: ValueSpec, rng: np.random.Generator) -> ValueSpec:
    """A spec whose moments miss the declared ones by several tolerances (for 'unnormalized')."""
    tol = spec.tolerance
    options: list[ValueSpec] = []
    if spec.mean is not None:
        for sign in (1, -1):
            options.append(replace(spec, mean=spec.mean + sign * tol * 4))
    if spec.std is not None:
        options.append(replace(spec, std=spec.std + tol * 4))
        if spec.std > tol * 8:
            options.append(replace(spec, std=spec.std - tol * 4))
    if not options:
        return spec
    return options[int(rng.integers(len(options)))]


def outside_values(spec: ValueSpec) -> list[float]:
    """Finite values representable in the dtype that lie just outside the bounds."""
    out: list[float] = []
    if spec.dtype == "string":
        return out
    if spec.dtype == "bool" or spec.dtype in INTEGERS:
        info = np.iinfo(np.dtype("uint8" if spec.dtype == "bool" else spec.dtype))
        top = 1 if spec.dtype == "bool" else int(info.max)
        if spec.hi is not None and spec.hi < top:
            out.append(spec.hi + 1)
        if spec.lo is not None and spec.lo > int(info.min):
            out.append(spec.lo - 1)
        return out
    for bound, direction in ((spec.hi, np.inf), (spec.lo, -np.inf)):
        if bound is None:
            continue
        step = np.nextafter(np.asarray(bound, spec.dtype), np.asarray(direction, spec.dtype))
        if np.isfinite(step):
            out.append(float(step))
    return out
