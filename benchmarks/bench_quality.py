"""Per-image quality rules on planted faults: found/planted, false positives, seconds.

Builds, from real images that scikit-learn ships, a clean and a planted
variant of two sources and checks them as image folders (PNG files in class
subfolders, read back through ``datacheck check``'s scan), so every image
is its own input and every finding names it:

- digits: ``load_digits()`` (8x8 grayscale), planted dark (x0.08), blurred
  (Gaussian sigma 2 px) and blank (constant) images;
- photos: 96x96 tiles (stride 48) of ``load_sample_images()`` (china.jpg,
  flower.jpg), planted dark (x0.08), blurred (Gaussian sigma 2 px), blank and
  saturated (x4, clipped) images.

Each fault is planted into ``--fraction`` of the elements (different
elements per fault; blur only into images with detail, intensity std >= 0.05,
and saturation only into images at least half of whose values reach 0.25,
where the fault shows). Targets (issue 17): >= 90% of planted faults found and
<= 1% false positives on the clean variant, with the schema's default
``quality:`` thresholds.

    python benchmarks/bench_quality.py            # full sizes
    python benchmarks/bench_quality.py --quick    # tiny sizes (smoke test)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: The codes that count as finding each planted fault.
EXPECTED = {"dark": {"dark"}, "blurred": {"blurry"}, "blank": {"low_information", "constant"},
            "saturated": {"saturated"}}
QUALITY_CODES = {"dark", "bright", "low_information", "blurry", "saturated", "constant"}
RECALL_TARGET, FP_TARGET = 0.90, 0.01


def digits(n: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.images[:n, ..., None] / 16.0).astype(np.float32), data.target[:n]


def photo_tiles(n: int, size: int = 96, stride: int = 48) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_sample_images

    tiles, labels = [], []
    for label, image in enumerate(load_sample_images().images):
        for i in range(0, image.shape[0] - size + 1, stride):
            for j in range(0, image.shape[1] - size + 1, stride):
                tiles.append(image[i:i + size, j:j + size])
                labels.append(label)
    order = np.random.default_rng(0).permutation(len(tiles))[:n]
    return (np.stack(tiles)[order] / 255.0).astype(np.float32), np.asarray(labels)[order]


def plant(x: np.ndarray, faults: list[str], fraction: float, sigma: float,
          seed: int) -> tuple[np.ndarray, dict[int, str]]:
    """A copy of ``x`` with each fault planted into ``fraction`` of distinct elements."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    out = x.copy()
    per_fault = max(1, round(fraction * len(x)))
    order = rng.permutation(len(x))
    planted: dict[int, str] = {}
    taken: set[int] = set()
    for fault in faults:
        # A fault goes only where it shows: blurring a flat sky tile or overexposing a black
        # background changes nothing, and is no fault to find.
        eligible = [int(i) for i in order if int(i) not in taken and _shows(x[i], fault)]
        for i in eligible[:per_fault]:
            taken.add(i)
            if fault == "dark":
                out[i] = x[i] * 0.08
            elif fault == "blurred":
                out[i] = gaussian_filter(x[i], sigma=(sigma, sigma, 0))
            elif fault == "blank":
                out[i] = float(x[i].mean())
            elif fault == "saturated":
                out[i] = np.clip(x[i] * 4.0, 0.0, 1.0)
            planted[int(i)] = fault
    return out, planted


def _shows(image: np.ndarray, fault: str) -> bool:
    gray = image.mean(axis=-1)
    if fault == "blurred":
        return bool(gray.std() >= 0.05)
    if fault == "saturated":
        return bool((image >= 0.25).mean() >= 0.5)
    return True


def write_folder(root: Path, x: np.ndarray, y: np.ndarray) -> list[Path]:
    from PIL import Image

    paths = []
    for i, (image, label) in enumerate(zip(x, y, strict=True)):
        folder = root / f"class_{int(label)}"
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.round(image * 255).clip(0, 255).astype(np.uint8)
        path = folder / f"{i:05d}.png"
        Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(path)
        paths.append(path)
    return paths


