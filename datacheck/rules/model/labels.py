"""Label <-> loss <-> output head rules.

loss_mismatch, label_encoding, output_units, output_activation and
label_range for one label paired with one model output and its loss.
Severities follow what Keras 3 (TensorFlow backend) does with the bug:
"error" when fit raises, returns NaN or learns nothing; "warning" when it
trains but something is wrong (see each rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from datacheck.rules.labels import STRING_FIX
from datacheck.rules.registry import SeverityName
from datacheck.rules.violation import Violation
from datacheck.schema.model import Label

PROBABILITY = ("softmax", "sigmoid")


if TYPE_CHECKING:
    from datacheck.doctor.data_info import LabelFacts
    from datacheck.doctor.model_info import LossInfo, OutputInfo


@dataclass
class Pairing:
    """One label with the model output it trains and that output's loss."""

    facts: LabelFacts
    output: OutputInfo | None
    loss: LossInfo | None
    label: Label | None = None  # the schema's declaration, when a schema is given
    complete: bool = True  # False when the labels are only a sample (a tf.data prefix)

    @property
    def family(self) -> str | None:
        return self.loss.family if self.loss else None

    @property
    def units(self) -> int | None:
        return self.output.units if self.output else None

    @property
    def activation(self) -> str:
        return self.output.activation if self.output else "unknown"

    @property
    def head(self) -> str:
        if self.output is None:
            return "the model output"
        unit = "unit" if self.units == 1 else "units"
        return f"the final layer '{self.output.layer}' ({self.units} {unit}, {self.activation})"

    @property
    def layer(self) -> str:
        return f"the final layer '{self.output.layer}'" if self.output else "the model output"

    @property
    def where(self) -> str:
        return f"model output '{self.output.name}'" if self.output else "model"

    @property
    def loss_name(self) -> str:
        return self.loss.name if self.loss else "the loss"


def _v(p: Pairing, code: str, text: str, observed: object, expected: object,
       severity: SeverityName = "error", where: str | None = None) -> Violation:
    return Violation(code, p.facts.name, f"{p.facts.name}: {code}: {text}", observed=observed,
                     expected=expected, where=where or p.where, severity=severity)


def _range(f: LabelFacts) -> str:
    return f"[{f.min:g}, {f.max:g}]"


def encoding_violations(p: Pairing) -> list[Violation]:
    """Strings, fractional labels, and label encodings the loss cannot read."""
    f, family = p.facts, p.family
    if f.kind == "string":
        shown = ", ".join(repr(e) for e in f.examples)
        return [_v(p, "label_encoding", f"labels are strings ({shown}, ...); Keras losses need "
                   f"numeric class ids. {STRING_FIX}", "string", "integer class ids",
                   where="data")]
    if f.kind == "float" and family in ("sparse", "categorical", "binary", None) and \
            not (family == "binary" and 0 <= f.min and f.max <= 1):
        if family is None and (p.units == 1 and p.activation == "linear"):
            return []  # a regression head: fractional targets are expected
        shown = ", ".join(f.examples)
        why = ("sparse_categorical_crossentropy casts them to int, so they collapse onto a "
               "few classes and the model learns nothing" if family == "sparse" else
               f"{p.loss_name if family else 'a classification head'} needs class targets")
        return [_v(p, "label_encoding", f"labels are fractional floats in {_range(f)} (e.g. "
                   f"{shown}) but {why}. Feed the integer "
                   "class ids (were the labels scaled or averaged?); for regression use a "
                   "1-unit linear head and loss='mse'.", "fractional floats",
                   "integer class ids", where="data")]
    width = f"width {f.width}"
    if family == "sparse" and f.kind in ("one_hot", "multi_hot", "soft"):
        fix = ("use sigmoid outputs with loss='binary_crossentropy' for multi-label data"
               if f.kind == "multi_hot" else "use loss='categorical_crossentropy' (labels stay "
               "one-hot), or convert them with y = y.argmax(-1)")
        return [_v(p, "loss_mismatch", f"labels are {f.kind.replace('_', '-')} rows of {width} "
                   "but the loss is sparse_categorical_crossentropy, which expects integer "
                   f"class ids of shape (B,); Keras raises a rank error at fit. Fix: {fix}.",
                   f"{f.kind} rows, {width}", "class ids, shape (B,)")]
    if family == "categorical" and f.kind == "sparse":
        n = p.units if p.units and p.units > 1 else int(f.max) + 1
        column = (" They have shape (B, 1): class ids in a column, not one-hot rows; old "
                  "tf.keras broadcast them against the outputs and trained on garbage without "
                  "an error." if f.element_shape == (1,) else "")
        return [_v(p, "loss_mismatch", f"labels are integer class ids {_range(f)} but the loss "
                   f"is {p.loss_name}, which expects one-hot rows of width {n}.{column} Fix: "
                   "use loss='sparse_categorical_crossentropy', or one-hot encode with "
                   f"keras.utils.to_categorical(y, {n}).",
                   "class ids, shape (B, 1)" if column else "class ids, shape (B,)",
                   f"one-hot rows of width {n}")]
    if family == "categorical" and f.kind == "multi_hot":
        return [_v(p, "loss_mismatch", f"labels are multi-hot rows (several 1s per row) but "
                   f"{p.loss_name} assumes exactly one class per example. Use sigmoid outputs "
                   "with loss='binary_crossentropy' for multi-label data.", "multi-hot rows",
                   "one-hot rows", severity="warning")]
    if family == "binary" and f.kind == "sparse" and f.max > 1:
        k = int(f.max) + 1
        return [_v(p, "loss_mismatch", f"labels are {k} class ids {_range(f)} but "
                   "binary_crossentropy expects 0/1 targets: every class above 1 pushes the "
                   "loss below zero and nothing is learned. Use loss="
                   f"'sparse_categorical_crossentropy' with Dense({k}, activation='softmax').",
                   f"{k} classes {_range(f)}", "0/1 targets")]
    if family == "binary" and f.kind == "sparse" and p.units is not None and p.units > 1:
        return [_v(p, "loss_mismatch", f"labels are binary 0/1 class ids of shape (B,) but "
                   f"{p.head} gives {p.units} outputs per example for binary_crossentropy. Use "
                   "Dense(1, activation='sigmoid'), or keep the units with loss="
                   "'sparse_categorical_crossentropy'.", "0/1 ids, shape (B,)",
                   "one output per label")]
    if family == "regression" and f.kind == "sparse" and p.units is not None and p.units > 1:
        shape = "(B, 1)" if f.element_shape == (1,) else "(B,)"
        how = ("compares them with every one of the {u} outputs by broadcasting: each output "
               "is pulled towards the class id and no error is raised" if shape == "(B, 1)"
               else "cannot compare them with {u} outputs (Keras raises a shape error)")
        return [_v(p, "loss_mismatch", f"labels are class ids {_range(f)} of shape {shape} but "
                   f"{p.loss_name} {how.format(u=p.units)}. Use loss="
                   "'sparse_categorical_crossentropy' with a softmax head.",
                   f"class ids, shape {shape}", f"targets of shape (B, {p.units})")]
    return []


