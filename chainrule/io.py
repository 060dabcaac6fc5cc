"""Safe files: weights as safetensors, everything else as JSON, never pickle; atomic writes.

A model file is one ``.safetensors`` file: the tensors of ``state_dict()`` plus, in its JSON
metadata, the architecture (class names and constructor arguments of chainrule modules, looked
up in an allow-list, so loading a stranger's file never runs code). A checkpoint adds the
optimizer state and the random generators' states, so training resumes bit-identically;
:class:`Checkpoint` writes one during :func:`~chainrule.train.fit`. A state dict (name ->
array) saves and loads as it is, and a plain safetensors file (one PyTorch wrote, say) fills a
model given to :func:`load`.

The bytes, their SHA-256 over the whole file and the strict reading are
:mod:`chainrule.tensorfile`'s. Here, before a model is built from a file, its architecture's
parameter count (:data:`SIZE_RULES`) must match the stored tensors, so a 900-byte file cannot
ask for gigabytes; weights load only into parameters of the same kind of dtype; and a load
that fails changes nothing.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write
from .errors import ChainruleError, ConfigError, FileAccessError, FileFormatError, StateError
from .nn import Module
from .tensor import Tensor
from .tensorfile import MAX_DIM, VERSION, load_arrays, read, save_arrays
from .train import Callback, TrainState, mode_for
from .validate import check_bool, check_number

__all__ = ["save", "load", "load_model", "save_checkpoint", "load_checkpoint", "Checkpoint",
           "save_arrays", "load_arrays", "architecture", "build", "state_size", "SIZE_RULES",
           "atomic_write"]


@contextlib.contextmanager
def _interpreting(path: Any, what: str) -> Iterator[None]:
    """Turn any error met while interpreting a verified file's contents into a
    FileFormatError naming the file (its contents are data, not trusted code)."""
    try:
        yield
    except (FileFormatError, FileAccessError):
        raise
    except Exception as exc:  # the file is untrusted input: any failure is its damage
        raise FileFormatError(f"{path}: {what} ({type(exc).__name__}: {exc})") from exc


# --- architectures --------------------------------------------------------------------------

def _registry() -> dict[str, type]:
    """Every public Module class that chainrule itself defines, by name (the allow-list)."""
    from . import models, nn  # noqa: F401 - importing registers the classes
    out: dict[str, type] = {}
    stack = [Module]
    while stack:
        cls = stack.pop()
        if cls.__module__.startswith("chainrule.") and not cls.__name__.startswith("_"):
            out[cls.__name__] = cls
        stack.extend(cls.__subclasses__())
    return out


def _jsonable(value: Any, where: str) -> Any:
    if isinstance(value, Module):
        return {"__module__": architecture(value)}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, where) for k, v in value.items()}
    if isinstance(value, np.random.Generator) or value is None:
        return None  # seeds only shape the initial weights, which the file holds
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.dtype) or isinstance(value, type) and issubclass(value, np.generic):
        return np.dtype(value).name
    if isinstance(value, (bool, int, float, str)):
        return value
    raise ChainruleError(f"save: cannot describe argument {value!r} of {where} in JSON; pass "
                         "the model to load(path, model=...) instead of saving its architecture")


def architecture(module: Any) -> dict[str, Any]:
    """The JSON description of a module: its class and constructor arguments, recursively."""
    from .nn import ModuleList, Sequential
    if type(module) is Sequential:  # containers may have grown since construction
        args, kwargs = tuple(module), {}
    elif type(module) is ModuleList:
        args, kwargs = (list(module),), {}
    else:
        args, kwargs = getattr(module, "_init_args", ((), {}))
    name = type(module).__name__
    return {"class": name, "args": _jsonable(list(args), name), "kwargs": _jsonable(kwargs, name)}


def _described(arch: Any) -> tuple[type, list, dict]:
    """The class, args and kwargs of a module description, checked."""
    if not isinstance(arch, dict) or "class" not in arch or not set(arch) <= {"class", "args", "kwargs"}:
        raise FileFormatError(f"a module is described by {{class, args, kwargs}}; got {arch!r:.80}")
    reg = _registry()
    name, args, kwargs = arch["class"], arch.get("args", []), arch.get("kwargs", {})
    if not isinstance(name, str) or name not in reg:
        raise FileFormatError(f"unknown module class {name!r} in the file; chainrule builds only "
                              "its own classes (pass model=... to load for your own)")
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise FileFormatError(f"{name}'s args must be a list and its kwargs an object")
    return reg[name], args, kwargs


def _unjson(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"__module__"}:
        return build(value["__module__"])
    if isinstance(value, list):
        return [_unjson(v) for v in value]
    if isinstance(value, dict):
        return {k: _unjson(v) for k, v in value.items()}
    return value


def build(arch: dict[str, Any]) -> Any:
    """A fresh module from :func:`architecture`'s description (chainrule classes only)."""
    cls, args, kwargs = _described(arch)
    return cls(*_unjson(args), **_unjson(kwargs))


