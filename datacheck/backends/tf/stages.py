"""The tf.data stages ``validate()`` adds: map, scan and filter whose functions start cheaply.

Keras makes a fresh iterator every epoch and every ``evaluate()``, and TensorFlow
instantiates every function of the pipeline again for each one. A dataset
function is by default a *multi-device* function, and each instantiation runs
Grappler over it: about 0.2 ms per graph node on the development machine, so
the judge's functions cost 150-250 ms per iterator (see docs/performance.md).

A function marked ``experimental_ints_on_device`` is instantiated on the one
host device that runs tf.data, without Grappler; TensorFlow marks its own
``map_on_gpu`` functions the same way. The attribute only changes where int32
tensors live on an accelerator, and these functions run on the host. Grappler
has nothing to gain on the checks (reductions and a few string ops), and
tf.data's own fusion leaves functions with attributes alone, so the stages keep
their own functions. They also go without the ``_tf_data_function`` mark (see
``_HostAttributes``), so int32 components pass through them as they are.

These stages are built from TensorFlow's dataset base classes
(``dataset_ops.UnaryDataset``), as TensorFlow's own transformations are; they
serialize (``Dataset.save``, tf.data service, tf.distribute) like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf
from tensorflow.python.data.ops import dataset_ops, structured_function
from tensorflow.python.data.util import structure
from tensorflow.python.ops import gen_dataset_ops, gen_experimental_dataset_ops

#: Function attributes of every function in these stages (see the module docstring).
HOST_FUNCTION = {"experimental_ints_on_device": True}
#: The attribute TensorFlow gives every tf.data function; these stages go without it.
TF_DATA_FUNCTION = "_tf_data_function"


class _HostAttributes(dict[str, Any]):
    """Function attributes that keep ``_tf_data_function`` out.

    ``StructuredFunctionWrapper`` adds it to every function it traces. It hands
    the function to tf.data's own graph rewrites, which take a function whose int32
    outputs are device return values (what ``experimental_ints_on_device`` makes
    of them) for a whole pipeline, and refuse it ("Expected only one fetch node").
    These functions need none of those rewrites: each is one host function,
    instantiated as it is.
    """

    def update(self, *args: Any, **kwargs: Any) -> None:
        given = dict(*args, **kwargs)
        given.pop(TF_DATA_FUNCTION, None)
        super().update(given)


def _wrap(func: Callable[..., Any], name: str, **structure_args: Any) -> Any:
    return structured_function.StructuredFunctionWrapper(
        func, name, defun_kwargs=_HostAttributes(HOST_FUNCTION), **structure_args)


class _Map(dataset_ops.UnaryDataset):  # type: ignore[misc]
    def __init__(self, dataset: tf.data.Dataset, func: Callable[..., Any],
                 parallel: bool) -> None:
        self._input_dataset = dataset
        self._name = None
        self._map_func = _wrap(func, "datacheck.validate() map", dataset=dataset)
        function = self._map_func.function
        if parallel:
            variant = gen_dataset_ops.parallel_map_dataset_v2(
                dataset._variant_tensor, function.captured_inputs, f=function,
                num_parallel_calls=tf.constant(tf.data.AUTOTUNE, tf.int64),
                deterministic="true", preserve_cardinality=True, **self._common_args)
        else:
            # force_synchronous: tf.data's map_parallelization would otherwise make it a
            # parallel map whose threads read ahead. Reading ahead into drop mode's scan is
            # not harmless: when the iterator is dropped mid-pass, a prefetch being cancelled
            # ends its input early, and the scan would take the end marker that follows for
            # the pass's end and log a short pass as complete.
            variant = gen_dataset_ops.map_dataset(
                dataset._variant_tensor, function.captured_inputs, f=function,
                preserve_cardinality=True, force_synchronous=True, **self._common_args)
        super().__init__(dataset, variant)

    def _functions(self) -> list[Any]:
        return [self._map_func]

    @property
    def element_spec(self) -> Any:
        return self._map_func.output_structure


class _Scan(dataset_ops.UnaryDataset):  # type: ignore[misc]
    def __init__(self, dataset: tf.data.Dataset, initial: Any,
                 func: Callable[..., Any]) -> None:
        self._input_dataset = dataset
        self._name = None
        initial = structure.normalize_element(initial)
        state = structure.type_spec_from_value(initial)
        self._scan_func = _wrap(func, "datacheck.validate() scan",
                                input_structure=(state, dataset.element_spec))
        new_state, self._element_spec = self._scan_func.output_structure
        # The judge's state has fixed shapes; TensorFlow's scan would retrace to relax them.
        if new_state != state:
            raise TypeError(f"datacheck scan state changed from {state} to {new_state}")
        function = self._scan_func.function
        variant = gen_experimental_dataset_ops.scan_dataset(
            dataset._variant_tensor, structure.to_tensor_list(state, initial),
            function.captured_inputs, f=function, preserve_cardinality=True,
            **self._common_args)
        super().__init__(dataset, variant)

    def _functions(self) -> list[Any]:
        return [self._scan_func]

    @property
    def element_spec(self) -> Any:
        return self._element_spec


class _Filter(dataset_ops.UnaryUnchangedStructureDataset):  # type: ignore[misc]
    def __init__(self, dataset: tf.data.Dataset, predicate: Callable[..., Any]) -> None:
        self._input_dataset = dataset
        self._name = None
        self._predicate = _wrap(predicate, "datacheck.validate() filter", dataset=dataset)
        function = self._predicate.function
        variant = gen_dataset_ops.filter_dataset(
            dataset._variant_tensor, other_arguments=function.captured_inputs,
            predicate=function, **self._common_args)
        super().__init__(dataset, variant)

    def _functions(self) -> list[Any]:
        return [self._predicate]


def map_stage(dataset: tf.data.Dataset, func: Callable[..., Any],
              parallel: bool = False) -> tf.data.Dataset:
    """``dataset.map(func)`` (deterministic ``AUTOTUNE`` when ``parallel``)."""
    return _Map(dataset, func, parallel)


def scan_stage(dataset: tf.data.Dataset, initial: Any,
               func: Callable[..., Any]) -> tf.data.Dataset:
    """``dataset.scan(initial, func)`` for a state whose shapes never change."""
    return _Scan(dataset, initial, func)


def filter_stage(dataset: tf.data.Dataset, predicate: Callable[..., Any]) -> tf.data.Dataset:
    """``dataset.filter(predicate)``."""
    return _Filter(dataset, predicate)


#: Bytes of input read ahead of the first stage (``read_ahead``), and at most this many elements.
AHEAD_BYTES = 64 << 20
AHEAD_ELEMENTS = 4
#: tf.data's Python classes of transformations that produce elements in threads of their own.
ASYNC_DATASETS = ("PrefetchDataset", "ParallelMapDataset", "ParallelInterleaveDataset",
                  "ParallelBatchDataset")


def read_ahead(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """``dataset`` produced by a thread of its own, a few elements ahead of the stages.

    Without it, the input's last transformation runs in the thread of the first
    stage, the sequential scan: ``batch`` copies every batch there, and the copy
    and the scan add up on the pipeline's one sequential path. Measured on
    in-memory CIFAR-sized float32 batches (``bench_tfdata``'s pipeline, paired
    A/B runs): validated/floor 1.25-1.41x without, 0.94-1.19x with 4 elements
    ahead (1.01-1.29x with 1).

    The buffer holds up to ``AHEAD_ELEMENTS`` elements of at most ``AHEAD_BYTES``
    together, at least one. Dims unknown until run time count as 1 (a batch
    dimension: the bound is then per row). An input whose last transformation
    already runs in threads of its own (prefetch, a parallel map, interleave or
    batch) is left as it is: measured on the CIFAR uint8 pipeline, whose last
    step is a parallel map, reading ahead changed nothing (1.28 against 1.26x,
    1.31 against 1.37x).
    """
    if type(dataset).__name__.lstrip("_") in ASYNC_DATASETS:
        return dataset
    nbytes = 0
    for spec in tf.nest.flatten(dataset.element_spec):
        shape = getattr(spec, "shape", None)
        dtype = getattr(spec, "dtype", None)
        if shape is None or shape.rank is None or dtype is None:
            return dataset.prefetch(1)  # nothing to size it by: one element ahead
        rows = 1
        for dim in shape.as_list():
            rows *= dim or 1
        nbytes += rows * (dtype.size or 8)  # strings: count the handle
    return dataset.prefetch(max(1, min(AHEAD_ELEMENTS, AHEAD_BYTES // max(nbytes, 1))))
