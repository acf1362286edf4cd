"""The rule registry: every violation code is one registered :class:`Rule`.

A rule owns its code, its scope, its default severity, the fix a person
applies, the thresholds it is judged with (``params``, overridable by the
schema where a field exists) and the line that documents it. ``CODES``, the
docs' rules table and the JSON Schema enum of report codes are generated from
``RULES``; a code that is not registered cannot be built into a Violation.

This module imports nothing from datacheck, so every package can read it
without an import cycle.

>>> RULES["range"].scope
<Scope.ELEMENT: 'element'>
>>> Code.LABEL_RANGE == "label_range"
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Literal


class Code(StrEnum):
    """Stable violation codes. More may be added; none is ever renamed."""

    RANK = "rank"
    SHAPE = "shape"
    LAYOUT = "layout"
    DTYPE = "dtype"
    RANGE = "range"
    NONFINITE = "nonfinite"
    CONSTANT = "constant"
    LABEL_ENCODING = "label_encoding"
    LABEL_RANGE = "label_range"
    NUM_CLASSES = "num_classes"
    CLASS_BALANCE = "class_balance"
    UNSHUFFLED = "unshuffled"
    ORIENTATION = "orientation"
    SPACING = "spacing"
    AFFINE = "affine"
    MASK_MISMATCH = "mask_mismatch"
    UNREADABLE = "unreadable"
    TOO_LARGE = "too_large"
    MANIFEST = "manifest"
    MISSING_FILE = "missing_file"
    LEAKAGE = "leakage"
    DUPLICATE = "duplicate"
    DRIFT = "drift"
    LOSS_MISMATCH = "loss_mismatch"
    OUTPUT_UNITS = "output_units"
    OUTPUT_ACTIVATION = "output_activation"
    INPUT_SHAPE = "input_shape"
    UNNORMALIZED = "unnormalized"
    DOUBLE_NORMALIZED = "double_normalized"
    MISSING_FEATURE = "missing_feature"
    NOT_LEARNING = "not_learning"
    ATTRIBUTE = "attribute"
    EMPTY = "empty"
    EMPTY_MASK = "empty_mask"
    OBLIQUE = "oblique"
    UNITS = "units"
    INTENT = "intent"
    OUTLIER = "outlier"
    LABEL_NOISE = "label_noise"
    LABEL_CONFLICT = "label_conflict"
    DARK = "dark"
    BRIGHT = "bright"
    LOW_INFORMATION = "low_information"
    BLURRY = "blurry"
    SATURATED = "saturated"
    MIXED_SERIES = "mixed_series"
    MISSING_SLICE = "missing_slice"


class Scope(StrEnum):
    """What one finding of a rule is about."""

    ELEMENT = "element"    # one element of a batch (per-element verdicts, drop removes it)
    BATCH = "batch"        # a whole batch (structure, encoding)
    FILE = "file"          # one file or input on disk
    DATASET = "dataset"    # the whole dataset or one split
    MODEL = "model"        # a Keras model against the data (doctor)
    PAIR = "pair"          # two inputs or splits against each other
    TABLE = "table"        # a manifest row or column


class Severity(StrEnum):
    """How a finding counts in the verdict."""

    ERROR = "error"
    WARNING = "warning"


#: A severity as the records carry it (the values of ``Severity``).
SeverityName = Literal["error", "warning"]

#: Severity order used when sorting findings for people (lower sorts first).
SEVERITY_ORDER: Mapping[str, int] = MappingProxyType({Severity.ERROR: 0, Severity.WARNING: 1})


@dataclass(frozen=True)
class Rule:
    """One registered rule: the single source of a code's meaning."""

    code: Code
    scope: Scope
    doc: str
    fix: str
    #: The severity of the code's usual finding (what a Violation gets unless its rule says
    #: otherwise; e.g. exact copies are errors and near copies warnings).
    severity: Severity = Severity.ERROR
    #: Thresholds the rule is judged with, by name (defaults; a schema field may override).
    params: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    #: ``datacheck.testing.violations`` can plant it into valid batches (its planter
    #: lives in ``datacheck/testing/_plants.py`` under the same code).
    plantable: bool = False
    #: The measurements it asks of a batch view (``rules/views.py``: TensorView, LabelView);
    #: empty for rules judged from headers, tables, summaries or models.
    measures: tuple[str, ...] = ()


def _rule(code: Code, scope: Scope, doc: str, fix: str, severity: Severity = Severity.ERROR,
          **params: float) -> Rule:
    return Rule(code, scope, doc, fix, severity, MappingProxyType(dict(params)))


E, B, F, D, M, P, T = (Scope.ELEMENT, Scope.BATCH, Scope.FILE, Scope.DATASET, Scope.MODEL,
                       Scope.PAIR, Scope.TABLE)
W = Severity.WARNING

