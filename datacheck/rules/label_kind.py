"""What form a label has: the one decision doctor, infer and the rules share.

A label's kind is read from its LabelSummary (which counts one-hot, binary
and non-integer rows as it merges) and its element shape, never by another
module's own heuristics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from datacheck.summary import LabelSummary

#: ``soft``: rows of non-negative probabilities summing to 1; ``float``: scalar non-integer
#: values (a regression target, or a broken classification label); ``dense``: anything else.
LabelKind = Literal["empty", "string", "sparse", "float", "one_hot", "multi_hot", "soft",
                    "dense"]


def label_kind(summary: LabelSummary, element: tuple[int, ...], *, is_string: bool = False,
               rows_sum_to_one: bool = False) -> LabelKind:
    """The kind of a label from its summary and element shape.

    ``rows_sum_to_one`` (computed by the caller from the values, for vector
    labels only) tells soft targets from dense ones.

    >>> from datacheck.summary import LabelSummary
    >>> import numpy as np
    >>> label_kind(LabelSummary.from_array(np.eye(3)), (3,))
    'one_hot'
    >>> label_kind(LabelSummary.from_array(np.array([0, 2, 1])), ())
    'sparse'
    """
    if summary.elements == 0:
        return "empty"
    if is_string:
        return "string"
    if element in ((), (1,)):
        return "sparse" if summary.non_integer == 0 else "float"
    if len(element) != 1:
        return "dense"
    if summary.one_hot_rows == summary.elements:
        return "one_hot"
    if summary.binary_rows == summary.elements:
        return "multi_hot"
    return "soft" if rows_sum_to_one else "dense"
