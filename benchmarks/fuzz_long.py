"""Long fuzz runs of the schema parser and the NIfTI / HDF5 / .npz / manifest readers.

    python benchmarks/fuzz_long.py                      # every target, about 100 s in all
    python benchmarks/fuzz_long.py --quick              # about 25 s
    python benchmarks/fuzz_long.py --target nifti --seconds 600
    python benchmarks/fuzz_long.py --engine hypothesis  # without atheris

With atheris (``pip install 'datacheck[fuzz]'``) each target runs in its own
process under libFuzzer with coverage of the datacheck package, seeded with
real files (nibabel's test data, h5py and numpy files of scikit-learn's
digits, the bundled schemas); otherwise the CI hypothesis tests run in a loop
for the same time. The oracle is tests/hardening/targets.py: a crash is any
escape other than a DatacheckError, or a report entry without a datacheck
reason; known, routed crash classes are counted, not stopped on. Crashing
inputs land in benchmarks/_data/fuzz/<target>/.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "_data" / "fuzz"
TARGETS = ("schema", "nifti", "hdf5", "npz", "manifest")
#: Share of the time budget per target (schema parsing is cheapest per case).
SHARE = {"schema": 0.3, "nifti": 0.2, "hdf5": 0.2, "npz": 0.1, "manifest": 0.2}
SUFFIX = {"nifti": ".nii", "hdf5": ".h5", "npz": ".npz", "manifest": ".csv"}
SCHEMA = {"nifti": "brain_t1_nifti", "hdf5": "digits", "npz": "digits",
          "manifest": "brain_t1_nifti"}


# -- seeds ---------------------------------------------------------------------------------
def seeds(target: str) -> list[bytes]:
    """Real files to start mutating from."""
    import numpy as np

    if target == "schema":
        from importlib import resources

        import datacheck as dc

        root = resources.files("datacheck.schemas")
        return [b"\x00" + root.joinpath(f"{n}.yaml").read_bytes()
                for n in dc.schema.bundled_names()]
    if target == "nifti":
        import nibabel

        data = Path(nibabel.__file__).parent / "tests" / "data"
        out = []
        for name in ("anatomical.nii", "functional.nii", "standard.nii.gz", "example4d.nii.gz"):
            raw = (data / name).read_bytes()
            out.append(b"\x00" + (gzip.decompress(raw) if name.endswith(".gz") else raw))
        return out
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images[:64, ..., None] / 16.0).astype("float32")
    y = bunch.target[:64]
    buffer = io.BytesIO()
    if target == "hdf5":
        import h5py

        with h5py.File(buffer, "w") as handle:
            handle.create_dataset("image", data=x, chunks=(16, 8, 8, 1), compression="gzip")
            handle["label"] = y
        return [buffer.getvalue()]
    if target == "npz":
        np.savez_compressed(buffer, image=x, label=y)
        return [buffer.getvalue()]
    return [b"id,subject,split,image,mask,label\n1,s1,train,sub/a.nii.gz,,0\n"
            b"2,s2,val,../b.nii.gz,sub/a.nii.gz,1\n"]


# -- one input ---------------------------------------------------------------------------
class Runner:
    """Feeds one input to a target through the shared oracle; counts cases and known crashes."""

    def __init__(self, target: str, folder: Path) -> None:
        from tests.hardening import targets

        self.targets = targets
        self.target = target
        self.folder = folder
        self.cases = 0
        if target == "manifest":
            import nibabel

            sub = folder / "sub"
            sub.mkdir(exist_ok=True)
            data = Path(nibabel.__file__).parent / "tests" / "data" / "standard.nii.gz"
            (sub / "a.nii.gz").write_bytes(data.read_bytes())

    def __call__(self, data: bytes) -> None:
        self.cases += 1
        if self.target == "schema":
            self.targets.schema_bytes(data)
            return
        suffix = SUFFIX[self.target]
        if self.target == "nifti" and data[:1] and data[0] & 1:
            suffix, data = ".nii.gz", gzip.compress(data[1:], compresslevel=1)
        elif self.target == "nifti":
            data = data[1:]
        path = self.folder / f"case{suffix}"
        path.write_bytes(data)
        self.targets.reader_file(path, SCHEMA[self.target])

    def stats(self) -> dict[str, Any]:
        return {"target": self.target, "cases": self.cases, "known": dict(self.targets.KNOWN)}


# -- engines -----------------------------------------------------------------------------
def run_atheris(target: str, seconds: int) -> dict[str, Any]:
    """Run one target under libFuzzer in a child process (libFuzzer exits when done)."""
    crashes = OUT / target
    crashes.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for i, seed in enumerate(seeds(target)):
            (corpus / f"seed{i}").write_bytes(seed)
        stats = Path(tmp) / "stats.json"
        cmd = [sys.executable, __file__, "--child", target, "--stats", str(stats),
               f"-max_total_time={seconds}", f"-artifact_prefix={crashes}/", "-rss_limit_mb=4096",
               "-timeout=20", "-print_final_stats=1", str(corpus)]
        started = time.monotonic()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO,
                              timeout=seconds + 300)
        elapsed = time.monotonic() - started
        result = json.loads(stats.read_text()) if stats.exists() else {"target": target}
    crashed = done.returncode != 0
    result.update({"engine": "atheris", "seconds": round(elapsed, 1), "crashed": crashed})
    if crashed:
        result["crash_log"] = (done.stdout + done.stderr)[-3000:]
    return result


def child(target: str, stats: str, argv: list[str]) -> None:
    """Inside the libFuzzer process: instrument datacheck, then fuzz until the time is up."""
    import atheris

    sys.path.insert(0, str(REPO))
    with atheris.instrument_imports(include=["datacheck"]):
        import datacheck  # noqa: F401
    folder = Path(tempfile.mkdtemp(prefix=f"datacheck-fuzz-{target}-"))
    runner = Runner(target, folder)
    last = [time.monotonic()]

    def one_input(data: bytes) -> None:
        runner(data)
        if runner.cases % 200 == 0 or time.monotonic() - last[0] > 5:
            # libFuzzer exits without Python's atexit: keep the stats file current.
            Path(stats).write_text(json.dumps(runner.stats()))
            last[0] = time.monotonic()

    atheris.Setup([sys.argv[0], *argv], one_input)
    atheris.Fuzz()


def run_hypothesis(target: str, seconds: int) -> dict[str, Any]:
    """Loop the CI fuzz tests of this target (fresh examples each round) for ``seconds``."""
    sys.path.insert(0, str(REPO))
    import pytest

    files = {"schema": "test_schema_fuzz.py", "nifti": "test_reader_fuzz.py",
             "hdf5": "test_reader_fuzz.py", "npz": "test_reader_fuzz.py",
             "manifest": "test_reader_fuzz.py"}
    select = {"schema": "not nested and not huge and not alias and not overlong and not tags",
              "nifti": "nifti", "hdf5": "hdf5", "npz": "npz", "manifest": "fuzzed_manifests"}
    from tests.hardening import targets

    before = sum(targets.CASES.values())
    started = time.monotonic()
    rounds, failed = 0, False
    while time.monotonic() - started < seconds:
        code = pytest.main(["-q", "-p", "no:cacheprovider", "-x", "-k", select[target],
                            str(REPO / "tests" / "hardening" / files[target])])
        rounds += 1
        if code not in (0, 5):
            failed = True
            break
    return {"target": target, "engine": "hypothesis", "rounds": rounds,
            "cases": sum(targets.CASES.values()) - before, "known": dict(targets.KNOWN),
            "seconds": round(time.monotonic() - started, 1), "crashed": failed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=(*TARGETS, "all"), default="all")
    parser.add_argument("--seconds", type=int, default=100, help="total budget (default 100)")
    parser.add_argument("--quick", action="store_true", help="25 s in all")
    parser.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--stats", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.child:
        child(args.child, args.stats, rest)
        return 0
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "hypothesis"
    total = 25 if args.quick else args.seconds
    chosen = TARGETS if args.target == "all" else (args.target,)
    results = []
    for target in chosen:
        budget = max(5, round(total * (SHARE[target] if len(chosen) > 1 else 1.0)))
        run = run_atheris if engine == "atheris" else run_hypothesis
        result = run(target, budget)
        results.append(result)
        rate = result.get("cases", 0) / max(result["seconds"], 1e-9)
        print(f"{target:9s} {engine:10s} {result.get('cases', 0):>8,} cases in "
              f"{result['seconds']:>6.1f} s ({rate:,.0f}/s)  "
              f"{'CRASH' if result['crashed'] else 'no new crash'}", flush=True)
        for name, count in sorted(result.get("known", {}).items()):
            print(f"          known (routed): {count}x {name}")
        if result["crashed"] and "crash_log" in result:
            print(result["crash_log"])
    cases = sum(r.get("cases", 0) for r in results)
    seconds = sum(r["seconds"] for r in results)
    crashed = [r["target"] for r in results if r["crashed"]]
    print(f"total: {cases:,} cases in {seconds:.0f} s; new crashes: "
          f"{', '.join(crashed) or 'none'}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
