"""Read what a Keras 3 model expects, without training it.

Input shapes, the units and activation of each output head, the scaling
layers in front of the first weighted layer, and the compiled (or given)
loss with its ``from_logits``. Keras is imported only inside functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from datacheck.errors import DatacheckError
from datacheck.readers.registry import suffixes

#: Layers an output passes through unchanged in size (we look behind them for the head).
PASS_THROUGH = frozenset({
    "Activation", "Softmax", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "Flatten",
    "Reshape", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization",
    "Identity", "ReLU", "LeakyReLU", "ELU", "PReLU",
})
#: Layers that rescale inputs before the first weighted layer.
SCALING_LAYERS = frozenset({"Rescaling", "Normalization", "BatchNormalization",
                            "LayerNormalization"})
#: Layers whose presence in front means "the model may already scale": we cannot tell.
OPAQUE_LAYERS = frozenset({"Lambda", "TFSMLayer"})
#: Canonical loss names by family.
SPARSE_CE = frozenset({"sparse_categorical_crossentropy"})
CATEGORICAL_CE = frozenset({"categorical_crossentropy", "categorical_focal_crossentropy",
                            "kl_divergence", "kld", "kullback_leibler_divergence"})
BINARY_CE = frozenset({"binary_crossentropy", "binary_focal_crossentropy"})
REGRESSION = frozenset({"mean_squared_error", "mean_absolute_error", "huber", "log_cosh",
                        "mean_squared_logarithmic_error", "mean_absolute_percentage_error"})
_ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error",
            "msle": "mean_squared_logarithmic_error", "mape": "mean_absolute_percentage_error",
            "huber_loss": "huber", "logcosh": "log_cosh", "kld": "kl_divergence",
            "kullback_leibler_divergence": "kl_divergence"}


@dataclass(frozen=True)
class InputInfo:
    """One model input: name, element shape (no batch axis; None = any) and dtype."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str


@dataclass(frozen=True)
class OutputInfo:
    """One output head: units (size of the last axis), final activation, the layer setting it."""

    name: str
    units: int | None
    activation: str  # "softmax", "sigmoid", "linear", ..., or "unknown"
    layer: str
    shape: tuple[int | None, ...] = ()


@dataclass(frozen=True)
class LossInfo:
    """The loss for one output: canonical function name and ``from_logits``."""

    name: str
    from_logits: bool = False
    source: str = "compiled"  # or "argument"

    @property
    def family(self) -> str:
        """sparse, categorical, binary, regression or other."""
        for family, names in (("sparse", SPARSE_CE), ("categorical", CATEGORICAL_CE),
                              ("binary", BINARY_CE), ("regression", REGRESSION)):
            if self.name in names:
                return family
        return "other"

    def describe(self) -> str:
        return f"{self.name}(from_logits={self.from_logits})"


@dataclass(frozen=True)
class ScalingInfo:
    """An affine scaling in front of the first weighted layer: y = x * scale + offset."""

    layer: str
    kind: str
    scale: float
    offset: float
    adapted: bool = True

    def describe(self) -> str:
        if self.kind == "Rescaling":
            return f"Rescaling(scale={self.scale:.4g}, offset={self.offset:.4g}) '{self.layer}'"
        return f"{self.kind} '{self.layer}'"


@dataclass
class ModelInfo:
    """What a model expects, read from its structure and compile state."""

    name: str
    inputs: list[InputInfo]
    outputs: list[OutputInfo]
    losses: list[LossInfo | None]
    scaling: list[ScalingInfo] = field(default_factory=list)
    opaque_front: list[str] = field(default_factory=list)
    channels_first: bool = False
    compiled: bool = False
    #: Keras 3 functional models add/drop a trailing size-1 input axis themselves.
    adjusts_rank: bool = False

    def describe(self) -> str:
        ins = ", ".join(f"{_fmt(i.shape)}" for i in self.inputs) or "unknown (not built)"
        outs = ", ".join(f"{o.units} {o.activation}" for o in self.outputs) or "unknown"
        losses = ", ".join(loss.name for loss in self.losses if loss) or "none (not compiled)"
        return f"model '{self.name}': input {ins} -> output {outs}; loss {losses}"


def _fmt(shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def load_model(model: Any) -> Any:
    """Return a keras.Model: the model itself, or one loaded from a .keras/.h5 path."""
    if not isinstance(model, (str, Path)):
        if not hasattr(model, "layers") or not callable(getattr(model, "predict", None)):
            raise DatacheckError(f"doctor: model must be a keras.Model or a path to a .keras "
                                 f"file, got {type(model).__name__}.")
        return model
    path = Path(model)
    if not path.exists():
        raise DatacheckError(f"{path}: no such model file. Save it with model.save('m.keras').")
    if path.suffix.lower() not in (".keras", *suffixes("h5")):  # Keras 2 saved HDF5 too
        raise DatacheckError(f"{path}: not a Keras model file (.keras or .h5). Save it with "
                             "model.save('m.keras').")
    import warnings

    import keras

    try:
        with warnings.catch_warnings():
            # "Skipping variable loading for optimizer": irrelevant to a model that isn't trained.
            warnings.simplefilter("ignore")
            return keras.saving.load_model(path, compile=True)
    except Exception as exc:  # any failure inside Keras becomes one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise DatacheckError(f"{path}: Keras cannot load this model ({type(exc).__name__}: "
                             f"{first}). Custom layers? Load it yourself with custom_objects "
                             "and pass the model object.") from None