def units_violations(p: Pairing) -> list[Violation]:
    """Output units against the classes in the labels (and in the schema); label_range."""
    f, units, family = p.facts, p.units, p.family
    n_schema = p.label.n_classes if p.label else None
    out: list[Violation] = []
    if f.kind in ("one_hot", "multi_hot", "soft") and units is not None and f.width is not None \
            and units != f.width:
        out.append(_v(p, "output_units", f"labels are rows of width {f.width} but {p.layer} "
                      f"has {units} units. Use Dense({f.width}) (or re-encode the labels with "
                      f"{units} classes).", units, f.width))
    sparse_maps = f.kind == "dense" and family == "sparse" and f.summary.non_integer == 0
    if f.kind != "sparse" and not sparse_maps:
        return out
    if f.summary.nonfinite or f.min == float("inf"):
        return out
    lo, hi = f.min, f.max
    one_based = lo >= 1 and (hi == n_schema or (n_schema is None and units == hi))
    if lo < 0:
        hint = " (-1 marking unlabeled rows? pass ignore_class=-1 to the loss)" if lo == -1 else ""
        out.append(_v(p, "label_range", f"labels span {_range(f)}; class ids must be >= 0"
                      f"{hint}. TensorFlow raises on CPU and gives NaN loss on GPU. Drop or "
                      "remap the negative labels.", _range(f), ">= 0", where="data"))
    if family == "binary":
        return out
    if one_based:
        n = int(hi)
        out.append(_v(p, "label_range", f"labels span {_range(f)}: they look 1-based, but "
                      f"class ids run from 0 to {n - 1}, so class {n} is out of range (error on "
                      "CPU, NaN loss on GPU). Use y - 1.", _range(f), f"[0, {n - 1}]",
                      where="data"))
        return out
    if n_schema is not None and hi >= n_schema:
        out.append(_v(p, "label_range", f"labels span {_range(f)} but the schema declares "
                      f"num_classes {n_schema} (ids 0..{n_schema - 1}); TensorFlow raises on CPU "
                      "and gives NaN loss on GPU. Remap the labels or raise num_classes.",
                      _range(f), f"[0, {n_schema - 1}]", where="data"))
    if units is None or (units == 1 and family not in ("sparse", "categorical")):
        return out
    needed = n_schema if n_schema is not None else int(hi) + 1
    if units < int(hi) + 1 or (n_schema is not None and units != n_schema):
        out.append(_v(p, "output_units", f"labels hold {needed} classes (ids {lo:g}..{hi:g}"
                      f"{', schema num_classes ' + str(n_schema) if n_schema else ''}) but "
                      f"{p.layer} has {units}. Class ids >= {units} crash fit on CPU and give "
                      f"NaN loss on GPU. Use Dense({needed}, activation='softmax') as the last "
                      "layer.",
                      units, needed))
    elif units > needed and family in ("sparse", None) and p.activation != "sigmoid" and \
            p.complete:
        out.append(_v(p, "output_units", f"labels use only {needed} classes (ids 0..{hi:g}) "
                      f"but {p.layer} has {units}. Fine if the other classes are only absent "
                      f"from this data; otherwise use Dense({needed}).", units, needed,
                      severity="warning"))
    return out


