"""infer_schema: read data once, merge summaries, and write the schema it satisfies."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datacheck.data import DEFAULT_BATCH_SIZE
from datacheck.errors import DataError
from datacheck.infer.decide import infer_feature, infer_label, is_label
from datacheck.infer.observe import Observation, observe
from datacheck.infer.sources import open_source
from datacheck.schema.drift import DriftConfig
from datacheck.schema.model import Feature, Label, Schema

if TYPE_CHECKING:
    from datacheck.report.report import InputStatus


@dataclass
class Inference:
    """An inferred schema plus what was seen (shown as comments in the YAML)."""

    schema: Schema
    notes: dict[str, list[str]] = field(default_factory=dict)
    observations: dict[str, Observation] = field(default_factory=dict)
    batches: int = 0
    source: str = ""
    #: Input files read ("ok") or not ("unreadable"); empty for in-memory data.
    inputs: dict[str, InputStatus] = field(default_factory=dict)
    #: Each unreadable input -> the violation that says why; the schema comes from the rest.
    problems: dict[str, Any] = field(default_factory=dict)

    def report(self) -> Any:
        """The inputs of this inference as a Report (kind ``infer``): unreadable ones fail it.

        >>> infer(["scans/"]).report().counts()["unreadable"]  # doctest: +SKIP
        1
        """
        from datacheck.report.report import Report

        report = Report(schema=self.schema.name, kind="infer")
        for name, status in self.inputs.items():
            report.mark_input(name, status)
        report.extend(list(self.problems.values()))
        return report

    def to_yaml(self) -> str:
        """The schema as YAML with a comment header of observations, ready to edit."""
        from datacheck import __version__

        head = [f"# Inferred by datacheck {__version__} from {_safe(self.source)} "
                f"({self.batches} batches). Review before use: it describes this data, "
                "bugs included."]
        for name, lines in self.notes.items():
            head += [f"#   {_safe(name)}: {_safe(line)}" for line in lines]
        if self.problems:
            head.append(f"# Not used ({len(self.problems)} unreadable inputs):")
            head += [f"#   {_safe(v.message)}" for v in self.problems.values()]
        return "\n".join(head) + "\n" + self.schema.to_yaml()


def _safe(text: str) -> str:
    # Names and paths come from the data: keep them on one comment line.
    return re.sub(r"[\x00-\x1f\x7f]", "?", str(text))


def infer(data: Any, *, name: str | None = None, labels: Sequence[str] | None = None,
          batch_size: int = DEFAULT_BATCH_SIZE, batched: bool | None = None,
          max_batches: int | None = None) -> Inference:
    """Infer a schema and keep the observations behind it (see :func:`infer_schema`)."""
    source = open_source(data, batch_size=batch_size, batched=batched)
    seen, count = observe(source.batches, max_batches)
    if not seen:
        why = "; ".join(v.message for v in source.problems.values()) or "empty input"
        raise DataError(f"{source.description}: no data to infer a schema from ({why})")
    order = [n for n in source.names if n in seen] + [n for n in seen if n not in source.names]
    label_names = _chosen(labels, order) if labels is not None else decide_labels(
        order, seen, source.positional)
    inference = from_observations(seen, order, label_names, source.description, name, count,
                                  source.sections)
    inference.inputs, inference.problems = source.inputs, source.problems
    return inference


def inference_from_profile(profile: Any, *, name: str | None = None,
                           labels: Sequence[str] | None = None) -> Inference:
    """The inference a profile's pass already observed (one read for ``infer --profile``)."""
    seen = profile.observations
    order = [n for n in profile.entries if n in seen]
    label_names = _chosen(labels, order) if labels is not None else {
        n for n in order if profile.entries[n].role == "label"}
    inference = from_observations(seen, order, label_names, profile.source, name,
                                  profile.batches, profile.sections)
    inference.inputs, inference.problems = profile.inputs, profile.problems
    return inference


