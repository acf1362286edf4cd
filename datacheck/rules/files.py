"""Rules about the entries of a data folder: duplicate volumes, folders that cannot be listed,
symlinks that leave the dataset root.

A folder scan decides what each entry is (planning); these rules decide the
code, severity and message, so every refusal reads the same in folder and
manifest mode.
"""

from __future__ import annotations

from datacheck.errors import DatacheckError
from datacheck.readers.guards import TooLargeError
from datacheck.rules.violation import Violation


def duplicate_volume(name: str, others: list[str]) -> Violation:
    """``NAME.nii`` beside ``NAME.nii.gz``: both are checked, each reported ``duplicate``.

    >>> duplicate_volume("a.nii", ["a.nii.gz"]).code
    'duplicate'
    """
    listed = ", ".join(others)
    return Violation(
        "duplicate", "*", f"{name}: duplicate: the same volume name is stored again as "
        f"{listed}; a loader may pick either copy. Keep one file (bids-validator treats this as "
        "an error).", observed=[name, *others], expected="one file per volume", where=name,
        input=name)


def folder_unreadable(name: str, reason: str) -> Violation:
    """A subfolder that cannot be listed: its files were not checked, so the run fails.

    >>> folder_unreadable("scans/locked", "Permission denied").code
    'unreadable'
    """
    return Violation(
        "unreadable", "*", f"{name}: unreadable: folder cannot be listed ({reason}); the files "
        "in it were not checked. Fix its permissions or leave it out of the scan.",
        where=name, input=name)


def symlink_refused(name: str, target: str, root: str) -> Violation:
    """A symlink whose target is outside the dataset root: refused, never followed.

    The same rule as manifest paths: links inside the root are followed.

    >>> symlink_refused("scans/x.nii", "/etc/x.nii", "scans").code
    'unreadable'
    """
    return Violation(
        "unreadable", "*", f"{name}: unreadable: symlink to {target}, outside the dataset root "
        f"{root}; refused, not followed (links inside the root are followed). Copy the file in "
        "or scan its own folder.", where=name, input=name)


def symlink_broken(name: str, reason: str) -> Violation:
    """A symlink that does not resolve (dangling, or a loop): refused.

    >>> symlink_broken("scans/x.nii", "no such target").code
    'missing_file'
    """
    return Violation(
        "missing_file", "*", f"{name}: missing_file: symlink cannot be followed ({reason}). "
        "Fix or remove the link.", where=name, input=name)


def corrupt_records(name: str, records: int, bad: dict[int, str], broken: str | None
                    ) -> Violation:
    """A TFRecord file with records that could not be read: their indices and the first reason.

    ``bad`` maps record index -> why it could not be decoded (the scan went on);
    ``broken`` is why the framing broke (nothing after it could be read).

    >>> corrupt_records("a.tfrecord", 10, {3: "a.tfrecord record 3: bad bytes"}, None).code
    'unreadable'
    """
    parts = []
    if bad:
        shown = ", ".join(str(i) for i in sorted(bad)[:10]) + (", ..." if len(bad) > 10 else "")
        first = bad[min(bad)]
        parts.append(f"{len(bad)} of {records} records could not be decoded (record "
                     f"{shown}; first: {first}); the other records were checked")
    if broken is not None:
        parts.append(f"the file breaks after {records} records ({broken}); nothing after "
                     "that point could be read")
    return Violation(
        "unreadable", "*", f"{name}: unreadable: {'; '.join(parts)}. Re-write the file from "
        "its source.", where=name, input=name,
        extra={"records": records, "bad_records": sorted(bad), "broken": broken is not None})


def unreadable(name: str, exc: BaseException) -> Violation:
    """unreadable (too_large for a limit): an input that could not be read, in one line."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, TooLargeError):
        return Violation("too_large", "*", text if text.startswith(name) else f"{name}: {text}",
                         where=name, input=name)
    if isinstance(exc, MemoryError):
        text = "ran out of memory while reading; lower max_bytes or check the header"
    elif not isinstance(exc, DatacheckError):
        text = f"{type(exc).__name__}: {text}"
    message = text if text.startswith(name) else f"{name}: unreadable: {text}"
    return Violation("unreadable", "*", message, where=name, input=name)


def missing_path(name: str) -> Violation:
    """missing_file: a path given on the command line or to the API does not exist."""
    return Violation("missing_file", "*", f"{name}: missing_file: no such file or folder. "
                     "Check the path.", where=name)


def no_reader(name: str, suffix: str, supported: list[str], *, feature: str = "*",
              context: str = "") -> Violation:
    """unreadable: no registered reader for this file's suffix."""
    where = f" ({context})" if context else ""
    return Violation("unreadable", feature, f"{name}: unreadable: no reader for '{suffix}' "
                     f"files{where}. Supported: {', '.join(sorted(supported))}.", where=name)


def no_data_in_folder(name: str, kinds: list[str], skipped: int) -> Violation:
    """unreadable: a folder holds no file of any format this schema's scan reads."""
    return Violation("unreadable", "*", f"{name}: unreadable: folder holds no "
                     f"{', '.join(sorted(kinds))} files ({skipped} other files skipped). Point at "
                     "the data folder, or a manifest.", where=name)


def mask_without_image(name: str, image_stem: str) -> Violation:
    """missing_file: a NAME_mask volume with no NAME volume beside it."""
    return Violation("missing_file", "image", f"image: missing_file: mask {name} has no image "
                     f"{image_stem}.nii[.gz] next to it. Add the image or rename the mask.",
                     where=name)


def image_without_mask(name: str, mask_stem: str) -> Violation:
    """missing_file: a volume whose required NAME_mask is missing."""
    return Violation("missing_file", "mask", f"mask: missing_file: image {name} has no mask "
                     f"{mask_stem}.nii[.gz] next to it. Add the mask, or set pairs.required: "
                     "false.", where=name)


def dataset_refused(feature: str, file: str, exc: BaseException) -> Violation:
    """too_large / unreadable: an HDF5 dataset refused before any row is read."""
    code = "too_large" if isinstance(exc, TooLargeError) else "unreadable"
    return Violation(code, feature, str(exc), where=file)


def misaligned_lengths(lengths: dict[str, int], source: str, file: str) -> Violation:
    """shape: the datasets of one HDF5 file disagree on their number of rows."""
    return Violation(
        "shape", "*", f"*: shape: datasets have different lengths {lengths} in {source}; "
        "examples are misaligned. Write one row per example in every dataset (only the "
        f"first {min(lengths.values())} rows were checked).", observed=lengths,
        expected="equal lengths", where=file)