def activation_violations(p: Pairing) -> list[Violation]:
    """Final activation against the units and the labels; from_logits against the activation."""
    f, units, act, family = p.facts, p.units, p.activation, p.family
    out: list[Violation] = []
    single_label = f.kind in ("one_hot", "soft") or (f.kind == "sparse" and f.max >= 2)
    if act == "softmax" and units == 1:
        out.append(_v(p, "output_activation", f"{p.head}: softmax over a single unit always "
                      "outputs 1.0, so the loss cannot move and accuracy stays at the majority "
                      "class. Use activation='sigmoid' for a binary head, or Dense(k, "
                      "activation='softmax') for k classes.", "softmax, 1 unit",
                      "sigmoid for 1 unit"))
    elif act == "sigmoid" and units is not None and units > 1 and single_label:
        metric = (" With binary_crossentropy, metrics=['accuracy'] becomes binary accuracy and "
                  "looks high while the model learns little." if family == "binary" else
                  " Keras on TensorFlow recovers the logits inside the crossentropy, so it "
                  "trains there, but predict() returns scores that do not sum to 1 and other "
                  "backends train on them as probabilities.")
        out.append(_v(p, "output_activation", f"{p.head}: sigmoid on a {units}-class "
                      f"single-label head scores each class independently.{metric} Use "
                      "activation='softmax'" + (" with loss='categorical_crossentropy'" if
                                                family == "binary" else "") + ".",
                      f"sigmoid, {units} units", "softmax", severity="warning"))
    elif family in ("sparse", "categorical", "binary") and act not in \
            (*PROBABILITY, "linear", "unknown"):
        severity: SeverityName = "warning" if p.loss and p.loss.from_logits else "error"
        out.append(_v(p, "output_activation", f"{p.head}: the final activation '{act}' does not "
                      f"produce probabilities or logits for {p.loss_name}. Use activation="
                      f"'{'sigmoid' if family == 'binary' else 'softmax'}' (or no activation "
                      "and from_logits=True).", act, "softmax/sigmoid, or logits",
                      severity=severity))
    if p.loss is None or family not in ("sparse", "categorical", "binary"):
        return out
    if act == "linear" and not p.loss.from_logits:
        prob = "sigmoid" if family == "binary" else "softmax"
        out.append(_v(p, "loss_mismatch", f"{p.head} outputs logits (no activation) but "
                      f"{p.loss_name} has from_logits=False, so it reads them as probabilities "
                      "(clipped to [1e-7, 1]) and learning stalls. Use "
                      f"keras.losses.{_class_name(p.loss.name)}(from_logits=True), or "
                      f"activation='{prob}'.", "logits, from_logits=False",
                      "from_logits=True for a linear head"))
    elif act in PROBABILITY and p.loss.from_logits:
        out.append(_v(p, "loss_mismatch", f"{p.head} already outputs probabilities but "
                      f"{p.loss_name} has from_logits=True, so {act} is applied twice. Keras on "
                      "TensorFlow detects it and warns; other backends train on a flattened "
                      f"loss. Use from_logits=False, or drop the {act}.",
                      f"{act}, from_logits=True", "from_logits=False", severity="warning"))
    return out


def _class_name(loss_name: str) -> str:
    return "".join(part.capitalize() for part in loss_name.split("_"))


def pairing_violations(p: Pairing) -> list[Violation]:
    """All label/loss/head rules for one pairing, most fundamental first."""
    if p.facts.kind == "empty":
        return []
    if p.facts.summary.nonfinite:
        return [_v(p, "nonfinite", f"{p.facts.summary.nonfinite} labels are NaN/Inf; the loss "
                   "becomes NaN at the first batch holding one. Drop those rows.",
                   p.facts.summary.nonfinite, 0, where="data")]
    encoding = encoding_violations(p)
    if p.facts.kind == "string":
        return encoding
    return encoding + units_violations(p) + activation_violations(p)
