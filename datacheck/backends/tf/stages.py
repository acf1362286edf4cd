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
their own functions.

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


def _wrap(func: Callable[..., Any], name: str, **structure_args: Any) -> Any:
    return structured_function.StructuredFunctionWrapper(
        func, name, defun_kwargs=dict(HOST_FUNCTION), **structure_args)


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
            variant = gen_dataset_ops.map_dataset(
                dataset._variant_tensor, function.captured_inputs, f=function,
                preserve_cardinality=True, **self._common_args)
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


#: Attribute of a stage's dataset: positions (in ``tf.nest.flatten`` order) of the int32
#: components that travel bitcast to float32 (see ``map_stage``).
CARRIED = "_datacheck_carried"


def carried(dataset: tf.data.Dataset) -> frozenset[int]:
    return frozenset(getattr(dataset, CARRIED, frozenset()))


def _mark(dataset: tf.data.Dataset, positions: set[int] | frozenset[int]) -> tf.data.Dataset:
    setattr(dataset, CARRIED, frozenset(positions))
    return dataset


def _decode(values: Any, positions: frozenset[int]) -> Any:
    flat = tf.nest.flatten(values)
    flat = [tf.bitcast(t, tf.int32) if i in positions else t for i, t in enumerate(flat)]
    return tf.nest.pack_sequence_as(values, flat)


def _encode(values: Any, positions: set[int]) -> Any:
    flat = tf.nest.flatten(values)
    positions.update(i for i, t in enumerate(flat) if t.dtype == tf.int32)
    flat = [tf.bitcast(t, tf.float32) if i in positions else t for i, t in enumerate(flat)]
    return tf.nest.pack_sequence_as(values, flat)


def map_stage(dataset: tf.data.Dataset, func: Callable[..., Any],
              parallel: bool = False) -> tf.data.Dataset:
    """``dataset.map(func)`` (deterministic ``AUTOTUNE`` when ``parallel``).

    A host function cannot return int32 tensors: with ``experimental_ints_on_device``
    they become device return values, which tf.data's graph rewrites then refuse
    ("Expected only one fetch node"). So int32 components leave every stage
    bitcast to float32 (the same bits, no copy), the next stage's function sees
    them as int32 again, and ``finish`` turns them back for the user.
    """
    incoming = carried(dataset)
    outgoing: set[int] = set()

    def call(*args: Any) -> Any:
        return _encode(func(*_decode(args, incoming)), outgoing)

    return _mark(_Map(dataset, call, parallel), outgoing)


def scan_stage(dataset: tf.data.Dataset, initial: Any,
               func: Callable[..., Any]) -> tf.data.Dataset:
    """``dataset.scan(initial, func)`` for a state whose shapes never change and that
    holds no int32 tensor (int32 outputs are carried as in ``map_stage``)."""
    state = structure.type_spec_from_value(structure.normalize_element(initial))
    if any(spec.dtype == tf.int32 for spec in tf.nest.flatten(state)):
        raise TypeError("datacheck scan state may not hold int32 tensors (see map_stage)")
    incoming = carried(dataset)
    outgoing: set[int] = set()

    def call(state: Any, element: Any) -> tuple[Any, Any]:
        new_state, out = func(state, _decode(element, incoming))
        return new_state, _encode(out, outgoing)

    return _mark(_Scan(dataset, initial, call), outgoing)


def filter_stage(dataset: tf.data.Dataset, predicate: Callable[..., Any]) -> tf.data.Dataset:
    """``dataset.filter(predicate)``."""
    incoming = carried(dataset)
    return _mark(_Filter(dataset, lambda *args: predicate(*_decode(args, incoming))), incoming)


def concatenate_stage(first: tf.data.Dataset, second: tf.data.Dataset) -> tf.data.Dataset:
    """``first.concatenate(second)`` of two stages that carry the same components."""
    if carried(first) != carried(second):
        raise TypeError("datacheck stages to concatenate carry different int32 components")
    return _mark(first.concatenate(second), carried(first))


def finish(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """The stages' output as the user's dtypes: carried int32 components bitcast back.

    An ordinary map (its function is optimized per iterator, but holds one
    bitcast per int32 component), only when something is carried.
    """
    positions = carried(dataset)
    if not positions:
        return dataset
    # tf.data passes a tuple element as separate arguments, anything else as one.
    unpacked = type(dataset.element_spec) is tuple

    def restore(*args: Any) -> Any:
        return _decode(args if unpacked else args[0], positions)

    return dataset.map(restore)