def _chosen(labels: Sequence[str], order: list[str]) -> set[str]:
    unknown = sorted(set(labels) - set(order))
    if unknown:
        raise DataError(f"labels={unknown} are not in the data (it has {order})")
    return set(labels)


def from_observations(seen: dict[str, Observation], order: list[str], label_names: set[str],
                      description: str, name: str | None, batches: int,
                      sections: dict[str, Any] | None = None) -> Inference:
    """Build the schema from merged observations and the chosen label names."""
    from datacheck.infer.medical import sections_for

    features: dict[str, Feature] = {}
    label_map: dict[str, Label] = {}
    notes: dict[str, list[str]] = {}
    for key in order:
        if key in label_names and seen[key].label is not None:
            label_map[key], notes[key] = infer_label(key, seen[key])
        else:
            features[key], notes[key] = infer_feature(key, seen[key])
    extra = sections_for(seen, sections or {}, notes)
    fields: dict[str, Any] = {"name": name or _default_name(description),
                              "description": f"Inferred from {description}.",
                              "features": features, **extra}
    manifest = extra.get("manifest") or {}
    if manifest.get("label_column") in label_map:
        # The scan judges manifest labels by their domain; files carry no label array.
        label_map[manifest["label_column"]].optional = True
    if label_map:
        fields["labels"] = label_map
    # Written out (not left to defaults) so a person sees where `datacheck diff` thresholds live.
    defaults = DriftConfig()
    fields["drift"] = DriftConfig(js_divergence=defaults.js_divergence, linf=defaults.linf,
                                  label_linf=defaults.label_linf)
    from datacheck.schema.io import schema_from_dict

    # Any fact the headers make unrepresentable is one SchemaError line, never a traceback.
    schema = schema_from_dict(fields, origin=f"schema inferred from {description}")
    return Inference(schema, notes, seen, batches, description)


def decide_labels(order: list[str], seen: dict[str, Observation], positional: bool) -> set[str]:
    if not positional:
        return {n for n in order if is_label(n, seen[n], False)}
    # Tuples bind features first, then labels: only a trailing run can be labels,
    # and the first part is always a feature.
    out: set[str] = set()
    for key in reversed(order[1:]):
        if not is_label(key, seen[key], key.startswith("label")):
            break
        out.add(key)
    return out


def _default_name(description: str) -> str:
    stem = Path(description).name.split(".")[0] if description and not description.startswith(
        "<") and not description.endswith(" files") else ""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", stem) or "inferred"


def infer_schema(data: Any, *, name: str | None = None, labels: Sequence[str] | None = None,
                 batch_size: int = DEFAULT_BATCH_SIZE, batched: bool | None = None,
                 max_batches: int | None = None) -> Schema:
    """Infer the schema that ``data`` satisfies: layout, shape, dtype, range, labels.

    ``data`` is what ``dc.check`` accepts: a dict/tuple of numpy arrays, a
    tf.data.Dataset, or paths. Sizes that vary become wildcards; ``labels``
    names the label entries when the guess is wrong. Edit the result freely.
    Unreadable input files are left out with a warning naming each (``infer``
    returns them in ``Inference.problems``).

    >>> import numpy as np, datacheck as dc
    >>> x = np.random.rand(64, 28, 28, 1).astype("float32"); y = np.arange(64) % 10
    >>> s = dc.infer_schema((x, y)); s.features["image"].layout, s.labels["label"].num_classes
    ('HWC', 10)
    """
    inference = infer(data, name=name, labels=labels, batch_size=batch_size, batched=batched,
                      max_batches=max_batches)
    if inference.problems:
        import warnings

        # The schema comes from the readable inputs; the others are named, never dropped quietly.
        reasons = "; ".join(v.message for v in inference.problems.values())
        warnings.warn(f"{len(inference.problems)} unreadable inputs left out of the inferred "
                      f"schema: {reasons}", UserWarning, stacklevel=2)
    return inference.schema
