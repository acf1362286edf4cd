"""Image/mask pairing by name templates with entities (BIDS derivatives), not only by suffix.

``pairs.image_pattern: sub-{subject}[_ses-{session}]_desc-preproc_T1w`` and
``pairs.mask_pattern: sub-{subject}[_ses-{session}]_desc-brain_mask`` pair
``sub-01_desc-preproc_T1w.nii.gz`` with ``sub-01_desc-brain_mask.nii.gz``:
``{name}`` is an entity value (letters and digits, as BIDS labels are),
``[...]`` is optional, and an image and a mask pair when they sit in the
same folder with the same entity values. Files that match neither template
are other derivatives (T2w, probseg, ...) and are skipped, counted.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datacheck.readers.registry import UnitKind
    from datacheck.scan.plan import Plan
    from datacheck.schema.medical import PairSpec

#: A BIDS label: alphanumeric only (BIDS forbids '_' and '-' inside labels).
_LABEL = "[A-Za-z0-9]+"


def pattern_regex(template: str, repeats: bool = False) -> re.Pattern[str]:
    """The regex of a name template (without extension); raises ValueError when malformed.

    With ``repeats`` an entity may appear again (a folder and a file name both
    say ``sub-{subject}``) and must then have the same value.

    >>> pattern_regex("sub-{subject}[_ses-{session}]_T1w").fullmatch("sub-01_T1w")["subject"]
    '01'
    """
    out, depth, seen = [], 0, set()
    for token in re.split(r"(\{[^{}]*\}|\[|\])", template):
        if token == "[":
            out.append("(?:")
            depth += 1
        elif token == "]":
            if depth == 0:
                raise ValueError(f"unbalanced ']' in {template!r}")
            out.append(")?")
            depth -= 1
        elif token.startswith("{") and token.endswith("}"):
            name = token[1:-1]
            if repeats and name in seen:
                out.append(f"(?P={name})")  # the same value as where it first appeared
                continue
            if not name.isidentifier() or name in seen:
                raise ValueError(f"entity {token} in {template!r} must be a unique name such as "
                                 "{subject}")
            seen.add(name)
            out.append(f"(?P<{name}>{_LABEL})")
        elif "{" in token or "}" in token:
            raise ValueError(f"unbalanced brace in {template!r}")
        else:
            out.append(re.escape(token))
    if depth:
        raise ValueError(f"unbalanced '[' in {template!r}")
    return re.compile("".join(out))


def entities(template: str) -> set[str]:
    """Entity names of a template: {'subject', 'session'}."""
    return set(pattern_regex(template).groupindex)


def plan_pattern_pairs(plan: Plan, files: list[tuple[Path, str]], spec: PairSpec,
                       kinds: dict[str, UnitKind]) -> None:
    """Add image/mask units matched by ``spec``'s templates; refuse orphans, count the rest."""
    from datacheck.rules.medical import unpaired_violation
    from datacheck.scan.plan import display

    assert spec.image_pattern is not None and spec.mask_pattern is not None
    from datacheck.readers.pairing import by_patterns, pair_files

    nifti = [p for p, s in files if kinds[s] == "nifti"]
    for path, suffix in files:
        if kinds[suffix] != "nifti":
            plan.add(kinds[suffix], path)
    found = pair_files(nifti, by_patterns(pattern_regex(spec.image_pattern),
                                          pattern_regex(spec.mask_pattern)))
    for path in found.other:
        plan.skip(path, f"its name matches neither pairs.image_pattern ({spec.image_pattern}) "
                        f"nor pairs.mask_pattern ({spec.mask_pattern})")
    for image, masks in found.pairs:
        for mask in masks:
            plan.add("nifti", image, mask)
        if not masks:
            plan.add("nifti", image)
        if not masks and spec.required:
            name = display(image)
            plan.refuse(name, unpaired_violation("mask", name, spec.mask_pattern), "violating")
    for mask in found.orphans:
        name = display(mask)
        plan.refuse(name, unpaired_violation("image", name, spec.image_pattern), "violating")