_RULES: tuple[Rule, ...] = (
    _rule(Code.RANK, B, "number of axes differs from the schema's layout",
          "add or remove the axis (`x[..., None]`, `tf.squeeze`) or batch the dataset"),
    _rule(Code.SHAPE, B, "an axis has a size the schema does not allow",
          "resize or crop to the declared size, or widen the schema's shape"),
    _rule(Code.LAYOUT, B, "axes are in another order than the layout (NCHW against NHWC)",
          "transpose to the declared layout"),
    _rule(Code.DTYPE, B, "element dtype is not one the schema allows, or a cast would lose values",
          "cast on purpose (`tf.cast`, `astype`) or declare the dtype"),
    _rule(Code.RANGE, E, "values outside the declared range (0-255 pixels for a [0, 1] model)",
          "rescale (`x / 255`, a Rescaling layer) or fix the declared range"),
    _rule(Code.NONFINITE, E, "NaN or Inf values", "find where NaN/Inf enter and replace or drop"),
    _rule(Code.CONSTANT, E, "an element whose values are all equal (blank image)",
          "drop the blank element or fix the decoding"),
    _rule(Code.LABEL_ENCODING, B, "labels in another form than declared (strings, one-hot, floats)",
          "encode labels as the loss expects (StringLookup, argmax, to_categorical)"),
    _rule(Code.LABEL_RANGE, E, "class ids outside [0, num_classes) or not in `classes`",
          "map labels into range (e.g. `y - 1` for 1-based ids)"),
    _rule(Code.NUM_CLASSES, D, "one-hot width differs from num_classes, or a class never occurs",
          "declare the right num_classes or add the missing class's data"),
    _rule(Code.CLASS_BALANCE, D,
          "a class rarer than the schema's `min_class_fraction`, or one class dominating "
          "(doctor, a warning)",
          "rebalance (class_weight, oversampling, rejection_resample) or lower "
          "min_class_fraction",
          doctor_max_fraction=0.9, doctor_max_fraction_3_classes=0.5, doctor_max_ratio=10.0),
    _rule(Code.UNSHUFFLED, D,
          "`shuffle_window` consecutive single-class batches (data in class order)",
          "shuffle before batching (`ds.shuffle(buffer)`, `shuffle=True`)",
          doctor_run_batches=3, doctor_validation_split=0.2),
    _rule(Code.ORIENTATION, F, "a volume's axis codes differ from the declared orientation",
          "reorient (nibabel `as_closest_canonical`) before saving"),
    _rule(Code.SPACING, F, "voxel spacing differs from the declared spacing",
          "resample to the declared spacing or fix the header"),
    _rule(Code.AFFINE, F, "affines disagree (qform/sform, image/mask) beyond the tolerance in mm",
          "write one consistent affine into both"),
    _rule(Code.MASK_MISMATCH, F,
          "a mask on another grid than its image, or not covering its foreground",
          "resample the mask to the image grid or pair the right mask"),
    _rule(Code.UNREADABLE, F, "a file that cannot be read or decoded",
          "replace or re-export the file"),
    _rule(Code.TOO_LARGE, F, "a file over a size, voxel, row or attribute limit",
          "raise the limit (`--max-bytes`, `--max-voxels`, `--max-rows`, a schema section's "
          "`max_bytes`) if the file is trusted"),
    _rule(Code.MANIFEST, T, "a manifest row or column is malformed", "fix the manifest row named"),
    _rule(Code.MISSING_FILE, F, "a listed file does not exist or escapes the root",
          "fix the path or the root"),
    _rule(Code.LEAKAGE, P, "a subject or file appears in more than one split",
          "split by subject so each subject is in one split"),
    _rule(Code.DUPLICATE, P, "the same content (or id) appears twice", "remove the copy",
          near_bits_per_64=4),
    _rule(Code.DRIFT, P, "two splits differ in distribution beyond the threshold",
          "check the preprocessing of both splits"),
    _rule(Code.LOSS_MISMATCH, M, "labels and loss disagree (one-hot with a sparse loss, ...)",
          "use the loss that matches the label encoding"),
    _rule(Code.OUTPUT_UNITS, M, "final layer units differ from the number of classes",
          "set the final Dense units to num_classes"),
    _rule(Code.OUTPUT_ACTIVATION, M, "final activation does not fit the task",
          "softmax for single-label, sigmoid for multi-label or one unit"),
    _rule(Code.INPUT_SHAPE, M, "data shape differs from the model's input shape",
          "reshape the data as the message says (channel axis, transpose, resize)"),
    _rule(Code.UNNORMALIZED, D, "data is not normalized as declared or as the model expects",
          "normalize (Rescaling, Normalization.adapt, datacheck Normalize)"),
    _rule(Code.DOUBLE_NORMALIZED, M, "already-scaled data meets another scaling layer",
          "remove one of the two scalings"),
    _rule(Code.MISSING_FEATURE, B, "a feature the schema requires is absent",
          "add the feature or mark it optional in the schema"),
    _rule(Code.NOT_LEARNING, M, "a fresh model copy cannot overfit one batch",
          "check labels, loss and learning rate (see the doctor's message)",
          must_fall_to=0.7),
    _rule(Code.ATTRIBUTE, F, "an HDF5 attribute differs from the declared value",
          "write the declared attribute"),
    _rule(Code.EMPTY, D, "zero elements in a dataset, file or split",
          "fix the filter or path that emptied it, or set allow_empty: true"),
    _rule(Code.EMPTY_MASK, F, "a segmentation mask with no foreground voxel",
          "pair the right mask"),
    _rule(Code.OBLIQUE, F, "the affine is rotated from the nearest axis-aligned frame",
          "resample to an axis-aligned grid or raise max_obliquity"),
    _rule(Code.UNITS, F, "spatial units unknown or not millimetres",
          "write xyzt units into the header"),
    _rule(Code.INTENT, F, "a NIfTI intent that is not an image volume (CIFTI, ...)",
          "remove the file from the image inputs"),
    _rule(Code.OUTLIER, D, "a scan's intensity statistics far from the other scans' (robust z)",
          "check that scan's scaling and acquisition", W),
    _rule(Code.LABEL_NOISE, D, "labels that confident learning says are probably wrong",
          "review the listed samples and relabel"),
    _rule(Code.LABEL_CONFLICT, P, "copies of one sample with different labels",
          "keep one copy with the right label"),
    _rule(Code.DARK, E, "an image that is almost black", "drop or re-expose the image"),
    _rule(Code.BRIGHT, E, "an image that is almost white", "drop or re-expose the image"),
    _rule(Code.LOW_INFORMATION, E, "an image with very low entropy", "drop the image"),
    _rule(Code.BLURRY, E, "an image much less sharp than the dataset's median",
          "drop the image or check the resizing"),
    _rule(Code.SATURATED, E, "many clipped pixels", "check exposure and scaling"),
    _rule(Code.MIXED_SERIES, F, "a DICOM folder holds slices of more than one series",
          "move each series into its own folder"),
    _rule(Code.MISSING_SLICE, F, "a DICOM series has a gap of whole slice steps "
          "(ImagePositionPatient)", "re-export the complete series"),
)