def _dim(v: Any, low: int = 0) -> int:
    if type(v) is not int or not low <= v <= MAX_DIM:
        raise FileFormatError(f"expected a size of at least {low}; got {v!r}")
    return v


def _flag(v: Any) -> int:
    if v not in (True, False):
        raise FileFormatError(f"expected true or false; got {v!r}")
    return int(bool(v))


def _dims(v: Any, n: int) -> list[int]:
    return [_dim(v)] * n if type(v) is int else [_dim(d) for d in v] if isinstance(v, list) else [_dim(v)]


def _conv(a: dict[str, Any], n: int) -> int:
    out, groups = _dim(a["out_channels"]), _dim(a["groups"], 1)
    return out * (_dim(a["in_channels"]) // groups) * math.prod(_dims(a["kernel_size"], n)) \
        + out * _flag(a["bias"])


def _conv_transpose(a: dict[str, Any], n: int) -> int:
    inp, groups = _dim(a["in_channels"]), _dim(a["groups"], 1)
    return inp * (_dim(a["out_channels"]) // groups) * math.prod(_dims(a["kernel_size"], n)) \
        + _dim(a["out_channels"]) * _flag(a["bias"])


def _attention(a: dict[str, Any]) -> int:
    e, b = _dim(a["embed_dim"]), _flag(a["bias"])
    kd = e if a["kdim"] is None else _dim(a["kdim"])
    vd = e if a["vdim"] is None else _dim(a["vdim"])
    return e * (e + kd + vd) + 3 * e * b + e * e + e * b  # q, k, v and out projections


def _encoder_layer(a: dict[str, Any]) -> int:
    d, ff, b = _dim(a["d_model"]), _dim(a["dim_feedforward"]), _flag(a["bias"])
    attention = 4 * d * d + 4 * d * b
    return attention + 2 * d * ff + (ff + d) * b + 2 * (d + d * b)  # two linears, two norms


def _weighted_loss(a: dict[str, Any]) -> int:
    """A loss's class weights (and BCE's pos_weight): buffers of the lengths given."""
    n = 0
    for k in ("weight", "pos_weight"):
        v = a.get(k)
        if v is not None:
            if not isinstance(v, list):
                raise FileFormatError(f"expected a list of {k} values; got {type(v).__name__}")
            n += len(v)
    return n


def _instance_norm(a: dict[str, Any]) -> int:
    c = _dim(a["num_features"])
    return 2 * c * _flag(a["affine"]) + (2 * c + 1) * _flag(a["track_running_stats"])


def _rnn(a: dict[str, Any], gates: int) -> int:
    i, h, layers = _dim(a["input_size"]), _dim(a["hidden_size"]), _dim(a["num_layers"], 1)
    return gates * h * (i + (layers - 1) * h + layers * (h + 2 * _flag(a["bias"])))


def _norm(a: dict[str, Any]) -> int:
    affine = _flag(a["elementwise_affine"])
    return math.prod(_dims(a["normalized_shape"], 1)) * (affine + affine * _flag(a["bias"]))


def _mlp(a: dict[str, Any]) -> int:
    s = _dims(a["sizes"], 1)
    return sum(m * n + n * _flag(a.get("bias", True)) for m, n in zip(s, s[1:]))


#: The number of values (parameters and buffers) each class holds, from its constructor's
#: arguments alone: checked against the file before anything is built. A class in neither
#: table is built only if none of its integer arguments exceeds the values stored.
SIZE_RULES = {
    "Linear": lambda a: _dim(a["in_features"]) * _dim(a["out_features"])
    + _flag(a["bias"]) * _dim(a["out_features"]),
    "Conv1d": lambda a: _conv(a, 1), "Conv2d": lambda a: _conv(a, 2),
    "Conv3d": lambda a: _conv(a, 3), "ConvTranspose1d": lambda a: _conv_transpose(a, 1),
    "ConvTranspose2d": lambda a: _conv_transpose(a, 2),
    "ConvTranspose3d": lambda a: _conv_transpose(a, 3),
    "MultiheadAttention": _attention, "TransformerEncoderLayer": _encoder_layer,
    "GroupNorm": lambda a: 2 * _dim(a["num_channels"]) * _flag(a["affine"]),
    "InstanceNorm1d": _instance_norm, "InstanceNorm2d": _instance_norm,
    "PReLU": lambda a: _dim(a["num_parameters"]),
    "BCELoss": _weighted_loss, "BCEWithLogitsLoss": _weighted_loss,
    "CrossEntropyLoss": _weighted_loss, "NLLLoss": _weighted_loss,
    "Embedding": lambda a: _dim(a["num_embeddings"]) * _dim(a["embedding_dim"]),
    "BatchNorm1d": lambda a: _dim(a["num_features"]) * 2 * _flag(a["affine"])
    + (2 * _dim(a["num_features"]) + 1) * _flag(a["track_running_stats"]),
    "LayerNorm": _norm, "MLP": _mlp,
    "RNN": lambda a: _rnn(a, 1), "RNNBase": lambda a: _rnn(a, 1),
    "GRU": lambda a: _rnn(a, 3), "LSTM": lambda a: _rnn(a, 4),
    "LogisticRegression": lambda a: _dim(a["n_features"]) + 1,
    "Perceptron": lambda a: _dim(a["n_features"]) + 1,
}
SIZE_RULES["BatchNorm2d"] = SIZE_RULES["SyncBatchNorm"] = SIZE_RULES["BatchNorm1d"]
PARAMETER_FREE = frozenset(
    "AdaptiveAvgPool1d AdaptiveAvgPool2d AvgPool1d AvgPool2d MaxPool1d MaxPool2d "
    "MSELoss L1Loss HuberLoss SmoothL1Loss KLDivLoss Dropout Dropout1d Dropout2d ELU GELU "
    "CELU SELU SiLU Mish Hardswish Hardsigmoid LogSigmoid Softsign Softmin Unflatten ModuleDict "
    "Identity LeakyReLU "
    "LogSoftmax ReLU Sigmoid Softmax Softplus Tanh Flatten Sequential ModuleList Module "
    "AvgPool3d MaxPool3d MaxUnpool1d MaxUnpool2d MaxUnpool3d Upsample UpsamplingBilinear2d "
    "UpsamplingNearest2d".split())


def _walk(value: Any, modules: list, ints: list) -> None:
    """Collect the module descriptions and the integers inside constructor arguments."""
    if isinstance(value, dict) and set(value) == {"__module__"}:
        modules.append(value["__module__"])
    elif isinstance(value, (list, tuple, dict)):
        for v in value.values() if isinstance(value, dict) else value:
            _walk(v, modules, ints)
    elif type(value) is int:
        ints.append(value)


def state_size(arch: Any, stored: int) -> int | None:
    """The number of values a module described by ``arch`` would hold, computed without
    building it (None where a class has no rule); ``stored`` bounds the integer arguments of
    classes without one.

    >>> state_size({"class": "MLP", "args": [[4, 20000, 20000, 3]], "kwargs": {}}, 67)
    400180003
    """
    cls, args, kwargs = _described(arch)
    try:
        bound = inspect.signature(cls).bind(*args, **kwargs)
    except TypeError as exc:
        raise FileFormatError(f"{cls.__name__}: {exc}") from exc
    bound.apply_defaults()
    modules: list = []
    ints: list = []  # a seed is no size
    _walk([v for k, v in bound.arguments.items() if k != "rng"], modules, ints)
    own: int | None = 0
    if cls.__name__ in SIZE_RULES:
        try:
            own = SIZE_RULES[cls.__name__](bound.arguments)
        except (KeyError, TypeError) as exc:
            raise FileFormatError(f"{cls.__name__}: arguments {bound.arguments} ({exc})") from exc
    elif cls.__name__ not in PARAMETER_FREE:
        if any(abs(n) > max(stored, 1024) for n in ints):
            raise FileFormatError(f"{cls.__name__}: an argument exceeds the {stored} values stored")
        own = None
    sizes = [own] + [state_size(m, stored) for m in modules]
    return None if None in sizes else sum(sizes)


def _rebuild(arch: Any, tensors: dict[str, np.ndarray], path: Any) -> Any:
    """The model ``arch`` describes, built only once its size matches the stored tensors."""
    if arch is None:
        raise FileFormatError(f"{path}: the file holds no architecture (it could not be "
                              "described when saved); pass the model to fill: load(path, model)")
    stored = sum(a.size for a in tensors.values())
    with _interpreting(path, "its architecture is damaged"):
        try:
            implied = state_size(arch, stored)
        except FileFormatError as exc:
            raise FileFormatError(f"{path}: its architecture is damaged: {exc}") from exc
        if implied is not None and implied != stored:
            raise FileFormatError(f"{path}: its architecture ({arch['class']}) holds {implied} "
                                  f"values but the file stores {stored} (damaged or edited)")
        return build(arch)


# --- models and checkpoints -----------------------------------------------------------------

def _fill(model: Any, tensors: dict[str, np.ndarray], path: Any, rebuilt: bool = False) -> None:
    """Load ``tensors`` into ``model`` all or nothing, after checking each array's kind of
    dtype against its parameter's (an integer, boolean or complex array never becomes float
    weights); float widths convert, as in PyTorch."""
    if not isinstance(model, Module):
        raise ConfigError(f"load {path}: model must be a chainrule Module to fill; got "
                          f"{type(model).__name__}")
    own = dict(model.named_parameters()) | dict(model.named_buffers())
    group = {"f": "f", "i": "i", "u": "i", "b": "b", "c": "c"}
    wrong = [f"{k} (expected {t.data.dtype}, got {tensors[k].dtype})" for k, t in own.items()
             if k in tensors and group.get(tensors[k].dtype.kind) != group.get(t.data.dtype.kind)]
    try:
        if wrong:
            raise StateError(f"load_state_dict into {type(model).__name__} failed: arrays of "
                             f"another kind of dtype: {', '.join(wrong)}")
        model.load_state_dict(tensors)
    except StateError as exc:
        if rebuilt:
            raise FileFormatError(f"{path}: its tensors do not fit the architecture it "
                                  f"describes: {exc}") from exc
        raise StateError(f"{path}: {exc}") from exc


def _state_arrays(state: dict[str, Any]) -> dict[str, np.ndarray]:
    return {k: v.numpy() if isinstance(v, Tensor) else v for k, v in state.items()}


def save(model: Any, path: str | os.PathLike, metadata: dict[str, Any] | None = None) -> Path:
    """Save ``model`` (architecture and weights), or a state dict (name → array, e.g.
    ``model.state_dict()``), to one safetensors file, atomically.

    >>> import tempfile, pathlib
    >>> from chainrule import nn
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "net.safetensors"
    >>> _ = save(nn.Sequential(nn.Linear(2, 3), nn.ReLU()), p)
    >>> load(p)
    Sequential(
      (0): Linear(in_features=2, out_features=3, bias=True)
      (1): ReLU()
    )
    """
    if isinstance(model, dict):
        save_arrays(path, _state_arrays(model), {"kind": "state_dict", "metadata": metadata or {}})
    elif isinstance(model, Module):
        meta = {"kind": "model", "version": VERSION, "architecture": architecture(model),
                "metadata": metadata or {}}
        save_arrays(path, {f"model/{k}": v for k, v in model.state_dict().items()}, meta)
    else:
        raise ConfigError(f"save expects a Module or a state dict (name -> array); got "
                          f"{type(model).__name__}")
    return Path(path)


def _split(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def load(path: str | os.PathLike, model: Any = None, with_metadata: bool = False) -> Any:
    """Load what :func:`save` saved: a model (rebuilt from its architecture unless ``model``
    is given, in which case the weights are loaded into it with strict key, shape and dtype
    checks), or a state dict as a dict of arrays. A plain safetensors file (one PyTorch
    wrote, say) is a state dict too, and fills ``model`` when one is given. With
    ``with_metadata``, return ``(model, metadata)``: the dict given to :func:`save`.

    Raises:
        FileFormatError: a corrupt, truncated, tampered file, one of another format or of a
            newer chainrule, a pipe or device instead of a file.
        FileAccessError: a missing or unreadable file (also an ``OSError``).
        StateError: weights that do not fit the given model (names, shapes or dtypes).
    """
    arrays, meta, strings = read(path)
    kind = "state_dict" if meta is None else meta["kind"]
    info = strings if meta is None else meta.get("metadata") or {}
    if not isinstance(info, dict):
        raise FileFormatError(f"{path}: its metadata is not an object")
    tensors = arrays if kind == "state_dict" else _split(arrays, "model/")
    if model is not None:
        _fill(model, tensors, path)
    elif kind == "state_dict":
        model = arrays
    else:
        model = _rebuild(meta.get("architecture"), tensors, path)
        _fill(model, tensors, path, rebuilt=True)
    return (model, info) if with_metadata else model


def load_model(path: str | os.PathLike) -> Any:
    """A model file as a :class:`~chainrule.models.saved.SavedModel`: the model with the
    feature names, classes and standardization saved beside it (a file saved from Python
    without them: features by position, nothing standardized)."""
    from .models.saved import SavedModel  # NOTE: io sits below models; the import goes down
    model, meta = load(path, with_metadata=True)
    if not isinstance(model, Module):
        raise FileFormatError(f"{path} holds a state dict, not a model; load it with "
                              "load(path, model)")
    with _interpreting(path, "its metadata is damaged"):
        return SavedModel.from_metadata(model, meta, str(path))


def _flatten_state(state: Any, prefix: str, arrays: dict[str, np.ndarray]) -> Any:
    """JSON skeleton of a nested state with its arrays moved into ``arrays``."""
    if isinstance(state, np.ndarray):
        key = f"{prefix}"
        arrays[key] = state
        return {"__array__": key}
    if isinstance(state, dict):
        return {"__dict__": [[_flatten_state(k, f"{prefix}.k{i}", arrays),
                              _flatten_state(v, f"{prefix}.{i}", arrays)]
                             for i, (k, v) in enumerate(state.items())]}
    if isinstance(state, (list, tuple)):
        return {"__list__" if isinstance(state, list) else "__tuple__":
                [_flatten_state(v, f"{prefix}.{i}", arrays) for i, v in enumerate(state)]}
    if isinstance(state, (np.integer, np.floating, np.bool_)):
        return state.item()
    return state


def _unflatten_state(skel: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(skel, dict):
        if "__array__" in skel:
            return arrays[skel["__array__"]]
        if "__dict__" in skel:
            return {_unflatten_state(k, arrays): _unflatten_state(v, arrays) for k, v in skel["__dict__"]}
        if "__list__" in skel:
            return [_unflatten_state(v, arrays) for v in skel["__list__"]]
        if "__tuple__" in skel:
            return tuple(_unflatten_state(v, arrays) for v in skel["__tuple__"])
    return skel


def save_checkpoint(path: str | os.PathLike, model: Any, optimizer: Any = None, *,
                    loader: Any = None, callbacks: Any = (), **extra: Any) -> Path:
    """Save what training needs to resume bit-identically, atomically: the model, the
    optimizer, the global random generator and the modules' own (dropout's), the training
    loader's shuffling state (its generator and sampler), the states of the ``callbacks`` that
    have one (a learning-rate schedule, early stopping), and JSON-able ``extra`` (epoch,
    history). :class:`Checkpoint` does this during :func:`~chainrule.train.fit`; resume with
    ``fit(..., resume=load_checkpoint(path, model, optimizer))``."""
    from .random import get_state
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    opt = None if optimizer is None else _flatten_state(optimizer.state_dict(), "optim", arrays)
    train_state = {
        "loader": loader.state_dict() if hasattr(loader, "state_dict") else None,
        "callbacks": [[type(cb).__name__, cb.state_dict()] for cb in callbacks
                      if hasattr(cb, "state_dict")]}
    meta = {"kind": "checkpoint", "version": VERSION, "architecture": _try_arch(model),
            "optimizer": opt, "rng": get_state(), "module_rngs": _module_rngs(model, None),
            "train_state": _flatten_state(train_state, "train", arrays), "extra": extra}
    save_arrays(path, arrays, meta)
    return Path(path)


def _try_arch(model: Any) -> Any:
    try:
        return architecture(model)
    except ChainruleError:
        return None


@contextlib.contextmanager
def _all_or_nothing(path: Any, model: Any, *stateful: Any) -> Iterator[None]:
    """Restore ``model``, each of ``stateful`` (objects with ``state_dict``/``load_state_dict``
    such as an optimizer) and the random generators if the block fails: a load that fails
    changes nothing. Errors that are not chainrule's become a FileFormatError naming ``path``."""
    from .random import get_state, set_state
    saved = [(obj, obj.state_dict()) for obj in (model, *stateful) if obj is not None]
    # an optimizer's load merges hyperparameters into its groups: restore the dicts themselves
    groups = [(g, dict(g)) for obj in stateful for g in getattr(obj, "param_groups", ())]
    rngs, module_rngs = get_state(), _module_rngs(model, None)
    try:
        yield
    except BaseException as exc:
        for obj, state in saved:
            obj.load_state_dict(state)
        for group, items in groups:
            group.clear()
            group.update(items)
        set_state(rngs)
        _module_rngs(model, module_rngs)
        if not isinstance(exc, Exception) or isinstance(exc, ChainruleError) and str(path) in str(exc):
            raise
        if isinstance(exc, (StateError, ConfigError)):  # the file does not fit this optimizer
            raise type(exc)(f"{path}: {exc}") from exc
        raise FileFormatError(f"{path}: its contents are damaged ({type(exc).__name__}: "
                              f"{exc})") from exc


def load_checkpoint(path: str | os.PathLike, model: Any, optimizer: Any = None) -> dict[str, Any]:
    """Restore a checkpoint into ``model`` (and ``optimizer``) and the random generators;
    return the ``extra`` values saved with it (epoch, history, ...) and, under
    ``"train_state"``, the loader's and the callbacks' states: pass the whole dict to
    ``fit(..., resume=...)`` to go on where training stopped. A load that fails leaves the
    model, the optimizer and the generators as they were."""
    from .random import set_state
    arrays, meta = load_arrays(path)
    if meta.get("kind") != "checkpoint":
        raise FileFormatError(f"{path}: expected a checkpoint; found kind {meta.get('kind')!r}")
    with _all_or_nothing(path, model, optimizer):
        _fill(model, _split(arrays, "model/"), path)
        if optimizer is not None:
            if meta.get("optimizer") is None:
                raise FileFormatError(f"{path}: the checkpoint holds no optimizer state")
            optimizer.load_state_dict(_unflatten_state(meta["optimizer"], arrays))
        set_state(meta["rng"])
        _module_rngs(model, meta.get("module_rngs") or {})
        out = dict(meta.get("extra", {}))
        if meta.get("train_state") is not None:
            out["train_state"] = _unflatten_state(meta["train_state"], arrays)
    return out


def _module_rngs(model: Any, restore: dict[str, Any] | None) -> dict[str, Any]:
    """The states of generators that modules own (e.g. Dropout's), by ``module.attribute``;
    with ``restore``, set them from it instead."""
    states = {}
    for name, module in model.named_modules():
        for attr, value in vars(module).items():
            if isinstance(value, np.random.Generator):
                key = f"{name}.{attr}" if name else attr
                if restore is None:
                    states[key] = value.bit_generator.state
                elif key in restore:
                    value.bit_generator.state = restore[key]
    return states


class Checkpoint(Callback):
    """A :func:`~chainrule.train.fit` callback: save a resumable checkpoint (model, optimizer,
    random states, the loader's shuffling, the other callbacks' states, epoch and history)
    with :func:`save_checkpoint`, after every callback has seen the epoch.

    Args:
        path: the checkpoint file, overwritten atomically each time.
        every: epochs between saves (with ``save_best_only``: between checks).
        monitor: the logged value that decides "best" (e.g. "val_loss"); needed for
            ``save_best_only``.
        save_best_only: save only when ``monitor`` beats its best so far, so the file holds
            the best epoch (Keras's ModelCheckpoint).
        mode: "min", "max" or "auto" (max for accuracy, likelihood and score).

    Raises:
        ConfigError: invalid ``every`` or ``mode``, ``save_best_only`` without ``monitor``,
            (during fit) a ``monitor`` the logs do not have.

    >>> Checkpoint("run.safetensors", every=5).every
    5
    """

    root_only = True  # in a data-parallel fit, rank 0 alone writes the file

    def __init__(self, path: str | os.PathLike, every: int = 1, monitor: str | None = None,
                 save_best_only: bool = False, mode: str = "auto") -> None:
        where = "Checkpoint"
        self.path = Path(path)
        self.every = check_number(every, "every", where, low=1, integer=True)
        self.save_best_only = check_bool(save_best_only, "save_best_only", where)
        if self.save_best_only and monitor is None:
            raise ConfigError("Checkpoint: save_best_only needs a monitor, e.g. "
                              "monitor='val_loss'")
        self.monitor = monitor
        self.mode = mode_for(monitor or "", mode, where)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0

    def after_epoch(self, state: TrainState) -> None:
        if state.epoch % self.every:
            return
        if self.monitor is not None:
            if self.monitor not in state.logs:
                raise ConfigError(f"Checkpoint monitors {self.monitor!r} but the logs have "
                                  f"{sorted(state.logs)}")
            value = float(state.logs[self.monitor])
            better = value < self.best if self.mode == "min" else value > self.best
            if better:
                self.best, self.best_epoch = value, state.epoch
            elif self.save_best_only:
                return
        save_checkpoint(self.path, state.model, state.optimizer, loader=state.loader,
                        callbacks=state.callbacks, epoch=state.epoch,
                        history=state.history.epochs)

    def state_dict(self) -> dict[str, Any]:
        """The best value so far and its epoch, to resume."""
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])
