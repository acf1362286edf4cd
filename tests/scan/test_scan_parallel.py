"""The same scan serially, in worker processes and on a local Dask cluster gives one report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from datacheck.errors import DatacheckError
from datacheck.scan import check_paths
from datacheck.scan import on_dask as scan_on_dask
from datacheck.schema import load_schema

SCHEMA = load_schema({
    "name": "par",
    "features": {"volume": {"layout": "DHWC", "normalization": "zscore", "tolerance": 0.05}},
    "nifti": {"orientation": "RAS", "spacing": [1, 1, 1]},
    "pairs": {"labels": [0, 1], "required": False},
})


@pytest.fixture()
def folder(tmp_path: Path, write_nifti) -> Path:
    rng = np.random.default_rng(0)
    for i in range(6):
        write_nifti(f"v{i}.nii.gz", rng.normal(size=(10, 10, 10)).astype(np.float32))
    write_nifti("v0_mask.nii.gz", (rng.random((10, 10, 10)) > 0.5).astype(np.uint8))
    write_nifti("las.nii.gz", rng.normal(size=(10, 10, 10)).astype(np.float32),
                affine=np.diag([-1.0, 1, 1, 1]))
    write_nifti("shifted.nii.gz", (rng.normal(size=(10, 10, 10)) + 3).astype(np.float32))
    (tmp_path / "cut.nii.gz").write_bytes((tmp_path / "v1.nii.gz").read_bytes()[:100])
    return tmp_path


def same(a, b) -> None:
    assert a.inputs == b.inputs
    assert [v.to_dict() for v in a.violations] == [v.to_dict() for v in b.violations]
    assert a.summaries == b.summaries
    assert {k: v for k, v in a.stats.items() if k not in ("workers", "scheduler")} == \
        {k: v for k, v in b.stats.items() if k not in ("workers", "scheduler")}


def test_serial_reference(folder: Path) -> None:
    report = check_paths([folder], SCHEMA)
    assert report.counts() == {"ok": 8, "violating": 1, "unreadable": 1, "total": 10,
                               "skipped": 0}
    # shifted.nii.gz (+3) is also a per-scan intensity outlier among the 8 scans (issue 16)
    assert set(report.codes()) == {"unreadable", "orientation", "unnormalized", "outlier"}
    # The dataset rule sees every readable volume merged, not one file at a time.
    assert report.summaries["volume"]["elements"] == 8


def test_worker_processes_match_serial(folder: Path) -> None:
    same(check_paths([folder], SCHEMA, workers=2), check_paths([folder], SCHEMA))


@pytest.mark.slow
def test_dask_local_cluster_matches_serial(folder: Path) -> None:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None) as cluster:
        on_dask = check_paths([folder], SCHEMA, scheduler=cluster.scheduler_address)
    same(on_dask, check_paths([folder], SCHEMA))
    assert on_dask.stats["scheduler"].startswith("tcp://")


def test_unreachable_scheduler_is_a_usage_error(folder: Path, monkeypatch) -> None:
    monkeypatch.setattr(scan_on_dask, "CONNECT_TIMEOUT_S", 1)
    with pytest.raises(DatacheckError, match=r"cannot reach the Dask scheduler at "
                                             r"tcp://127\.0\.0\.1:9"):
        check_paths([folder], SCHEMA, scheduler="tcp://127.0.0.1:9")


def test_bad_worker_count(folder: Path) -> None:
    with pytest.raises(DatacheckError, match="workers must be >= 1"):
        check_paths([folder], SCHEMA, workers=0)