def flagged(root: Path, paths: list[Path], channels: int) -> tuple[dict[int, set[str]], float,
                                                                   dict[str, int]]:
    """Quality codes found per element index, seconds, and the report's input counts."""
    from datacheck.scan.paths import check_paths
    from datacheck.schema.model import Feature, Label, Schema
    from datacheck.schema.quality import QualitySpec

    schema = Schema(name="quality-bench", features={"image": Feature(
        layout="HWC", channels=channels, normalization="unit", quality=QualitySpec())},
        labels={"label": Label()})
    start = time.perf_counter()
    report = check_paths([root], schema)
    seconds = time.perf_counter() - start
    index = {str(p): i for i, p in enumerate(paths)}
    found: dict[int, set[str]] = {}
    for v in report.violations:
        if v.code in QUALITY_CODES and v.input in index:
            found.setdefault(index[v.input], set()).add(v.code)
    return found, seconds, report.counts()


def run(n_digits: int, n_tiles: int, fraction: float, seed: int) -> list[str]:
    sources = [("digits", *digits(n_digits), ["dark", "blurred", "blank"], 2.0),
               ("photos", *photo_tiles(n_tiles), ["dark", "blurred", "blank", "saturated"], 2.0)]
    rows = [f"{'source':8} {'variant':8} {'fault':10} {'found':>7} {'planted':>7} {'rate':>7} "
            f"{'seconds':>8}"]
    verdicts = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, x, y, faults, sigma in sources:
            clean_root = Path(tmp) / f"{name}-clean"
            paths = write_folder(clean_root, x, y)
            found, seconds, counts = flagged(clean_root, paths, x.shape[-1])
            assert counts["total"] == len(paths), counts  # every file accounted for
            fp = len(found) / len(x)
            rows.append(f"{name:8} {'clean':8} {'(false +)':10} {len(found):7d} {len(x):7d} "
                        f"{fp:7.1%} {seconds:8.2f}")
            verdicts.append(f"{name}: false positives on clean {fp:.1%} (target <= "
                            f"{FP_TARGET:.0%}): {'met' if fp <= FP_TARGET else 'MISSED'}")
            planted_x, planted = plant(x, faults, fraction, sigma, seed)
            planted_root = Path(tmp) / f"{name}-planted"
            paths = write_folder(planted_root, planted_x, y)
            found, seconds, counts = flagged(planted_root, paths, x.shape[-1])
            assert counts["total"] == len(paths), counts
            hits_all = 0
            for fault in faults:
                idx = [i for i, f in planted.items() if f == fault]
                hits = sum(bool(found.get(i, set()) & EXPECTED[fault]) for i in idx)
                hits_all += hits
                rows.append(f"{name:8} {'planted':8} {fault:10} {hits:7d} {len(idx):7d} "
                            f"{hits / len(idx):7.1%} {seconds:8.2f}")
            extra = sum(1 for i in found if i not in planted)
            rows.append(f"{name:8} {'planted':8} {'(false +)':10} {extra:7d} "
                        f"{len(x) - len(planted):7d} {extra / (len(x) - len(planted)):7.1%} "
                        f"{seconds:8.2f}")
            recall = hits_all / len(planted)
            met = "met" if recall >= RECALL_TARGET else "MISSED"
            verdicts.append(f"{name}: found {hits_all}/{len(planted)} = {recall:.1%} (target >= "
                            f"{RECALL_TARGET:.0%}): {met}")
    return [*rows, "", *verdicts]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=1797, help="digits to use (max 1797)")
    parser.add_argument("--tiles", type=int, default=168, help="photo tiles to use (max 168)")
    parser.add_argument("--fraction", type=float, default=0.05,
                        help="fraction of elements planted with each fault")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    args = parser.parse_args(argv)
    if not 0 < args.fraction <= 0.2:
        parser.error("--fraction must be in (0, 0.2]")
    if args.quick:
        args.digits, args.tiles = 120, 60
    start = time.perf_counter()
    for line in run(args.digits, args.tiles, args.fraction, args.seed):
        print(line)
    size = "quick sizes" if args.quick else "sizes"
    print(f"\n{size}: {args.digits} digits, {args.tiles} photo tiles, "
          f"{args.fraction:.0%} planted per fault; total {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
