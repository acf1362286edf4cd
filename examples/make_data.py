"""Write the bundled example files in examples/data/ from scikit-learn's real digits.

    python examples/make_data.py

digits_clean.npz passes the bundled `digits` schema; each other file carries one
bug that makes a CNN train to ~0% accuracy. Run `datacheck check --schema digits
examples/data/*.npz` to see each one caught.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

OUT = Path(__file__).parent / "data"


def main() -> None:
    bunch = load_digits()
    order = np.random.default_rng(0).permutation(len(bunch.target))
    x = (bunch.images[order, :, :, None] / 16.0).astype("float32")
    y = bunch.target[order].astype("int64")
    OUT.mkdir(exist_ok=True)
    variants = {
        "digits_clean": (x, y),
        "digits_pixels_0_255": ((x * 255).round().astype("float32"), y),
        "digits_string_labels": (x, np.array([str(v) for v in y])),
        "digits_one_hot_labels": (x, np.eye(10, dtype="float32")[y]),
        "digits_no_channel_axis": (x[..., 0], y),
        "digits_nchw": (np.transpose(x, (0, 3, 1, 2)), y),
        "digits_labels_1_based": (x, y + 1),
        "digits_sorted_by_class": (x[np.argsort(y, kind="stable")], np.sort(y, kind="stable")),
    }
    for name, (images, labels) in variants.items():
        np.savez_compressed(OUT / f"{name}.npz", image=images, label=labels)
        print(f"wrote {OUT / name}.npz")


if __name__ == "__main__":
    main()
