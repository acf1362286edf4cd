"""Count, mean and M2 merged by Chan et al.'s parallel algorithm.

Works elementwise on numpy arrays, so the same code merges a scalar summary
and a per-channel one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Moments:
    """Streaming first and second moments; ``merge`` is associative.

    >>> a = Moments.of(np.array([1.0, 2.0])); b = Moments.of(np.array([3.0]))
    >>> float(a.merge(b).mean)
    2.0
    """

    count: np.ndarray
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def empty(cls, shape: tuple[int, ...] = ()) -> Moments:
        zeros = np.zeros(shape, dtype=np.float64)
        return cls(zeros.copy(), zeros.copy(), zeros.copy())

    @classmethod
    def of(cls, values: np.ndarray, axis: int | tuple[int, ...] | None = None,
           all_finite: bool = False) -> Moments:
        """Moments of finite values (non-finite values are counted elsewhere).

        ``all_finite``: the caller has counted no NaN or infinity, so the three
        passes that mask them out are skipped (masking nothing changes no value:
        the results are the same). collect mode summarizes every batch this way.

        >>> x = np.array([[1.0, 2.0], [3.0, 5.0]])
        >>> [float(Moments.of(x, all_finite=True).m2), float(Moments.of(x).m2)]
        [8.75, 8.75]
        >>> Moments.of(x, axis=0, all_finite=True).count.tolist()
        [2.0, 2.0]
        """
        values = np.asarray(values, dtype=np.float64)
        if all_finite:
            total = values.sum(axis=axis, keepdims=True)
            count = np.full(total.shape, values.size // max(total.size, 1), dtype=np.float64)
            mean = total / np.maximum(count, 1)
            centred = values - mean
        else:
            finite = np.isfinite(values)
            count = finite.sum(axis=axis, keepdims=True).astype(np.float64)
            safe = np.where(finite, values, 0.0)
            mean = safe.sum(axis=axis, keepdims=True) / np.maximum(count, 1)
            centred = np.where(finite, values - mean, 0.0)
        m2 = (centred * centred).sum(axis=axis, keepdims=True)
        count, mean, m2 = (np.squeeze(a, axis=axis) if axis is not None else a.reshape(())
                           for a in (count, mean, m2))
        return cls(np.asarray(count), np.asarray(mean), np.asarray(m2))

    def merge(self, other: Moments) -> Moments:
        count = self.count + other.count
        safe = np.maximum(count, 1)
        delta = other.mean - self.mean
        mean = np.where(count > 0, self.mean + delta * other.count / safe, 0.0)
        m2 = self.m2 + other.m2 + delta * delta * self.count * other.count / safe
        return Moments(count, mean, m2)

    @property
    def variance(self) -> np.ndarray:
        return np.where(self.count > 0, self.m2 / np.maximum(self.count, 1), np.nan)

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.variance)
