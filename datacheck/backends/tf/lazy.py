"""``lazy_cond``: a conditional inside tf.data functions whose untaken branch costs nothing.

The judge's diagnostics run only for a batch that fails, and drop mode's counts
only at a pass's end; neither may cost the batches that pass, nor every fresh
iterator (Keras makes one per epoch), more than it must.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf
from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2
from tensorflow.python.ops import control_flow_ops

#: The config of the ``PartitionedCall`` that ``lazy_cond`` makes: Grappler off.
_NO_GRAPPLER = config_pb2.ConfigProto(graph_options=config_pb2.GraphOptions(
    rewrite_options=rewriter_config_pb2.RewriterConfig(disable_meta_optimizer=True))
).SerializeToString()


def lazy_cond(pred: Any, if_true: Callable[[], Any], if_false: Callable[[], Any],
              every_pass: bool = False) -> Any:
    """``tf.cond`` whose untaken branch costs nothing: for diagnostics that rarely run.

    Inside tf.data functions ``tf.cond`` becomes a functional ``If``, which calls a
    branch function per batch and instantiates both branches in every iterator
    (Keras makes one per epoch); the diagnostics are hundreds of string ops. Here
    the branches are gated by ``Switch``/``Merge``, the executor's own conditional
    (what ``tf.cond`` lowers to): ops fed by the untaken output of a ``Switch``
    are dead and never run, and ``if_false`` is one function called only when
    ``pred`` is False.

    How that function is called decides what a fresh iterator pays for it. By
    default it is instantiated when the call first runs, so an iterator that never
    takes the branch never pays: a call of ``PartitionedCall``, which instantiates
    its function as a multi-device function (placement, Grappler, oneDNN's layout
    pass), of a function of one node that calls ``if_false``'s function directly,
    which TensorFlow instantiates as a plain host function; Grappler is off for the
    call, it has nothing to gain on string ops. A pass with a failing batch took
    3-4x as long with a plain ``PartitionedCall`` (docs/performance.md).
    ``every_pass=True`` is for a branch that runs once in
    every pass (a pass's end): its function is called directly, and instantiated
    with the iterator as a plain host function, where a ``PartitionedCall`` cost
    each pass about 12 ms (docs/performance.md).

    >>> message = lazy_cond(ok, lambda: tf.constant(""), lambda: records(...))  # doctest: +SKIP
    """
    if tf.executing_eagerly():
        return if_true() if bool(pred) else if_false()
    pred = tf.convert_to_tensor(pred)
    body = tf.function(if_false, autograph=False,
                       experimental_attributes={"_noinline": True}).get_concrete_function()
    body_out = tf.nest.flatten(body.structured_outputs)
    # A control edge passes deadness on only from a dead node, not from a Switch's dead
    # output: each branch hangs on an Identity of its side (tf.cond's "pivot").
    when_false, when_true = (tf.identity(side) for side in tf.raw_ops.Switch(data=pred, pred=pred))
    with tf.control_dependencies([when_false]):
        args = [tf.raw_ops.Switch(data=t, pred=pred)[0] for t in body.captured_inputs]
        if every_pass:
            called = _direct_call(body, args)
        else:
            called = tf.raw_ops.StatefulPartitionedCall(
                args=args, f=_trampoline(body, args), Tout=[t.dtype for t in body_out],
                config_proto=_NO_GRAPPLER)
    # tf.function runs each stateful op after the one before it, unless it sits in a cond
    # branch; a check after this call would otherwise die with it whenever it is skipped.
    called[0].op._set_control_flow_context(
        control_flow_ops.CondContext(pred, when_false, branch=0))
    with tf.control_dependencies([when_true]):
        # identity: a value if_true returns as it is would not hang on the pivot
        kept = [tf.identity(t) for t in tf.nest.flatten(if_true())]
    if len(kept) != len(body_out):
        raise TypeError("lazy_cond: the branches return different structures")
    merged: list[tf.Tensor] = []
    for false_value, true_value, like in zip(called, kept, body_out, strict=True):
        value = tf.raw_ops.Merge(inputs=[false_value, true_value]).output
        value.set_shape(true_value.shape.most_specific_compatible_shape(like.shape))
        merged.append(value)
    return tf.nest.pack_sequence_as(body.structured_outputs, merged)


def _direct_call(function: Any, args: list[tf.Tensor]) -> list[tf.Tensor]:
    """Outputs of a node whose op is ``function`` itself (a ``_noinline`` function):
    TensorFlow instantiates it with the function that holds the node, on that
    function's device, without the multi-device machinery of ``PartitionedCall``."""
    graph = tf.compat.v1.get_default_graph()
    function.add_to_graph(graph)
    name = function.name.decode() if isinstance(function.name, bytes) else function.name
    outputs = tf.nest.flatten(function.structured_outputs)
    return list(graph.create_op(name, args, [t.dtype for t in outputs],
                                name="lazy_branch").outputs)


def _trampoline(function: Any, args: list[tf.Tensor]) -> Any:
    """A function of ``args`` whose one node calls ``function`` directly."""
    specs = [tf.TensorSpec(t.shape, t.dtype) for t in args]
    return tf.function(lambda *given: _direct_call(function, list(given)), autograph=False,
                       experimental_attributes={"_noinline": True}
                       ).get_concrete_function(*specs)