def read_model(model: Any, loss: Any = None) -> ModelInfo:
    """Describe a Keras 3 model; ``loss`` overrides (or supplies) the compiled loss.

    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])  # doctest: +SKIP
    >>> read_model(model).outputs[0].units  # doctest: +SKIP
    3
    """
    if isinstance(loss, str):
        import keras

        try:
            keras.losses.get(loss)
        except (ValueError, TypeError):
            raise DatacheckError(f"unknown loss {loss!r}: give a Keras loss name such as "
                                 "'sparse_categorical_crossentropy'.") from None
    inputs = _inputs(model) or _first_layer_input(model)
    outputs = _outputs(model)
    compiled = bool(getattr(model, "compiled", False))
    raw_loss, source = (loss, "argument") if loss is not None else (
        getattr(model, "loss", None) if compiled else None, "compiled")
    losses = _losses(raw_loss, [o.name for o in outputs] or ["output"], source)
    scaling, opaque = _front_layers(model)
    return ModelInfo(
        name=str(getattr(model, "name", "model")), inputs=inputs, outputs=outputs,
        losses=losses, scaling=scaling, opaque_front=opaque,
        channels_first=_channels_first(model), compiled=compiled,
        adjusts_rank=type(model).__name__ == "Functional" or
        getattr(model, "_functional", None) is not None)


def _inputs(model: Any) -> list[InputInfo]:
    try:
        tensors = list(model.inputs)
    except (AttributeError, ValueError, TypeError):  # unbuilt Sequential or subclassed model
        return []
    out = []
    for t in tensors:
        shape = tuple(None if d is None else int(d) for d in t.shape[1:])
        out.append(InputInfo(str(getattr(t, "name", "input")), shape, str(t.dtype)))
    return out


#: Element rank a first layer of this kind needs, for models built without an Input.
FIRST_LAYER_RANK = {"Conv1D": 2, "Conv2D": 3, "Conv3D": 4, "SeparableConv2D": 3,
                    "DepthwiseConv2D": 3, "Conv2DTranspose": 3, "MaxPooling2D": 3,
                    "AveragePooling2D": 3, "LSTM": 2, "GRU": 2, "SimpleRNN": 2}


def _first_layer_input(model: Any) -> list[InputInfo]:
    """An unbuilt model still tells the element rank its first layer needs."""
    layers = getattr(model, "layers", None) or []
    if not layers:
        return []
    first = layers[0]
    rank = FIRST_LAYER_RANK.get(type(first).__name__)
    if rank is None:
        return []
    return [InputInfo(f"first layer '{first.name}' ({type(first).__name__})", (None,) * rank,
                      "float32")]


def _activation_name(fn: Any) -> str:
    if fn is None:
        return "linear"
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return str(name).lower()


def _layer_activation(layer: Any) -> str | None:
    """Activation applied by ``layer``, or None when it applies none of its own."""
    kind = type(layer).__name__
    if kind == "Softmax":
        return "softmax"
    if kind in ("ReLU", "LeakyReLU", "ELU", "PReLU"):
        return kind.lower()
    if hasattr(layer, "activation"):
        name = _activation_name(layer.activation)
        return None if name == "linear" and kind == "Activation" else name
    return None


def _head(layer: Any, history: Any) -> tuple[Any, str | None]:
    """Walk back from an output layer through pass-through layers to the layer with units."""
    activation: str | None = None
    for _ in range(20):
        kind = type(layer).__name__
        act = _layer_activation(layer)
        if activation is None and act not in (None, "linear"):
            activation = act  # the outermost non-linear activation is what the loss sees
        if kind not in PASS_THROUGH or history is None:
            break
        nodes = getattr(layer, "_inbound_nodes", [])
        if not nodes:
            break
        node = nodes[history.node_index] if history.node_index < len(nodes) else nodes[0]
        parents = list(getattr(node, "input_tensors", []))
        if len(parents) != 1 or not hasattr(parents[0], "_keras_history"):
            break
        history = parents[0]._keras_history
        layer = history.operation
    return layer, activation


