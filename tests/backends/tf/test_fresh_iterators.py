"""What a fresh iterator of a validated dataset has to instantiate (Keras makes one per epoch).

The time itself is measured in benchmarks/bench_iterators.py; these tests pin the
structure that makes it cheap, read from the serialized dataset graph as
TensorFlow receives it: every function of datacheck's stages is a host function
(instantiated without Grappler), and the diagnostics hide behind a call that
runs only when a batch fails.
"""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import datacheck as dc  # noqa: E402
from datacheck.backends.tf.stages import HOST_FUNCTION, TF_DATA_FUNCTION  # noqa: E402

MODES = ["raise", "warn", "drop", "collect"]
#: Nodes a fresh iterator instantiates (a failing batch adds the diagnostics); the
#: diagnostics of the cifar10 schema are 580 (warn) to 770 (drop) more.
START_UP_NODES = 400
#: All nodes of the dataset's functions. Every fresh iterator copies the library,
#: diagnostics included, though it never runs them (perf: ``ReachableDefinitions`` and
#: ``NodeDef`` copies), so its size is paid per epoch. It was 1,690 (raise) to 1,870
#: (drop) nodes before each finding's text was built once (now 770 to 950).
LIBRARY_NODES = 1_100


def _library(dataset: tf.data.Dataset) -> tuple[list, dict]:
    graph = tf.compat.v1.GraphDef()
    graph.ParseFromString(dataset._as_serialized_graph().numpy())
    return list(graph.node), {f.signature.name: f for f in graph.library.function}


def _referenced(attrs) -> list[str]:
    names = []
    for value in attrs.values():
        if value.HasField("func"):
            names.append(value.func.name)
        names += [f.name for f in value.list.func]
    return names


def _started(nodes: list, library: dict) -> set[str]:
    """Functions instantiated when an iterator starts: reachable through function attributes
    and direct calls (a node whose op is a function), except through a ``PartitionedCall``
    of a ``_noinline`` function (instantiated when it runs)."""
    seen: set[str] = set()
    todo = [name for node in nodes for name in _referenced(node.attr)]
    while todo:
        name = todo.pop()
        if name in seen or name not in library:
            continue
        seen.add(name)
        for node in library[name].node_def:
            if node.op in library:
                todo.append(node.op)
            called = _referenced(node.attr)
            if node.op == "StatefulPartitionedCall" and all(
                    library[c].attr["_noinline"].b for c in called if c in library):
                continue
            todo += called
    return seen


def _cifar(scale: float = 1.0) -> tf.data.Dataset:
    rng = np.random.default_rng(0)
    x = rng.random((256, 32, 32, 3), dtype=np.float32) * scale
    y = rng.integers(0, 10, 256)
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(64)


@pytest.mark.parametrize("mode", MODES)
def test_datacheck_stages_are_host_functions_and_the_diagnostics_start_lazily(mode):
    validated = dc.validate(_cifar(), "cifar10", on_error=mode)
    nodes, library = _library(validated)
    stage_functions = [node for node in nodes
                       if any("datacheck" in name for name in _referenced(node.attr))]
    assert stage_functions, "validate() added no stage of its own"
    for node in stage_functions:
        for name in _referenced(node.attr):
            for key, value in HOST_FUNCTION.items():
                assert library[name].attr[key].b == value, (node.op, name)
            # tf.data's rewrites would refuse the int32 outputs of a host function.
            assert TF_DATA_FUNCTION not in library[name].attr, (node.op, name)
    started = _started(nodes, library)
    start_up = sum(len(library[name].node_def) for name in started)
    everything = sum(len(f.node_def) for f in library.values())
    assert start_up <= START_UP_NODES, (start_up, sorted(started))
    assert everything <= LIBRARY_NODES, everything
    if mode != "collect":  # collect judges in numpy: no graph diagnostics to defer
        assert everything - start_up > 400


@pytest.mark.parametrize("mode", ["raise", "drop"])
def test_a_failing_batch_is_described_in_full_by_every_fresh_iterator(mode):
    """The deferred diagnostics still run, and still explain, in each new iterator."""
    validated = dc.validate(_cifar(scale=255.0), "cifar10", on_error=mode,
                            max_drop_fraction=1.0)
    for _ in range(3):
        if mode == "raise":
            with pytest.raises(dc.ValidationError) as info:
                list(validated)
            assert "divide by 255" in str(info.value)
        else:
            assert list(validated) == []
    if mode == "drop":
        passes = validated.report().stats["passes"]
        assert [p["dropped"] for p in passes] == [256, 256, 256]


