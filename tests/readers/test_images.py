"""The image reader on real files written with Pillow: modes, and every way a file breaks."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datacheck.errors import DataError
from datacheck.readers.guards import Limits, TooLargeError
from datacheck.readers.images import read_image, to_feature_scale


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from sklearn.datasets import load_sample_images

    return load_sample_images().images[0][100:164, 200:264]  # a 64x64 tile of china.jpg


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height grayscale pixels but holds almost no data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))


@pytest.mark.parametrize(("suffix", "mode", "channels"), [
    (".png", "RGB", 3), (".jpg", "RGB", 3), (".bmp", "RGB", 3), (".png", "L", 1),
    (".png", "RGBA", 4), (".gif", "P", 3), (".png", "1", 1), (".jpeg", "L", 1),
])
def test_modes_keep_their_channel_count(tmp_path: Path, photo, suffix, mode, channels) -> None:
    path = tmp_path / f"tile{suffix}"
    Image.fromarray(photo).convert(mode).save(path)
    array = read_image(path)
    assert array.shape == (64, 64, channels)
    assert array.dtype == np.uint8


def test_png_round_trips_exactly(tmp_path: Path, photo) -> None:
    Image.fromarray(photo).save(tmp_path / "a.png")
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), photo)


def test_zero_byte_and_truncated_files_are_unreadable_with_the_reason(tmp_path: Path,
                                                                       photo) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"empty.png: unreadable: zero-byte file"):
        read_image(tmp_path / "empty.png", source="empty.png")
    Image.fromarray(photo).save(tmp_path / "full.jpg")
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut.jpg: unreadable: image file is truncated"):
        read_image(tmp_path / "cut.jpg", source="cut.jpg")
    (tmp_path / "text.png").write_bytes(b"not an image at all")
    with pytest.raises(DataError, match=r"text.png: unreadable: not a PNG, JPEG"):
        read_image(tmp_path / "text.png", source="text.png")


def test_decompression_bombs_are_too_large_before_decoding(tmp_path: Path) -> None:
    # Past Pillow's hard limit (2 x MAX_IMAGE_PIXELS) and between 1x and 2x (a warning there).
    for name, side in (("huge.png", 30000), ("big.png", 10000)):
        (tmp_path / name).write_bytes(png_header(side, side))
        with pytest.raises(TooLargeError, match=rf"{name}: too_large: .*decompression bomb"):
            read_image(tmp_path / name, source=name)


def test_limits_refuse_before_decoding(tmp_path: Path, photo) -> None:
    Image.fromarray(photo).save(tmp_path / "a.png")
    with pytest.raises(TooLargeError, match="too_large: header declares 64x64x3"):
        read_image(tmp_path / "a.png", Limits(max_voxels=1000), source="a.png")


def test_scaling_follows_the_declared_normalization(photo) -> None:
    unit = to_feature_scale(photo, "unit", (0.0, 1.0))
    assert unit.dtype == np.float32 and unit.max() <= 1.0 and unit.min() >= 0.0
    np.testing.assert_allclose(unit * 255, photo, atol=1e-3)
    symmetric = to_feature_scale(photo, "symmetric", (-1.0, 1.0))
    assert symmetric.min() >= -1.0 and symmetric.max() <= 1.0
    assert to_feature_scale(photo, "raw_uint8", (0.0, 255.0)) is photo
