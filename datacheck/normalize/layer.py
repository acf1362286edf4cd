"""Normalize: a Keras 3 layer that normalizes on the device and checks its own output.

Only ``keras.ops`` is used, so the same code runs with the TensorFlow, JAX and
PyTorch backends (and fuses into one XLA computation under JAX's jit). In the
same pass the layer measures a few scalars of its output (count, non-finite
count, finite min/max, mean, M2) and keeps them in two small non-trainable
vectors: the last batch and a running total. ``last_check()`` reads them and
``violations()`` hands them to the core judge, which reports ``nonfinite``,
``range``, ``constant`` and ``unnormalized`` like it does for any data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import ops

from datacheck.errors import DatacheckError
from datacheck.normalize.checks import (
    STATE_INDEX,
    STATE_SIZE,
    judge_state,
    pack_state,
    state_dict,
)
from datacheck.normalize.params import NormParams, resolve_params
from datacheck.normalize.stats import NormStats
from datacheck.report.violation import Violation
from datacheck.schema.model import Feature

#: Appended to violations: what they mean for each method.
HINTS = {
    "zscore": "(Normalize zscore: the fitted statistics do not match this data; refit them on "
              "the training set, or check that the input was not normalized already.)",
    "zscore_per_sample": "(Normalize zscore_per_sample: a blank or constant sample has std 0; "
                         "drop such samples before the model.)",
    "minmax": "(Normalize minmax: inputs fall outside the fitted [min, max]; refit the "
              "statistics on data covering this range, or pass clip=True.)",
    "percentile": "(Normalize percentile: check the input for NaN or a wrong intensity scale.)",
    "window": "(Normalize window: are the inputs in Hounsfield units? A batch entirely outside "
              "the window comes out constant.)",
}


def merge_states(a: Any, b: Any) -> Any:
    """Merge two check vectors (Chan's parallel mean/M2), in keras.ops."""
    fa = {name: a[i] for name, i in STATE_INDEX.items()}
    fb = {name: b[i] for name, i in STATE_INDEX.items()}
    n_a, n_b = fa["values"] - fa["nonfinite"], fb["values"] - fb["nonfinite"]
    safe = ops.maximum(n_a + n_b, 1.0)
    delta = fb["mean"] - fa["mean"]
    first = ops.equal(fa["batches"], 0.0)
    return pack_state(
        ops.stack,
        values=fa["values"] + fb["values"], nonfinite=fa["nonfinite"] + fb["nonfinite"],
        min=ops.where(first, fb["min"], ops.minimum(fa["min"], fb["min"])),
        max=ops.where(first, fb["max"], ops.maximum(fa["max"], fb["max"])),
        mean=fa["mean"] + delta * n_b / safe,
        m2=fa["m2"] + fb["m2"] + delta * delta * n_a * n_b / safe,
        batches=fa["batches"] + fb["batches"], elements=fa["elements"] + fb["elements"])


@keras.saving.register_keras_serializable(package="datacheck")
class Normalize(keras.layers.Layer):
    """Normalize inputs with fitted statistics and check the result in the same pass.

    Methods: ``zscore`` (dataset mean/std per channel), ``zscore_per_sample``,
    ``minmax`` (to [0, 1]), ``percentile`` (clip to ``percentiles`` then scale
    to [0, 1]), ``window`` (CT: ``window=(center, width)`` or a name, to [0, 1]).
    ``foreground="nonzero"`` (the default when the statistics were fitted that
    way) normalizes and checks non-zero voxels only and leaves the background 0.

    >>> layer = Normalize({"mean": [10.0], "std": [2.0]})
    >>> float(layer(np.full((1, 2, 1), 12.0, np.float32))[0, 0, 0])
    1.0
    """

    def __init__(self, stats: NormStats | dict[str, Any] | str | Path | None = None,
                 method: str = "zscore", *, percentiles: tuple[float, float] = (0.5, 99.5),
                 window: Any = None, clip: bool = False, foreground: str | None = None,
                 epsilon: float = 1e-6, channel_axis: int | None = -1, check: bool = True,
                 tolerance: float = 0.1, expect: Feature | dict[str, Any] | None = None,
                 feature: str | None = None, return_check: bool = False, strategy: str = "auto",
                 params: NormParams | dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(stats, (str, Path)):
            stats = NormStats.load(stats)
        if params is not None:
            self.params = params if isinstance(params, NormParams) else \
                NormParams.from_dict(params)
        else:
            self.params = resolve_params(stats, method, percentiles=percentiles, window=window,
                                         clip=clip, foreground=foreground, epsilon=epsilon)
        if isinstance(stats, NormStats):
            stats = stats.to_dict(histograms=False)
        self.stats_summary = stats if isinstance(stats, dict) else None
        if isinstance(self.stats_summary, dict):
            self.stats_summary = {k: v for k, v in self.stats_summary.items()
                                  if k != "histograms"}
        self.method = self.params.method
        self.channel_axis = channel_axis
        self.check = bool(check)
        self.tolerance = float(tolerance)
        self.return_check = bool(return_check)
        self.feature = feature
        if strategy not in ("auto", "branch", "select"):
            raise DatacheckError(f"strategy must be 'auto', 'branch' or 'select', got "
                                 f"{strategy!r}.")
        self.strategy = strategy
        self._expect_given = expect is not None
        if isinstance(expect, dict):
            expect = Feature.model_validate(expect)
        self.expect: Feature = expect or self.params.expected_feature(self.tolerance)

    # ----------------------------------------------------------------- building
    def build(self, input_shape: Any) -> None:
        ndim = len(input_shape)
        if ndim < 2:
            raise DatacheckError(f"{self.name}: Normalize needs batched input (batch, ..., "
                                 f"channels); got shape {tuple(input_shape)}.")
        axis = None if self.channel_axis is None else self.channel_axis % ndim
        if axis == 0:
            raise DatacheckError(f"{self.name}: channel_axis={self.channel_axis} is the batch "
                                 "axis; use -1 (channels-last) or 1 (channels-first).")
        self._axis = axis
        self._channels = 1 if axis is None else input_shape[axis]
        wanted = self.params.channels
        if wanted not in (None, 1) and self._channels is not None and wanted != self._channels:
            raise DatacheckError(
                f"{self.name}: statistics have {wanted} channels but the input has "
                f"{self._channels} on axis {self.channel_axis} (shape {tuple(input_shape)}). "
                "Fit the statistics with the same channel_axis, or pass channel_axis=.")
        shape = [1] * ndim
        if axis is not None and wanted not in (None, 1):
            shape[axis] = wanted

        def const(values: Any) -> np.ndarray | None:
            return None if values is None else np.asarray(values, np.float32).reshape(shape)

        p = self.params
        self._consts = {k: const(getattr(p, k)) for k in ("center", "lo", "hi", "shift")}
        self._consts["inv_scale"] = const(p.inverse_scale())
        self._reduce = tuple(i for i in range(1, ndim) if i != axis)
        if self.check or self.return_check:
            self.batch_check = self.add_weight(
                shape=(STATE_SIZE,), initializer="zeros", trainable=False, dtype="float32",
                autocast=False, name="batch_check")
            self.running_check = self.add_weight(
                shape=(STATE_SIZE,), initializer="zeros", trainable=False, dtype="float32",
                autocast=False, name="running_check")

    def _c(self, key: str, dtype: Any) -> Any:
        return ops.cast(self._consts[key], dtype)

    # ------------------------------------------------------------------ compute
    def _foreground(self, x: Any) -> Any:
        if self.params.foreground != "nonzero":
            return None
        nonzero = ops.not_equal(x, 0)
        return nonzero if self._axis is None else ops.any(nonzero, axis=self._axis, keepdims=True)

    def _per_sample(self, x: Any, fg: Any) -> Any:
        # One pass: mean and mean square together; shifting by the dataset mean (when known)
        # keeps E[d^2] - E[d]^2 from cancelling.
        d = x if self._consts["shift"] is None else x - self._c("shift", x.dtype)
        d32 = ops.cast(d, "float32")
        if fg is None:
            m1 = ops.mean(d32, axis=self._reduce, keepdims=True)
            sq = ops.mean(d32 * d32, axis=self._reduce, keepdims=True)
        else:
            w = ops.cast(fg, "float32")
            n = ops.maximum(ops.sum(w, axis=self._reduce, keepdims=True), 1.0)
            m1 = ops.sum(d32 * w, axis=self._reduce, keepdims=True) / n
            sq = ops.sum(d32 * d32 * w, axis=self._reduce, keepdims=True) / n
        std = ops.maximum(ops.sqrt(ops.maximum(sq - m1 * m1, 0.0)), self.params.epsilon)
        y = (d - ops.cast(m1, x.dtype)) / ops.cast(std, x.dtype)
        return y if fg is None else ops.where(fg, y, ops.zeros_like(y))

    def _normalize(self, x: Any, fg: Any) -> Any:
        if self.method == "zscore_per_sample":
            return self._per_sample(x, fg)
        if self._consts["lo"] is not None:
            x = ops.minimum(ops.maximum(x, self._c("lo", x.dtype)), self._c("hi", x.dtype))
        y = (x - self._c("center", x.dtype)) * self._c("inv_scale", x.dtype)
        return y if fg is None else ops.where(fg, y, ops.zeros_like(y))

    def _measure(self, y: Any, fg: Any) -> Any:
        """The check vector of one batch: a handful of reductions over the output."""
        y = ops.cast(y, "float32")
        if fg is None and self._branchy():
            return self._measure_branchy(y)
        return self._measure_masked(y, fg)

    def _branchy(self) -> bool:
        # XLA (JAX) fuses the masked reductions into the pass that writes the output, and a
        # device-side branch would cost a host round trip; op-by-op backends (TF without XLA,
        # torch) do fewer passes when the masks are skipped unless something is non-finite.
        if self.strategy != "auto":
            return self.strategy == "branch"
        return keras.backend.backend() != "jax"

    def _measure_branchy(self, y: Any) -> Any:
        total = ops.sum(y)
        sq = ops.sum(y * y)
        clean = ops.logical_and(ops.isfinite(total), ops.isfinite(sq))

        def fast() -> Any:
            values = ops.cast(ops.size(y), "float32")
            mean = total / ops.maximum(values, 1.0)
            m2 = ops.maximum(sq - total * mean, 0.0)
            elements = ops.cast(ops.shape(y)[0], "float32")
            return pack_state(ops.stack, values=values, nonfinite=ops.zeros((), "float32"),
                              min=ops.min(y), max=ops.max(y), mean=mean, m2=m2,
                              batches=ops.ones((), "float32"), elements=elements)

        return ops.cond(clean, fast, lambda: self._measure_masked(y, None))

    def _measure_masked(self, y: Any, fg: Any) -> Any:
        finite = ops.isfinite(y)
        if fg is None:
            valid = finite
            values = ops.cast(ops.size(y), "float32")
        else:
            valid = ops.logical_and(finite, fg)
            per_voxel = 1 if self._axis is None else (self._channels or ops.shape(y)[self._axis])
            values = ops.cast(ops.sum(ops.cast(fg, "int32")) * per_voxel, "float32")
        count = ops.cast(ops.sum(ops.cast(valid, "int32")), "float32")
        kept = ops.where(valid, y, 0.0)
        total = ops.sum(kept)
        mean = total / ops.maximum(count, 1.0)
        m2 = ops.maximum(ops.sum(kept * kept) - total * mean, 0.0)
        lo = ops.min(ops.where(valid, y, np.float32(np.inf)))
        hi = ops.max(ops.where(valid, y, np.float32(-np.inf)))
        elements = ops.cast(ops.shape(y)[0], "float32")
        return pack_state(ops.stack, values=values, nonfinite=values - count, min=lo, max=hi,
                          mean=mean, m2=m2, batches=ops.ones((), "float32"), elements=elements)

    def call(self, inputs: Any) -> Any:
        x = ops.cast(inputs, self.compute_dtype)
        fg = self._foreground(x)
        y = self._normalize(x, fg)
        if not (self.check or self.return_check):
            return y
        state = self._measure(y, fg)
        self.batch_check.assign(state)
        self.running_check.assign(merge_states(self.running_check.value, state))
        return (y, state) if self.return_check else y

    # ------------------------------------------------------------- host side
    def _state(self, scope: str) -> np.ndarray:
        if scope not in ("batch", "running"):
            raise DatacheckError(f"scope must be 'batch' or 'running', got {scope!r}.")
        if not (self.built and (self.check or self.return_check)):
            raise DatacheckError(f"{self.name}: no check state; build the layer with check=True "
                                 "and call it on data first.")
        var = self.batch_check if scope == "batch" else self.running_check
        return np.asarray(ops.convert_to_numpy(var.value), np.float64)

    def last_check(self, scope: str = "batch") -> dict[str, float]:
        """The scalars measured on the last batch (``"batch"``) or since ``reset_check()``.

        Keys: values, nonfinite, min, max (finite), mean, std, m2, batches, elements.
        """
        return state_dict(self._state(scope))

    def reset_check(self) -> None:
        """Start a new running total (e.g. at the start of an epoch)."""
        if self.built and (self.check or self.return_check):
            self.running_check.assign(ops.zeros((STATE_SIZE,), "float32"))
            self.batch_check.assign(ops.zeros((STATE_SIZE,), "float32"))

    def violations(self, scope: str = "running", state: Any = None) -> list[Violation]:
        """Judge the measured scalars (or a ``state`` vector from ``return_check``).

        >>> layer = Normalize(window="brain", method="window")
        >>> _ = layer(np.full((1, 4, 1), np.nan, np.float32))
        >>> [v.code for v in layer.violations()]
        ['nonfinite']
        """
        vector = np.asarray(state if state is not None else self._state(scope), np.float64)
        info = state_dict(vector)
        batches = int(self._state("running")[6]) if state is None else int(info["batches"])
        if scope == "batch" and state is None:
            where = f"batch {max(batches - 1, 0)}"
        else:
            where = "batch 0" if batches <= 1 else f"batches 0-{batches - 1}"
        if info["batches"] == 0:
            return []
        return judge_state(vector, self.expect, self.feature or self.name, where,
                           HINTS.get(self.method), str(self.compute_dtype))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({
            "params": self.params.to_dict(), "stats": self.stats_summary,
            "method": self.method, "channel_axis": self.channel_axis, "check": self.check,
            "tolerance": self.tolerance, "return_check": self.return_check,
            "feature": self.feature, "strategy": self.strategy,
            "expect": self.expect.model_dump(mode="json", exclude_none=True)
            if self._expect_given else None,
        })
        return config
