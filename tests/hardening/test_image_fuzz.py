"""Fuzz the image reader through the public ``dc.check(path, schema)``.

Seeds are a real photo tile (scikit-learn's china.jpg) saved as PNG, JPEG,
GIF and BMP with Pillow, mutated byte by byte and cut short. Every file must
end in the report as ok / violating / unreadable with a datacheck reason, never
a crash and never a raw exception name as the reason (``targets.reader_file``).
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datacheck.schema.model import Feature, Schema
from datacheck.schema.quality import QualitySpec
from tests.hardening import targets

Image = pytest.importorskip("PIL.Image")

FOLDER = Path(tempfile.mkdtemp(prefix="datacheck-image-fuzz-"))
SCHEMA = Schema(name="photos", features={"image": Feature(
    layout="HWC", normalization="unit", quality=QualitySpec())})


def _seeds() -> dict[str, bytes]:
    from sklearn.datasets import load_sample_images

    tile = load_sample_images().images[0][100:132, 200:232]
    out = {}
    for fmt, suffix in (("PNG", ".png"), ("JPEG", ".jpg"), ("GIF", ".gif"), ("BMP", ".bmp")):
        buffer = io.BytesIO()
        Image.fromarray(tile).save(buffer, format=fmt)
        out[suffix] = buffer.getvalue()
    return out


SEEDS = _seeds()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(suffix=st.sampled_from(sorted(SEEDS)),
       edits=st.lists(st.tuples(st.integers(0, 1 << 12), st.binary(min_size=1, max_size=4)),
                      max_size=4),
       cut=st.none() | st.integers(0, 1 << 12))
def test_mutated_images_end_in_the_report_with_a_reason(suffix, edits, cut) -> None:
    data = bytearray(SEEDS[suffix])
    for at, patch in edits:
        at %= len(data)
        data[at:at + len(patch)] = patch
    if cut is not None:
        data = data[:cut % (len(data) + 1)]
    path = FOLDER / f"case{suffix}"
    path.write_bytes(bytes(data))
    targets.reader_file(path, SCHEMA)
