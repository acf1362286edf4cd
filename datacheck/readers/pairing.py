"""Pairing images with their masks: the one function every entry point uses.

A mask belongs to an image when both files sit in the same folder and their
names, without the format suffix, agree on a key: ``NAME`` and
``NAME<mask_suffix>`` (``sub-01_T1w`` / ``sub-01_T1w_mask``), or the entities
of a BIDS-derivatives template pair (``sub-{subject}_desc-preproc_T1w`` with
``sub-{subject}_desc-brain_mask``). ``check`` (folders), ``infer`` and
``fit_stats`` pair this way; what to do with a mask without an image is the
caller's decision (``check`` refuses it, ``infer`` reads it as an image).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from datacheck.readers.registry import stem_of, suffixes

#: Key a file's stem is grouped under, and whether it is a mask; None: neither role.
Classifier = Callable[[str], tuple[bool, tuple[str, ...]] | None]


@dataclass
class Pairs:
    """Images with their masks (a duplicated mask, NAME_mask.nii and .nii.gz, is listed
    twice), masks without an image, and files that play neither role."""

    pairs: list[tuple[Path, list[Path]]] = field(default_factory=list)
    orphans: list[Path] = field(default_factory=list)
    other: list[Path] = field(default_factory=list)


def by_suffix(mask_suffix: str) -> Classifier:
    """``NAME`` is an image, ``NAME<mask_suffix>`` its mask.

    >>> by_suffix("_mask")("sub-01_mask"), by_suffix("_mask")("sub-01")
    ((True, ('sub-01',)), (False, ('sub-01',)))
    """
    def classify(stem: str) -> tuple[bool, tuple[str, ...]]:
        if mask_suffix and stem.endswith(mask_suffix):
            return True, (stem[: -len(mask_suffix)],)
        return False, (stem,)
    return classify


def by_patterns(image: re.Pattern[str], mask: re.Pattern[str]) -> Classifier:
    """Names matched by two compiled templates; the key is the entities' values."""
    def classify(stem: str) -> tuple[bool, tuple[str, ...]] | None:
        for is_mask, pattern in ((True, mask), (False, image)):
            if (m := pattern.fullmatch(stem)) is not None:
                return is_mask, tuple(f"{k}={v or ''}" for k, v in sorted(m.groupdict().items()))
        return None
    return classify


def pair_files(files: Sequence[Path], classify: Classifier) -> Pairs:
    """Group ``files`` into images and masks by folder and key (see ``by_suffix``)."""
    images: dict[tuple[object, ...], list[Path]] = {}
    masks: dict[tuple[object, ...], list[Path]] = {}
    out = Pairs()
    for path in files:
        role = classify(stem_of(path))
        if role is None:
            out.other.append(path)
            continue
        is_mask, key = role
        (masks if is_mask else images).setdefault((path.parent, *key), []).append(path)
    out.pairs = [(image, masks.get(key, [])) for key, group in images.items() for image in group]
    out.orphans = [mask for key, group in masks.items() if key not in images for mask in group]
    return out


def mask_beside(image: Path, mask_suffix: str = "_mask") -> list[Path]:
    """The existing mask files of one NIfTI image (``NAME<mask_suffix>`` with either
    NIfTI suffix), in suffix order."""
    stem = stem_of(image)
    return [image.parent / f"{stem}{mask_suffix}{ext}" for ext in suffixes("nifti")
            if (image.parent / f"{stem}{mask_suffix}{ext}").is_file()]
