"""Safe files: weights as safetensors, everything else as JSON, never pickle; atomic writes.

A model file is one ``.safetensors`` file: the tensors of ``state_dict()`` plus, in its JSON
metadata, the architecture (class names and constructor arguments of chainrule modules, looked
up in an allow-list, so loading a stranger's file never runs code) and a SHA-256 of every
tensor's bytes, so truncated, flipped or tampered files fail loudly instead of loading a
silently wrong model. A checkpoint adds the optimizer state and the random generator's state,
so training resumes bit-identically.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any
from collections.abc import Iterator

import numpy as np

from .errors import ChainruleError, FileFormatError, MissingDependency

FORMAT = "chainrule"
VERSION = 1


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", **kwargs: Any) -> Iterator[Any]:
    """Write to a temporary file beside ``path``, flush, fsync, then rename over ``path``:
    a crash mid-write leaves the previous file intact.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_write(p, "w") as f:
    ...     _ = f.write("hello")
    >>> p.read_text()
    'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where the OS allows
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _umask() -> int:
    mask = os.umask(0)  # the only portable way to read it is to set it and put it back
    os.umask(mask)
    return mask


def _safetensors() -> Any:
    try:
        import safetensors.numpy as stn
    except ImportError as exc:
        raise MissingDependency("model files need the safetensors package: "
                                "pip install chainrule[files]") from exc
    return stn


def _digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_arrays(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write ``arrays`` and JSON-able ``meta`` to a safetensors file, atomically."""
    stn = _safetensors()
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    header = {"format": FORMAT, "json": json.dumps(meta), "sha256": _digest(arrays)}
    blob = stn.save(arrays, metadata=header)
    with atomic_write(path, "wb") as f:
        f.write(blob)


def load_arrays(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read and verify a file written by :func:`save_arrays`.

    Raises:
        FileFormatError: not a chainrule safetensors file, truncated, or its tensors do not
            match the recorded checksum.
    """
    stn = _safetensors()
    path = Path(path)
    try:
        blob = path.read_bytes()
    except FileNotFoundError as exc:
        raise FileFormatError(f"no such file: {path}") from exc
    except IsADirectoryError as exc:
        raise FileFormatError(f"{path} is a directory; expected a .safetensors file") from exc
    what = f"{path} is not a readable chainrule model file"
    if len(blob) < 8:
        raise FileFormatError(f"{what}: only {len(blob)} bytes (truncated or empty)")
    n = int.from_bytes(blob[:8], "little")
    if n <= 0 or 8 + n > len(blob):
        raise FileFormatError(f"{what}: its header claims {n} bytes but the file has {len(blob)} "
                              "(truncated, or another format)")
    try:
        header = json.loads(blob[8:8 + n]).get("__metadata__") or {}
        arrays = stn.load(blob)
    except Exception as exc:  # the parser's own errors vary by version; say what happened
        raise FileFormatError(f"{what}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise FileFormatError(f"{what}: a safetensors file without chainrule metadata")
    if _digest(arrays) != header.get("sha256"):
        raise FileFormatError(f"{path}: tensor data does not match its checksum (corrupted or "
                              "modified after saving)")
    try:
        meta = json.loads(header["json"])
    except (KeyError, ValueError) as exc:
        raise FileFormatError(f"{what}: its JSON metadata is damaged") from exc
    return arrays, meta


# --- architectures --------------------------------------------------------------------------

def _registry() -> dict[str, type]:
    """Every Module class that chainrule itself defines, by name (the allow-list)."""
    from . import models, nn  # noqa: F401 - importing registers the classes
    from .nn import Module
    out: dict[str, type] = {}
    stack = [Module]
    while stack:
        cls = stack.pop()
        if cls.__module__.startswith("chainrule."):
            out[cls.__name__] = cls
        stack.extend(cls.__subclasses__())
    return out


def _jsonable(value: Any, where: str) -> Any:
    from .nn import Module
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
    reg = _registry()
    name = arch.get("class") if isinstance(arch, dict) else None
    if name not in reg:
        raise FileFormatError(f"unknown module class {name!r} in the file; chainrule builds only "
                              "its own classes (pass model=... to load for your own)")
    return reg[name](*_unjson(arch.get("args", [])), **_unjson(arch.get("kwargs", {})))


# --- models and checkpoints -----------------------------------------------------------------

def save(model: Any, path: str | os.PathLike, metadata: dict[str, Any] | None = None) -> Path:
    """Save ``model`` (architecture and weights) to one safetensors file, atomically.

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
    meta = {"kind": "model", "version": VERSION, "architecture": architecture(model),
            "metadata": metadata or {}}
    save_arrays(path, {f"model/{k}": v for k, v in model.state_dict().items()}, meta)
    return Path(path)


def _split(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def load(path: str | os.PathLike, model: Any = None, with_metadata: bool = False) -> Any:
    """Load a model saved by :func:`save` (rebuilt from its architecture unless ``model`` is
    given, in which case the weights are loaded into it with strict key and shape checks).
    With ``with_metadata``, return ``(model, metadata)``: the dict given to :func:`save`.

    Raises:
        FileFormatError: a corrupt, truncated, tampered file or one of another format.
        StateError: weights that do not fit the given model.
    """
    arrays, meta = load_arrays(path)
    if meta.get("kind") not in ("model", "checkpoint"):
        raise FileFormatError(f"{path}: expected a model file; found kind {meta.get('kind')!r}")
    if model is None:
        model = build(meta["architecture"])
    model.load_state_dict(_split(arrays, "model/"))
    return (model, meta.get("metadata") or {}) if with_metadata else model


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


def save_checkpoint(path: str | os.PathLike, model: Any, optimizer: Any = None,
                    **extra: Any) -> Path:
    """Save model, optimizer and the global random generator's state (plus JSON-able
    ``extra`` such as epoch and history), atomically, so training resumes bit-identically."""
    from .random import get_state
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    opt = None if optimizer is None else _flatten_state(optimizer.state_dict(), "optim", arrays)
    meta = {"kind": "checkpoint", "version": VERSION, "architecture": _try_arch(model),
            "optimizer": opt, "rng": get_state(), "module_rngs": _module_rngs(model, None),
            "extra": extra}
    save_arrays(path, arrays, meta)
    return Path(path)


def _try_arch(model: Any) -> Any:
    try:
        return architecture(model)
    except ChainruleError:
        return None


def load_checkpoint(path: str | os.PathLike, model: Any, optimizer: Any = None) -> dict[str, Any]:
    """Restore a checkpoint into ``model`` (and ``optimizer``) and the global generator;
    return the ``extra`` values saved with it (epoch, history, ...)."""
    from .random import set_state
    arrays, meta = load_arrays(path)
    if meta.get("kind") != "checkpoint":
        raise FileFormatError(f"{path}: expected a checkpoint; found kind {meta.get('kind')!r}")
    model.load_state_dict(_split(arrays, "model/"))
    if optimizer is not None:
        if meta.get("optimizer") is None:
            raise FileFormatError(f"{path}: the checkpoint holds no optimizer state")
        optimizer.load_state_dict(_unflatten_state(meta["optimizer"], arrays))
    set_state(meta["rng"])
    _module_rngs(model, meta.get("module_rngs") or {})
    return meta.get("extra", {})


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
