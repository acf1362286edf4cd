"""A realistic training input pipeline, with and without ``dc.validate``, side by side.

TFRecord files of JPEG- and PNG-encoded real photo tiles (scikit-learn's two
sample photos cut into 64x64 tiles, written once to a temporary folder) ->
``TFRecordDataset -> parse -> decode -> random crop + flip -> /255 -> batch ->
prefetch``, 100 batches per epoch. Variants: ``plain``, ``raise`` and ``drop``
(``dc.validate`` after ``batch``). Then ``model.fit`` with and without the
validated stage, 25 steps per epoch.

Ratios are medians of per-round ratios (variants timed back to back in one
run, alternating order, each round a fresh iterator), so machine noise that
lasts longer than a round cancels out. Targets (issue: training pipelines):
validated >= 0.97x the plain throughput in raise and drop mode, and
``model.fit`` with validation <= 1.03x without.

    python benchmarks/bench_training.py            # 100 batches of 32, 7 rounds
    python benchmarks/bench_training.py --quick    # smoke run (< 1 minute)
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

import datacheck as dc

TILE = 64
CROP = 56
SCHEMA = {
    "name": "photo-tiles",
    "features": {"image": {"layout": "HWC", "shape": [CROP, CROP, 3], "dtype": "float32",
                           "range": [0, 1], "normalization": "unit"}},
    "labels": {"label": {"encoding": "sparse", "num_classes": 2, "dtype": "integer"}},
}


def write_records(folder: Path, copies: int) -> list[str]:
    """TFRecord shards of JPEG and PNG tiles of the two sample photos (label = which photo)."""
    from sklearn.datasets import load_sample_images

    paths = []
    for label, photo in enumerate(load_sample_images().images):
        tiles = [photo[r:r + TILE, c:c + TILE]
                 for r in range(0, photo.shape[0] - TILE + 1, TILE)
                 for c in range(0, photo.shape[1] - TILE + 1, TILE)]
        path = folder / f"photo{label}.tfrecord"
        with tf.io.TFRecordWriter(str(path)) as writer:
            for index, tile in enumerate(tiles * copies):
                encode = tf.io.encode_png if index % 2 else tf.io.encode_jpeg
                example = tf.train.Example(features=tf.train.Features(feature={
                    "image": tf.train.Feature(bytes_list=tf.train.BytesList(
                        value=[encode(tile).numpy()])),
                    "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))}))
                writer.write(example.SerializeToString())
        paths.append(str(path))
    return paths


def pipeline(paths: list[str], batch: int, batches: int) -> tf.data.Dataset:
    spec = {"image": tf.io.FixedLenFeature([], tf.string),
            "label": tf.io.FixedLenFeature([], tf.int64)}

    def parse(record: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        example = tf.io.parse_single_example(record, spec)
        image = tf.io.decode_image(example["image"], channels=3, expand_animations=False)
        image = tf.image.random_crop(image, [CROP, CROP, 3])
        image = tf.image.random_flip_left_right(image)
        return tf.cast(image, tf.float32) / 255.0, example["label"]

    files = tf.data.Dataset.from_tensor_slices(paths)
    records = files.interleave(tf.data.TFRecordDataset, cycle_length=len(paths),
                               num_parallel_calls=tf.data.AUTOTUNE)
    return (records.shuffle(1024, seed=0).repeat()
            .map(parse, num_parallel_calls=tf.data.AUTOTUNE).batch(batch).take(batches))


def epoch_seconds(dataset: tf.data.Dataset) -> float:
    start = time.perf_counter()
    for _ in dataset:
        pass
    return time.perf_counter() - start


def paired(base: tf.data.Dataset, other: tf.data.Dataset, rounds: int) -> tuple[float, float]:
    """Median and spread (min-max) of other/base epoch times over paired rounds."""
    ratios = []
    for index in range(rounds):
        first, second = (base, other) if index % 2 == 0 else (other, base)
        a, b = epoch_seconds(first), epoch_seconds(second)
        plain, checked = (a, b) if index % 2 == 0 else (b, a)
        ratios.append(checked / plain)
    return statistics.median(ratios), max(ratios) - min(ratios)


def fit_seconds(dataset: tf.data.Dataset, epochs: int) -> float:
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((CROP, CROP, 3)), keras.layers.Conv2D(8, 3, 2),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(dataset, epochs=1, steps_per_epoch=2, verbose=0)  # build and trace once
    start = time.perf_counter()
    model.fit(dataset, epochs=epochs, verbose=0)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    batches, batch, rounds, copies = (10, 16, 3, 1) if args.quick else (100, 32, 7, 4)
    with tempfile.TemporaryDirectory() as folder:
        paths = write_records(Path(folder), copies)
        plain = pipeline(paths, batch, batches)
        print(f"{batches} batches of {batch} per epoch, {rounds} paired rounds "
              "(throughput of validated / plain: >= 0.97 is the target)")
        for mode in ("raise", "drop"):
            checked = dc.validate(plain, SCHEMA, on_error=mode).prefetch(tf.data.AUTOTUNE)
            ratio, spread = paired(plain.prefetch(tf.data.AUTOTUNE), checked, rounds)
            print(f"  {mode:<6} time ratio {ratio:.3f} (spread {spread:.3f}) -> throughput "
                  f"{1 / ratio:.3f}x plain")
        steps = 25 if not args.quick else 5
        fit_plain = pipeline(paths, batch, steps).prefetch(tf.data.AUTOTUNE)
        fit_checked = dc.validate(pipeline(paths, batch, steps), SCHEMA).prefetch(
            tf.data.AUTOTUNE)
        epochs = 3 if args.quick else 5
        ratios = []
        for index in range(max(rounds // 2, 1)):
            order = (fit_plain, fit_checked) if index % 2 == 0 else (fit_checked, fit_plain)
            a, b = fit_seconds(order[0], epochs), fit_seconds(order[1], epochs)
            ratios.append(b / a if index % 2 == 0 else a / b)
        print(f"model.fit, {steps} steps x {epochs} epochs: validated / plain time "
              f"{statistics.median(ratios):.3f} (target <= 1.03; per-round {np.round(ratios, 3)})")


if __name__ == "__main__":
    main()
