"""Offline scan of a folder of .nii.gz volumes: validation overhead and worker scaling.

Writes T1-like int16 volumes (a bright ellipsoid with texture and noise on a
dark background, RAS 1 mm, gzip level 1 like nibabel) to a temporary
folder, then times side by side, in alternating order, medians of repeats:

- nibabel load-only: ``np.asanyarray(nib.load(p).dataobj)`` (the same array
  datacheck reads) and ``get_fdata(dtype=float32)`` (what loaders often do);
- datacheck's reader alone (header guard, capped inflation, no judging);
- ``datacheck`` scan with 1 worker (in process): header guard, header rules
  (orientation, spacing, affine, dtype), voxel summary and judge, report;
- ``datacheck`` scan with 2 worker processes, cold (pool start included) and
  warm (forkserver already running).

Prints the ratios: scan / load (target <= 1.10) and 1 worker / 2 workers
(target >= 1.8 on 2 free cores). Usage:

    python benchmarks/bench_nifti_scan.py            # 12 volumes of 256x256x180 (~1 min idle)
    python benchmarks/bench_nifti_scan.py --quick    # 8 volumes of 160x160x120
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def write_volumes(folder: Path, count: int, shape: tuple[int, int, int]) -> list[Path]:
    import nibabel as nib

    rng = np.random.default_rng(0)
    d, h, w = shape
    z, y, x = np.ogrid[-1:1:d * 1j, -1:1:h * 1j, -1:1:w * 1j]
    brain = (z**2 / 0.8 + y**2 / 0.9 + x**2 / 0.7) < 0.6
    texture = 600 + 200 * np.sin(8 * z) * np.cos(6 * y)
    paths = []
    for i in range(count):
        noise = rng.normal(0, 20, shape)
        volume = np.where(brain, texture + noise, np.abs(noise) / 6).astype(np.int16)
        img = nib.Nifti1Image(volume, np.eye(4))
        img.set_qform(np.eye(4), code=1)
        img.set_sform(np.eye(4), code=1)
        path = folder / f"sub-{i:03d}_T1w.nii.gz"
        nib.save(img, path)
        paths.append(path)
    return paths


def timed(fn: Callable[[], object], cpu: list[float] | None = None) -> float:
    """Wall seconds of fn(); appends this process's CPU seconds to ``cpu`` when given."""
    start, start_cpu = time.perf_counter(), time.process_time()
    fn()
    if cpu is not None:
        cpu.append(time.process_time() - start_cpu)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 smaller volumes")
    parser.add_argument("--files", type=int, help="number of volumes")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    count = args.files or (8 if args.quick else 12)
    shape = (160, 160, 120) if args.quick else (256, 256, 180)

    import nibabel as nib

    from datacheck.readers.nifti import read_nifti
    from datacheck.scan import check_paths
    from datacheck.schema import load_schema

    schema = load_schema("brain_t1_nifti")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = write_volumes(folder, count, shape)
        mib = sum(p.stat().st_size for p in paths) / 2**20
        print(f"{count} volumes {'x'.join(map(str, shape))} int16, {mib:.0f} MiB gzipped; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")

        def load_raw() -> None:
            for p in paths:
                np.asanyarray(nib.load(p).dataobj)

        def load_fdata() -> None:
            for p in paths:
                nib.load(p).get_fdata(dtype=np.float32)

        def read_only() -> None:
            for p in paths:
                read_nifti(p)

        def scan(workers: int) -> Callable[[], None]:
            def run() -> None:
                report = check_paths([folder], schema, workers=workers)
                assert report.counts()["ok"] == count, report.to_text()
            return run

        cold = timed(scan(2))  # starts the forkserver: counted once, reported apart
        variants = {"nibabel dataobj": load_raw, "nibabel get_fdata(float32)": load_fdata,
                    "datacheck reader only": read_only, "datacheck 1 worker": scan(1),
                    "datacheck 2 workers": scan(2)}
        times: dict[str, list[float]] = {name: [] for name in variants}
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        for repeat in range(args.repeats):
            order = list(variants) if repeat % 2 == 0 else list(reversed(variants))
            for name in order:
                times[name].append(timed(variants[name], cpu[name]))
        load = os.getloadavg()[0]
    med = {name: statistics.median(values) for name, values in times.items()}
    cpu_med = {name: statistics.median(values) for name, values in cpu.items()}
    for name, value in med.items():
        own = "" if name.endswith("workers") else f", CPU {cpu_med[name]:5.2f} s"
        print(f"  {name:28s} {value:7.2f} s  ({value / count * 1000:6.0f} ms/volume{own})")
    print(f"  {'datacheck 2 workers, cold':28s} {cold:7.2f} s  (pool start included)")
    one, two = med["datacheck 1 worker"], med["datacheck 2 workers"]
    print(f"validation overhead vs nibabel dataobj:   {one / med['nibabel dataobj']:.3f}x wall, "
          f"{cpu_med['datacheck 1 worker'] / cpu_med['nibabel dataobj']:.3f}x CPU "
          "(target <= 1.10)")
    print(f"validation overhead vs get_fdata(float32): "
          f"{one / med['nibabel get_fdata(float32)']:.3f}x")
    read = "datacheck reader only"
    print(f"validation alone (scan / datacheck's own reading): {one / med[read]:.3f}x wall, "
          f"{cpu_med['datacheck 1 worker'] / cpu_med[read]:.3f}x CPU; datacheck's reader vs "
          f"nibabel dataobj: {cpu_med[read] / cpu_med['nibabel dataobj']:.3f}x CPU")
    print(f"2 workers vs 1 worker: {one / two:.2f}x warm, {one / cold:.2f}x cold "
          f"(target >= 1.8 on 2 free cores; load average at the end {load:.1f})")


if __name__ == "__main__":
    main()