def _outputs(model: Any) -> list[OutputInfo]:
    try:
        tensors = list(model.outputs)
    except (AttributeError, ValueError, TypeError):
        tensors = []
    names = list(getattr(model, "output_names", None) or [])
    out: list[OutputInfo] = []
    for i, t in enumerate(tensors):
        history = getattr(t, "_keras_history", None)
        if history is None:
            continue
        layer, activation = _head(history.operation, history)
        if activation is None:
            own = _layer_activation(layer)
            activation = own if own is not None else (
                "linear" if type(layer).__name__ in ("Dense", "EinsumDense") or
                type(layer).__name__.startswith("Conv") else "unknown")
        shape = tuple(None if d is None else int(d) for d in t.shape[1:])
        units = shape[-1] if shape else 1
        name = names[i] if i < len(names) else str(layer.name)
        out.append(OutputInfo(name, units, activation, str(layer.name), shape))
    if out or not getattr(model, "layers", None):
        return out
    # Unbuilt Sequential: the last Dense still tells units and activation.
    last = model.layers[-1]
    units = getattr(last, "units", None)
    return [OutputInfo(str(last.name), units, _layer_activation(last) or "linear",
                       str(last.name))] if units is not None else []


def _loss_info(raw: Any, source: str) -> LossInfo | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        import keras

        try:
            fn = keras.losses.get(raw)
        except (ValueError, TypeError):
            return LossInfo(_ALIASES.get(raw, raw), False, source)
        name = getattr(fn, "__name__", raw)
        return LossInfo(_ALIASES.get(name, name), False, source)
    fn = getattr(raw, "fn", None)
    kwargs = dict(getattr(raw, "_fn_kwargs", None) or {})
    if fn is not None:
        name = getattr(fn, "__name__", type(raw).__name__)
    elif callable(raw) and hasattr(raw, "__name__"):
        name = raw.__name__
    else:
        name = str(getattr(raw, "name", type(raw).__name__))
    from_logits = bool(kwargs.get("from_logits", getattr(raw, "from_logits", False)))
    return LossInfo(_ALIASES.get(name, name), from_logits, source)


def _losses(raw: Any, output_names: list[str], source: str) -> list[LossInfo | None]:
    if isinstance(raw, dict):
        return [_loss_info(raw.get(name), source) for name in output_names]
    if isinstance(raw, (list, tuple)) or type(raw).__name__ == "ListWrapper":
        items = list(raw)
        if len(items) == 1:
            items = items * len(output_names)
        return [_loss_info(items[i] if i < len(items) else None, source)
                for i in range(len(output_names))]
    return [_loss_info(raw, source)] * len(output_names)


def _flat_layers(model: Any) -> list[Any]:
    out: list[Any] = []
    for layer in getattr(model, "layers", []):
        if getattr(layer, "layers", None) and type(layer).__name__ not in SCALING_LAYERS:
            out.extend(_flat_layers(layer))  # nested Sequential / sub-model
        else:
            out.append(layer)
    return out


def _front_layers(model: Any) -> tuple[list[ScalingInfo], list[str]]:
    """Scaling and opaque layers in front of the first layer with weights."""
    scaling: list[ScalingInfo] = []
    opaque: list[str] = []
    for layer in _flat_layers(model):
        kind = type(layer).__name__
        if kind == "Rescaling":
            scaling.append(ScalingInfo(layer.name, kind, float(np.mean(layer.scale)),
                                       float(np.mean(layer.offset))))
        elif kind == "Normalization" and not getattr(layer, "invert", False):
            scaling.append(_normalization(layer))
        elif kind in SCALING_LAYERS:
            # Batch/layer norm standardize whatever comes in: treat as a full z-score.
            scaling.append(ScalingInfo(layer.name, kind, float("nan"), float("nan")))
        elif kind in OPAQUE_LAYERS:
            opaque.append(f"{kind} '{layer.name}'")
        elif layer.weights and kind not in ("InputLayer",):
            break
    return scaling, opaque


def _normalization(layer: Any) -> ScalingInfo:
    try:
        mean = np.asarray(layer.mean, dtype=np.float64)
        var = np.asarray(layer.variance, dtype=np.float64)
    except (AttributeError, TypeError, ValueError):  # unbuilt: no statistics yet
        return ScalingInfo(layer.name, "Normalization", 1.0, 0.0, adapted=False)
    std = np.sqrt(np.maximum(var, 1e-12))
    adapted = not (getattr(layer, "input_mean", None) is None and np.all(mean == 0)
                   and np.all(var == 1))
    scale = float(np.mean(1.0 / std))
    return ScalingInfo(layer.name, "Normalization", scale, float(np.mean(-mean / std)), adapted)


def _channels_first(model: Any) -> bool:
    for layer in _flat_layers(model):
        fmt = getattr(layer, "data_format", None)
        if fmt is not None and type(layer).__name__.startswith(("Conv", "MaxPool", "AveragePool",
                                                                "Depthwise", "Separable")):
            return fmt == "channels_first"
    return False
