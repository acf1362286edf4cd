"""Per-image quality statistics in graph (the twin of ``backends/numpy/quality.py``).

The same statistics as the numpy twin, built from one per-element histogram
(``tf.math.bincount`` over element-offset bin ids, so the cost is one pass
over the pixels, never pixels x bins) and slices for the Laplacian. They run
inside ``validate`` maps, so drop mode removes dark or blank images during
training. The dataset-relative ``blurry`` needs the whole dataset and is not
judged here: in graph ``quality.blurry_below`` (absolute) applies.
"""

from __future__ import annotations

import tensorflow as tf

from datacheck.backends.numpy.quality import BINS, ENTROPY_BINS, VAR_EPS


def image_stats(x: tf.Tensor, lo: float, hi: float, channel_axis: int | None,
                min_contrast: float) -> dict[str, tf.Tensor]:
    """Per-element statistics of a batch [N, ...] of 2D images, as float64 [N] tensors."""
    if channel_axis is not None and x.shape[channel_axis + 1] in (2, 4):
        # Alpha is opacity, not light: judge the colour (or gray) channels only.
        keep = x.shape[channel_axis + 1] - 1
        x = tf.gather(x, tf.range(keep), axis=channel_axis + 1)
    scaled = (tf.cast(x, tf.float32) - lo) / (hi - lo)
    n = tf.shape(scaled)[0]
    gray = tf.reduce_mean(scaled, axis=channel_axis + 1) if channel_axis is not None \
        else scaled
    flat = tf.reshape(gray, tf.stack([n, -1]))
    pixels = tf.cast(tf.maximum(tf.shape(flat)[1], 1), tf.float64)
    clean = tf.where(tf.math.is_nan(flat), tf.zeros_like(flat), flat)
    bins = tf.cast(tf.clip_by_value(clean * BINS, 0.0, BINS - 1.0), tf.int32)
    ids = bins + tf.range(n)[:, None] * BINS
    counts = tf.reshape(tf.math.bincount(tf.reshape(ids, [-1]), minlength=n * BINS,
                                         maxlength=n * BINS, dtype=tf.float64),
                        tf.stack([n, BINS]))
    cum = tf.cumsum(counts, axis=1) / pixels
    p95 = tf.cast(tf.argmax(tf.cast(cum >= 0.95, tf.int32), axis=1) + 1, tf.float64) / BINS
    p05 = tf.cast(tf.argmax(tf.cast(cum >= 0.05, tf.int32), axis=1), tf.float64) / BINS
    prob = tf.reduce_sum(tf.reshape(counts, tf.stack([n, ENTROPY_BINS, -1])), axis=2) / pixels
    safe = tf.where(prob > 0, prob, tf.ones_like(prob))
    bits = prob * tf.math.log(safe) / tf.math.log(tf.constant(2.0, tf.float64))
    entropy = tf.maximum(-tf.reduce_sum(bits, axis=1), tf.constant(0.0, tf.float64))
    flat64 = tf.cast(flat, tf.float64)
    var = tf.math.reduce_variance(flat64, axis=1)
    g = tf.cast(gray, tf.float64)
    lap = g[:, 1:-1, :-2] + g[:, 1:-1, 2:] + g[:, :-2, 1:-1] + g[:, 2:, 1:-1] - 4 * g[:, 1:-1, 1:-1]
    lap_var = tf.math.reduce_variance(tf.reshape(lap, tf.stack([n, -1])), axis=1)
    inf = tf.fill(tf.shape(var), tf.constant(float("inf"), tf.float64))
    big_enough = (tf.shape(g)[1] >= 3) & (tf.shape(g)[2] >= 3)
    sharp = tf.where(big_enough & (var >= min_contrast ** 2), lap_var / (var + VAR_EPS), inf)
    top = tf.reduce_mean(tf.cast(tf.reshape(scaled >= 1.0, tf.stack([n, -1])), tf.float64),
                         axis=1)
    return {"p95": p95, "p05": p05, "entropy": entropy, "sharpness": sharp, "saturated": top}
