"""Read one PNG, JPEG, BMP or GIF image into an HWC array with Pillow, within the limits.

The file is opened once; Pillow reads the header first, so an image that
declares more pixels than Pillow's decompression-bomb limit
(``PIL.Image.MAX_IMAGE_PIXELS``) or than ``Limits`` allow is refused as
``too_large`` before any pixel is decoded. Zero-byte, unidentifiable and
truncated files raise :class:`DataError` with the reason (``unreadable``).
The channel count is kept as stored (grayscale stays 1 channel, RGBA 4), so
a folder mixing grayscale and colour is a finding, not a silent conversion.
A GIF is read at its first frame, as ``keras.utils.image_dataset_from_directory`` does.
"""

from __future__ import annotations

import io
import os
import warnings
from typing import IO

import numpy as np

from datacheck.errors import DataError, require
from datacheck.readers.gate import file_size, open_file
from datacheck.readers.guards import Limits, TooLargeError, active_limits, check_declared
from datacheck.readers.registry import suffixes

#: Suffixes of the formats ``keras.utils.image_dataset_from_directory`` reads.
IMAGE_SUFFIXES: tuple[str, ...] = suffixes("images")

#: Pillow modes converted before the array is made (palette, bilevel, print colour spaces).
_CONVERT = {"1": "L", "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB",
            "PA": "RGBA", "La": "LA", "RGBa": "RGBA"}
_RE_EXPORT = "Re-export or re-download the file, or remove it from the folder."


def read_image(path: str | os.PathLike[str], limits: Limits | None = None,
               source: str | None = None) -> np.ndarray:
    """The image at ``path`` as an (H, W, C) array in its stored dtype (uint8 for 8-bit).

    >>> read_image("cats/001.png").shape  # doctest: +SKIP
    (180, 240, 3)
    """
    limits = limits or active_limits()
    name = source or os.fspath(path)
    # Through the gate: one descriptor, a regular file (a FIFO or device is refused at once).
    with open_file(path, label=name) as handle:
        if file_size(handle) == 0:
            raise DataError(f"{name}: unreadable: zero-byte file (an interrupted copy or "
                            f"download). {_RE_EXPORT}")
        return _decode(handle, limits, name)


def decode_image(data: bytes, limits: Limits | None = None, source: str = "<bytes>") -> np.ndarray:
    """Encoded image bytes (a TFRecord's image/encoded) as an (H, W, C) array, same guards."""
    if not data:
        raise DataError(f"{source}: unreadable: zero bytes of image data.")
    return _decode(io.BytesIO(data), limits or active_limits(), source)


def _decode(handle: IO[bytes], limits: Limits, name: str) -> np.ndarray:
    require("PIL", "images", "Reading image files")
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1x and 2x its limit: refuse from 1x.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(handle)
            width, height = image.size
            bands = len(image.getbands())
            check_declared(name, (height, width, bands), 1, limits,
                           "Check the file, or raise max_bytes/max_voxels in the schema.")
            image.seek(0)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooLargeError(
            f"{name}: too_large: {exc} Refused before decoding; if the image is genuine, "
            "raise PIL.Image.MAX_IMAGE_PIXELS.") from None
    except UnidentifiedImageError:
        raise DataError(f"{name}: unreadable: not a PNG, JPEG, BMP or GIF image that "
                        f"Pillow can identify (wrong extension or corrupt header). "
                        f"{_RE_EXPORT}") from None
    except TooLargeError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        # Truncated data ("image file is truncated"), broken chunks (PNG CRC), bad codes.
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{name}: unreadable: {reason}. {_RE_EXPORT}") from None
    return _to_array(image)


def _to_array(image: object) -> np.ndarray:
    from PIL import Image

    assert isinstance(image, Image.Image)
    mode = image.mode
    if mode == "P":
        mode = "RGBA" if "transparency" in image.info else "RGB"
    target = _CONVERT.get(mode, mode)
    if target != image.mode:
        image = image.convert(target)
    array = np.asarray(image)
    if mode.startswith("I;16"):
        array = array.astype(np.uint16)
    return array[..., None] if array.ndim == 2 else array


def to_feature_scale(array: np.ndarray, normalization: str | None,
                     value_range: tuple[float, float] | None) -> np.ndarray:
    """Pixels scaled as the schema declares: [0, 1] floats for unit, [-1, 1] for symmetric.

    Anything else (raw_uint8, no declaration, another range) keeps the stored values.
    """
    if array.dtype.kind not in "ui":
        return array
    top = float(np.iinfo(array.dtype).max) if array.dtype.itemsize <= 2 else 255.0
    if normalization == "unit" or (normalization is None and value_range == (0.0, 1.0)):
        return (array / np.float32(top)).astype(np.float32)
    if normalization == "symmetric" or (normalization is None and value_range == (-1.0, 1.0)):
        return (array / np.float32(top / 2) - 1).astype(np.float32)
    return array