#: Codes whose violations the testing strategies can plant into a valid batch.
_PLANTABLE = frozenset({
    Code.RANK, Code.SHAPE, Code.LAYOUT, Code.DTYPE, Code.RANGE, Code.NONFINITE, Code.CONSTANT,
    Code.UNNORMALIZED, Code.MISSING_FEATURE, Code.LABEL_ENCODING, Code.LABEL_RANGE,
    Code.NUM_CLASSES, Code.CLASS_BALANCE, Code.UNSHUFFLED,
})

#: What the per-batch and per-element rules read from a view (the numpy and TF backends
#: must both provide each; ``tests/architecture`` checks the names against the protocols).
_MEASURES: dict[Code, tuple[str, ...]] = {
    Code.RANGE: ("all_within", "element_within", "finite_min", "finite_max",
                 "element_finite_min", "element_finite_max", "partial", "select"),
    Code.NONFINITE: ("all_finite", "element_finite", "nonfinite_count"),
    Code.CONSTANT: ("constant", "element_constant", "constant_value"),
    Code.LABEL_ENCODING: ("all_integral", "all_binary", "rows_one_hot", "element_binary",
                          "element_rows_one_hot", "non_binary_value"),
    Code.LABEL_RANGE: ("all_within", "element_within", "all_in_set", "element_in_set",
                       "finite_min", "finite_max"),
    Code.UNSHUFFLED: ("single_class_run", "batch_class"),
    Code.MASK_MISMATCH: ("element_fraction_not", "every", "masked_min", "masked_max"),
    Code.DARK: ("image_stats",), Code.BRIGHT: ("image_stats",),
    Code.LOW_INFORMATION: ("image_stats",), Code.BLURRY: ("image_stats",),
    Code.SATURATED: ("image_stats",),
}

#: Every registered rule by code.
RULES: Mapping[str, Rule] = MappingProxyType({
    rule.code.value: replace(rule, plantable=rule.code in _PLANTABLE,
                             measures=_MEASURES.get(rule.code, ()))
    for rule in _RULES})
#: The stable set of codes (public contract), generated from the registry.
CODES: frozenset[str] = frozenset(RULES)

if set(Code) != set(RULES):  # pragma: no cover - a rule added to Code but not registered
    raise RuntimeError(f"unregistered codes: {sorted(set(Code) - set(RULES))}")


def rule(code: str) -> Rule:
    """The registered rule for ``code``; a clear error for a code nobody registered."""
    try:
        return RULES[code]
    except KeyError:
        raise ValueError(f"unknown violation code {code!r}; known: {sorted(CODES)}") from None