def test_model_fit_over_host_stages_trains_and_evaluates():
    """Keras makes an iterator per epoch and per evaluate(): each one works."""
    keras = pytest.importorskip("keras")
    ds = dc.validate(_cifar().map(lambda x, y: (x, y)).prefetch(2), "cifar10")
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(ds, epochs=3, validation_data=ds, verbose=0)
    assert len(history.history["loss"]) == 3
    assert np.isfinite(history.history["val_loss"]).all()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", ["tuple", "one-tuple", "dict"])
def test_int32_components_come_out_as_they_went_in(mode, shape):
    """Host functions return int32 as device return values, which tf.data's rewrites of
    ``_tf_data_function``s refuse: the stages must hand back the same element_spec and
    the same values, in every mode."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (96, 8, 8, 1)).astype(np.int32)  # int32 pixels too
    y = rng.integers(0, 10, 96).astype(np.int32)
    element = {"tuple": (x, y), "one-tuple": (x,), "dict": {"image": x, "label": y}}[shape]
    schema = {"features": {"image": {"layout": "HWC", "shape": [8, 8, 1], "range": [0, 255]}},
              "labels": {"label": {"encoding": "sparse", "num_classes": 10,
                                   "dtype": "integer", "optional": True}}}
    ds = tf.data.Dataset.from_tensor_slices(element).batch(32)
    validated = dc.validate(ds, schema, on_error=mode)
    assert validated.element_spec == ds.element_spec
    got = [tf.nest.map_structure(np.asarray, b) for b in validated]
    want = [tf.nest.map_structure(np.asarray, b) for b in ds]
    for a, b in zip(got, want, strict=True):
        for u, v in zip(tf.nest.flatten(a), tf.nest.flatten(b), strict=True):
            assert u.dtype == v.dtype and np.array_equal(u, v)


@pytest.mark.parametrize(("mode", "size_known", "stages"), [
    ("raise", True, ["ScanDataset", "ParallelMapDatasetV2"]),
    ("raise", False, ["ScanDataset", "FilterDataset", "ParallelMapDatasetV2"]),
    ("warn", False, ["ScanDataset", "FilterDataset", "ParallelMapDatasetV2"]),
    ("drop", True, ["ScanDataset", "FilterDataset", "MapDataset"]),
    ("collect", True, ["ScanDataset", "FilterDataset", "MapDataset"]),
])
def test_each_mode_adds_only_its_own_stages(mode, size_known, stages):
    """Every function is instantiated again per iterator: the end marker of a pass is
    zipped and concatenated on (no function), and each mode adds only the stages it needs."""
    ds = _cifar()
    if not size_known:
        ds = ds.filter(lambda x, y: True)
    nodes, _ = _library(dc.validate(ds, "cifar10", on_error=mode))
    ours = [node.op for node in nodes
            if any("datacheck" in name for name in _referenced(node.attr))]
    assert ours == stages


@pytest.mark.parametrize("batched", [True, False])
def test_drop_mode_removes_elements_without_running_a_function(batched):
    """Drop mode's filter returns a flag its scan made, and the map after it only leaves
    the flag out: tf.data runs neither function (it short-circuits a function that hands
    back its inputs), where a predicate computing emptiness cost every batch ~55 µs of CPU."""
    ds = _cifar() if batched else _cifar().unbatch()
    nodes, library = _library(dc.validate(ds, "cifar10", on_error="drop", batched=batched))
    passing = [node for node in nodes if node.op in ("FilterDataset", "MapDataset")
               and any("datacheck" in name for name in _referenced(node.attr))]
    assert [node.op for node in passing] == ["FilterDataset", "MapDataset"]
    for node in passing:
        (name,) = _referenced(node.attr)
        assert {n.op for n in library[name].node_def} <= {"Identity"}, name
    # tf.data's map_parallelization would make the map parallel, and its threads would read
    # the scan ahead: a pass cut short (take, an iterator dropped) then ends early upstream
    # when a prefetch is cancelled, and the scan logged the short pass as complete.
    assert passing[1].attr["force_synchronous"].b


@pytest.mark.parametrize("static_batch", [False, True])
def test_the_end_marker_keeps_the_serialized_graph_small_and_the_counts_exact(static_batch):
    """A marker of a static batch size is made at run time: as a constant it would put a
    whole batch of zeros into the serialized graph (tf.data service, Dataset.save)."""
    rng = np.random.default_rng(0)
    x = rng.random((256, 32, 32, 3), dtype=np.float32)
    x[70] *= 255.0  # one unscaled image in the second batch
    ds = tf.data.Dataset.from_tensor_slices((x, rng.integers(0, 10, 256)))
    ds = ds.batch(64, drop_remainder=static_batch)
    validated = dc.validate(ds, "cifar10", on_error="drop")
    added = len(validated._as_serialized_graph().numpy()) - len(ds._as_serialized_graph().numpy())
    assert added < 400_000  # the judge is about 200 kB; a batch of zeros 786 kB
    for _ in range(2):
        assert sum(int(b[0].shape[0]) for b in validated) == 255
    passes = validated.report().stats["passes"]
    assert [(p["elements"], p["dropped"]) for p in passes] == [(256, 1), (256, 1)]


@pytest.mark.parametrize("every_pass", [False, True])
def test_lazy_cond_runs_only_the_taken_branch_and_what_follows_it(tmp_path, every_pass):
    """Switch/Merge gating: the skipped branch's side effects do not happen, and the stateful
    ops after it (an Assert, a print) still run whichever branch was taken; the same with
    the branch called directly (``every_pass``) as through a ``PartitionedCall``."""
    from datacheck.backends.tf.lazy import lazy_cond

    said = tmp_path / "said.txt"

    @tf.function
    def judged(ok: tf.Tensor, x: tf.Tensor) -> tf.Tensor:
        def describe() -> tuple[tf.Tensor, tf.Tensor]:
            printed = tf.print("described", output_stream=f"file://{said}")
            with tf.control_dependencies([printed]):
                return tf.reduce_all(x > 0), tf.strings.as_string(tf.reduce_sum(x))

        good, text = lazy_cond(ok, lambda: (tf.constant(True), tf.constant("")), describe,
                               every_pass=every_pass)
        checked = tf.debugging.Assert(good, [text])
        after = tf.print("after", output_stream=f"file://{said}")
        with tf.control_dependencies([checked, after]):
            return tf.identity(x)

    x = tf.constant([1.0, 2.0])
    assert judged(tf.constant(True), x).numpy().tolist() == [1.0, 2.0]
    assert said.read_text().split() == ["after"]
    assert judged(tf.constant(False), x).numpy().tolist() == [1.0, 2.0]
    assert said.read_text().split() == ["after", "described", "after"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="-3"):
        judged(tf.constant(False), tf.constant([-1.0, -2.0]))


@pytest.mark.parametrize("mode", ["drop", "collect"])
def test_a_pass_end_runs_a_function_started_with_the_iterator(mode):
    """What runs once at every pass's end (drop: the counts and the limit; collect: the pass
    count) is called directly: instantiated with the iterator, as a host function. Through a
    ``PartitionedCall`` it was instantiated as a multi-device function (placement, Grappler,
    oneDNN's layout pass) at each pass's end: about 12 ms a pass, an epoch's in Keras."""
    validated = dc.validate(_cifar(), "cifar10", on_error=mode)
    nodes, library = _library(validated)
    direct = {node.op for function in library.values() for node in function.node_def
              if node.op in library}
    assert direct, "no function is called directly"
    started = _started(nodes, library)
    assert direct & started, (sorted(direct), sorted(started))
    for name in direct & started:
        assert library[name].attr["_noinline"].b
    passes = 3
    for _ in range(passes):
        assert sum(int(b[0].shape[0]) for b in validated) == 256
    if mode == "drop":
        assert [p["elements"] for p in validated.report().stats["passes"]] == [256] * passes
    else:
        assert validated.report().stats["complete_passes"] == passes


def test_diagnostics_are_called_without_grappler_through_a_one_node_function():
    """A failing batch's diagnostics: a ``PartitionedCall`` (instantiated only when it runs)
    with Grappler off, of a function whose one node calls them directly, so that they are
    instantiated as a host function, not as a multi-device one. A pass with a failing
    batch took 216-260 ms with Grappler, 104-112 without, 85-87 through the one-node
    function (docs/performance.md)."""
    from tensorflow.core.protobuf import config_pb2

    validated = dc.validate(_cifar(), "cifar10", on_error="raise")
    _, library = _library(validated)
    calls = [node for function in library.values() for node in function.node_def
             if node.op == "StatefulPartitionedCall"]
    assert calls
    for node in calls:
        config = config_pb2.ConfigProto.FromString(node.attr["config_proto"].s)
        assert config.graph_options.rewrite_options.disable_meta_optimizer, node.name
        trampoline = library[node.attr["f"].func.name]
        assert trampoline.attr["_noinline"].b
        inner = [n.op for n in trampoline.node_def if n.op in library]
        assert len(inner) == 1 and library[inner[0]].attr["_noinline"].b, inner
