"""Safe files: weights as safetensors, everything else as JSON, never pickle; atomic writes.

A model file is one ``.safetensors`` file: the tensors of ``state_dict()`` plus, in its JSON
metadata, the architecture (class names and constructor arguments of chainrule modules, looked
up in an allow-list, so loading a stranger's file never runs code). A checkpoint adds the
optimizer state and the random generators' states, so training resumes bit-identically;
:class:`Checkpoint` writes one during :func:`~chainrule.train.fit`.

The file (format version 2) is plain safetensors: 8 bytes giving the header's length, a JSON
header, the tensors' bytes. The header's ``__metadata__`` holds four strings: ``format``
(``"chainrule"``), ``version`` (``"2"``), ``json`` (the metadata above as canonical JSON:
sorted keys, no spaces) and ``sha256``: the SHA-256 of the whole file, header and tensors,
read with those 64 hex digits as ``0``. Any changed byte, in the header or the data, fails the
check, so a damaged file never loads as a different model. Header keys are sorted and nothing
depends on the clock, so identical saves write identical bytes (safetensors' own writer orders
metadata at random, hence the 30 lines of writer below). Reading checks before it allocates:
a regular file, a bounded header, no duplicated JSON key, a bounded nesting depth, tensors that
tile the data exactly, and an architecture whose parameter count matches the stored tensors.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import inspect
import json
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write, open_regular
from .backend import to_host
from .errors import ChainruleError, ConfigError, FileAccessError, FileFormatError, StateError
from .nn import Module
from .tensor import Tensor
from .train import Callback, TrainState
from .validate import check_number

__all__ = ["save", "load", "load_model", "save_checkpoint", "load_checkpoint", "Checkpoint",
           "save_arrays", "load_arrays", "architecture", "build", "atomic_write"]

FORMAT = "chainrule"
VERSION = 2
KINDS = ("model", "checkpoint", "state_dict")
MAX_HEADER = 100_000_000  # bytes; safetensors' own limit
MAX_DEPTH = 64  # JSON nesting levels (a model file needs about 20)
_MAX_DIM = 2 ** 48
_DTYPES = {"BOOL": "|b1", "U8": "|u1", "I8": "|i1", "U16": "<u2", "I16": "<i2", "F16": "<f2",
           "U32": "<u4", "I32": "<i4", "F32": "<f4", "U64": "<u8", "I64": "<i8", "F64": "<f8",
           "C64": "<c8"}
_CODES = {np.dtype(v): k for k, v in _DTYPES.items()}
_ZEROS = b"0" * 64


# --- strict JSON ------------------------------------------------------------------------------

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)


def _depth(text: str) -> int:
    """How deeply ``text``'s arrays and objects nest, counted without parsing (so a hostile
    file cannot exhaust the parser's stack)."""
    b = np.frombuffer(_STRING.sub("", text).encode(), np.uint8)
    step = np.isin(b, (91, 123)).astype(np.int64) - np.isin(b, (93, 125))
    return int(np.cumsum(step).max(initial=0))


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"the key {dup!r} appears twice in one object")
    return out


def _json(text: bytes | str, path: Any, what: str) -> Any:
    """Parse ``text`` strictly: UTF-8, nested at most MAX_DEPTH deep, no duplicated key."""
    bad = f"{path} is not a readable chainrule model file: its {what}"
    try:
        text = text.decode("utf-8") if isinstance(text, bytes) else text
        depth = _depth(text)
        if depth > MAX_DEPTH:
            raise FileFormatError(f"{bad} nests {depth} levels deep (at most {MAX_DEPTH})")
        return json.loads(text, object_pairs_hook=_unique)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeError included
        if isinstance(exc, ChainruleError):
            raise
        raise FileFormatError(f"{bad} is damaged ({exc})") from exc


# --- the safetensors container --------------------------------------------------------------

def _write(path: Any, arrays: dict[str, np.ndarray], strings: dict[str, str]) -> None:
    """Write ``arrays`` with metadata ``strings`` as safetensors, atomically; where
    ``strings`` has a ``sha256`` of 64 zeros, fill in the digest of the whole file."""
    order = sorted(arrays, key=lambda k: (-arrays[k].dtype.itemsize, k))  # aligned data
    header: dict[str, Any] = {"__metadata__": strings}
    offset = 0
    for k in order:
        a = arrays[k]
        header[k] = {"dtype": _CODES[a.dtype], "shape": list(a.shape),
                     "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    head = bytearray(len(text).to_bytes(8, "little") + text)
    data = [arrays[k].reshape(-1).view(np.uint8) for k in order]
    if strings.get("sha256") == _ZEROS.decode():
        marker = b'"sha256":"' + _ZEROS + b'"'
        assert head.count(marker) == 1  # other strings are escaped JSON: no quote can match
        at = head.index(marker) + 10
        h = hashlib.sha256(head)
        for d in data:
            h.update(d)
        head[at:at + 64] = h.hexdigest().encode()
    with atomic_write(path, "wb") as f:
        f.write(head)
        for d in data:
            f.write(d)


def _read_exactly(f: Any, n: int, path: Any) -> bytearray:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = f.readinto(view[got:])
        if not k:
            raise FileFormatError(f"{path} is not a readable chainrule model file: it ended "
                                  f"after {got} of {n} bytes (changed while reading)")
        got += k
    return buf


def _entries(header: Any, data_len: int, path: Any) -> dict[str, tuple[np.dtype, tuple, int]]:
    """The tensors a header declares, as name → (dtype, shape, start), once each is checked
    and together they tile the ``data_len`` data bytes exactly."""
    bad = f"{path} is not a readable chainrule model file:"
    if not isinstance(header, dict):
        raise FileFormatError(f"{bad} its header is not a JSON object")
    entries, spans = {}, []
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}:
            raise FileFormatError(f"{bad} tensor {name!r} is not {{dtype, shape, data_offsets}}")
        code, shape, span = e["dtype"], e["shape"], e["data_offsets"]
        if code not in _DTYPES:
            raise FileFormatError(f"{bad} tensor {name!r} has dtype {code!r}; NumPy reads "
                                  f"{', '.join(_DTYPES)} (bfloat16 and float8 have no NumPy type)")
        if not isinstance(shape, list) or len(shape) > 32 or \
                any(type(d) is not int or not 0 <= d <= _MAX_DIM for d in shape):
            raise FileFormatError(f"{bad} tensor {name!r} has shape {shape!r}")
        if not isinstance(span, list) or len(span) != 2 or \
                any(type(d) is not int or not 0 <= d <= data_len for d in span):
            raise FileFormatError(f"{bad} tensor {name!r} has data offsets {span!r} outside the "
                                  f"{data_len} data bytes")
        dtype = np.dtype(_DTYPES[code])
        if span[1] - span[0] != math.prod(shape) * dtype.itemsize:
            raise FileFormatError(f"{bad} tensor {name!r} of shape {shape} ({code}) spans "
                                  f"{span[1] - span[0]} bytes")
        entries[name] = (dtype, tuple(shape), span[0])
        spans.append((span[0], span[1], name))
    end = 0
    for start, stop, name in sorted(spans):
        if start != end:
            raise FileFormatError(f"{bad} tensor {name!r} starts at byte {start}, not {end} "
                                  "(overlapping tensors or a gap)")
        end = stop
    if end != data_len:
        raise FileFormatError(f"{bad} its tensors cover {end} bytes but {data_len} follow the "
                              "header (truncated, or bytes appended)")
    return entries


def _read_container(path: Any) -> tuple[dict, dict[str, str], bytearray, bytearray]:
    """The entries, metadata strings, head (length + header) and data of a safetensors file,
    all checked before the data is read."""
    bad = f"{path} is not a readable chainrule model file:"
    with open_regular(path, "a .safetensors model file") as (f, size):
        if size < 10:
            raise FileFormatError(f"{bad} only {size} bytes (truncated or empty)")
        head = _read_exactly(f, 8, path)
        n = int.from_bytes(head, "little")
        if not 2 <= n <= min(size - 8, MAX_HEADER):
            raise FileFormatError(f"{bad} its header claims {n} bytes but the file has {size} "
                                  f"(truncated, or another format; headers hold at most {MAX_HEADER})")
        head += _read_exactly(f, n, path)
        header = _json(bytes(head[8:]), path, "header")
        entries = _entries(header, size - 8 - n, path)
        strings = header.get("__metadata__", {})
        if not isinstance(strings, dict) or not all(isinstance(v, str) for v in strings.values()):
            raise FileFormatError(f"{bad} its __metadata__ is not an object of strings")
        try:
            data = _read_exactly(f, size - 8 - n, path)
        except MemoryError as exc:
            raise FileFormatError(f"{path}: its {size} bytes do not fit in memory") from exc
        if f.read(1):
            raise FileFormatError(f"{bad} it grew while being read")
    return entries, strings, head, data


def _arrays(entries: dict, data: bytearray) -> dict[str, np.ndarray]:
    """Writable arrays over ``data`` (no copy)."""
    return {name: np.frombuffer(data, dtype, math.prod(shape), start).reshape(shape)
            if math.prod(shape) else np.zeros(shape, dtype)
            for name, (dtype, shape, start) in entries.items()}


# --- chainrule files ------------------------------------------------------------------------

_MARKERS = {"json", "sha256", "version"}
_DIGEST = re.compile(rb'"sha256"\s*:\s*"([0-9a-f]{64})"')  # other strings are escaped: no match


def _legacy_digest(arrays: dict[str, np.ndarray]) -> str:
    """Format 1's checksum: the tensors only (files of chainrule 0.1 still load)."""
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _version(strings: dict[str, str], path: Any) -> int:
    bad = f"{path} is not a readable chainrule model file:"
    if set(strings) == {"format", "json", "sha256"}:
        return 1
    if set(strings) != {"format", "json", "sha256", "version"}:
        raise FileFormatError(f"{bad} its chainrule metadata has the keys {sorted(strings)}; "
                              "expected format, json, sha256, version (damaged or edited)")
    v = strings["version"]
    if strings["format"] != FORMAT or not re.fullmatch(r"[1-9][0-9]{0,5}", v):
        raise FileFormatError(f"{bad} format {strings['format']!r}, version {v!r}; expected "
                              f"{FORMAT!r}, version {VERSION}")
    if int(v) > VERSION:
        from .version import __version__
        raise FileFormatError(f"{path} was written by a newer chainrule (file format version {v}; "
                              f"chainrule {__version__} reads versions up to {VERSION}): upgrade "
                              "chainrule to load it")
    if int(v) != VERSION:
        raise FileFormatError(f"{bad} unknown file format version {v}")
    return VERSION


def _read(path: Any) -> tuple[dict[str, np.ndarray], dict[str, Any] | None, dict[str, str]]:
    """The arrays, the chainrule metadata (None for a plain safetensors file, e.g. one that
    PyTorch wrote) and the raw ``__metadata__`` strings of a verified file."""
    entries, strings, head, data = _read_container(path)
    bad = f"{path} is not a readable chainrule model file:"
    if strings.get("format") != FORMAT and not _MARKERS & strings.keys():
        if any(name.startswith("model/") for name in entries):
            raise FileFormatError(f"{bad} it holds a chainrule model's tensors but no chainrule "
                                  "metadata (damaged or edited)")
        return _arrays(entries, data), None, strings
    version = _version(strings, path)
    digest = strings["sha256"]
    if version == 1:
        arrays = _arrays(entries, data)
        ok = hmac.compare_digest(_legacy_digest(arrays), digest)
    else:
        found = [m.start(1) for m in _DIGEST.finditer(head)]
        if not re.fullmatch(r"[0-9a-f]{64}", digest) or len(found) != 1:
            raise FileFormatError(f"{bad} its sha256 field is damaged")
        at = found[0]
        h = hashlib.sha256(memoryview(head)[:at])
        h.update(_ZEROS)
        h.update(memoryview(head)[at + 64:])
        h.update(data)
        ok = hmac.compare_digest(h.hexdigest(), digest)
        arrays = _arrays(entries, data) if ok else {}
    if not ok:
        raise FileFormatError(f"{path}: its bytes do not match its checksum (damaged or "
                              "modified after saving)")
    meta = _json(strings["json"], path, "metadata")
    if not isinstance(meta, dict) or meta.get("kind") not in KINDS or \
            version == 1 and meta.get("version") != 1:
        raise FileFormatError(f"{bad} its metadata names no kind of {', '.join(KINDS)}")
    return arrays, meta, strings


def _host_arrays(arrays: dict[str, Any], where: str) -> dict[str, np.ndarray]:
    """``arrays`` as C-ordered little-endian NumPy arrays of a type safetensors holds."""
    out = {}
    for k, v in arrays.items():
        if not isinstance(k, str):
            raise ConfigError(f"{where}: tensor names must be strings; got {k!r}")
        a = to_host(v.data if isinstance(v, Tensor) else v)
        dtype = a.dtype.newbyteorder("<") if a.dtype.byteorder not in "|=" else a.dtype
        if np.dtype(dtype) not in _CODES:
            raise ConfigError(f"{where}: {k!r} has dtype {a.dtype}; safetensors files hold "
                              "bool, (u)int8-64, float16/32/64 and complex64")
        out[k] = np.asarray(a, dtype=dtype, order="C")
    return out


def save_arrays(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write ``arrays`` and JSON-able ``meta`` to a chainrule safetensors file, atomically
    (same inputs, same bytes).

    Raises:
        ConfigError: a name that is not a string, a dtype safetensors cannot hold, or
            metadata that is not JSON.
        FileAccessError: the operating system refused the write (naming ``path``).
    """
    arrays = _host_arrays(arrays, f"save {path}")
    try:
        text = json.dumps(meta, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"save {path}: the metadata is not JSON ({exc})") from exc
    _write(path, arrays, {"format": FORMAT, "json": text, "sha256": _ZEROS.decode(),
                          "version": str(VERSION)})


def load_arrays(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read and verify a file written by :func:`save_arrays`: its arrays and metadata.

    Raises:
        FileFormatError: not a regular file, not a chainrule safetensors file, truncated,
            damaged, or written by a newer chainrule.
        FileAccessError: missing or unreadable.
    """
    arrays, meta, _ = _read(path)
    if meta is None:
        raise FileFormatError(f"{path} is not a readable chainrule model file: a safetensors "
                              "file without chainrule metadata")
    return arrays, meta


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
    if type(v) is not int or not low <= v <= _MAX_DIM:
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


def _rnn(a: dict[str, Any], gates: int) -> int:
    i, h, layers = _dim(a["input_size"]), _dim(a["hidden_size"]), _dim(a["num_layers"], 1)
    return gates * h * (i + (layers - 1) * h + layers * (h + 2 * _flag(a["bias"])))


def _norm(a: dict[str, Any]) -> int:
    affine = _flag(a["elementwise_affine"])
    return math.prod(_dims(a["normalized_shape"], 1)) * (affine + affine * _flag(a["bias"]))


def _mlp(a: dict[str, Any]) -> int:
    s = _dims(a["sizes"], 1)
    return sum(m * n + n for m, n in zip(s, s[1:]))


#: The number of values (parameters and buffers) each class holds, from its constructor's
#: arguments alone: checked against the file before anything is built. A class in neither
#: table is built only if none of its integer arguments exceeds the values stored.
SIZE_RULES = {
    "Linear": lambda a: _dim(a["in_features"]) * _dim(a["out_features"])
    + _flag(a["bias"]) * _dim(a["out_features"]),
    "Conv1d": lambda a: _conv(a, 1), "Conv2d": lambda a: _conv(a, 2),
    "Embedding": lambda a: _dim(a["num_embeddings"]) * _dim(a["embedding_dim"]),
    "BatchNorm1d": lambda a: _dim(a["num_features"]) * 2 * _flag(a["affine"])
    + (2 * _dim(a["num_features"]) + 1) * _flag(a["track_running_stats"]),
    "LayerNorm": _norm, "MLP": _mlp,
    "RNN": lambda a: _rnn(a, 1), "RNNBase": lambda a: _rnn(a, 1), "GRU": lambda a: _rnn(a, 3), "LSTM": lambda a: _rnn(a, 4),
    "LogisticRegression": lambda a: _dim(a["n_features"]) + 1,
    "Perceptron": lambda a: _dim(a["n_features"]) + 1,
}
SIZE_RULES["BatchNorm2d"] = SIZE_RULES["BatchNorm1d"]
PARAMETER_FREE = frozenset(
    "AdaptiveAvgPool1d AdaptiveAvgPool2d AvgPool1d AvgPool2d MaxPool1d MaxPool2d BCELoss "
    "BCEWithLogitsLoss CrossEntropyLoss MSELoss NLLLoss Dropout ELU GELU Identity LeakyReLU "
    "LogSoftmax ReLU Sigmoid Softmax Softplus Tanh Flatten Sequential ModuleList Module".split())


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
    arrays, meta, strings = _read(path)
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
    """Restore a checkpoint into ``model`` (and ``optimizer``) and the global generator;
    return the ``extra`` values saved with it (epoch, history, ...). A load that fails
    leaves the model, the optimizer and the generators as they were."""
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


class Checkpoint(Callback):
    """A :func:`~chainrule.train.fit` callback: save a resumable checkpoint (model, optimizer,
    random state, epoch and history) every ``every`` epochs with :func:`save_checkpoint`.

    Args:
        path: the checkpoint file, overwritten atomically each time.
        every: epochs between saves.

    >>> Checkpoint("run.safetensors", every=5).every
    5
    """

    def __init__(self, path: str | os.PathLike, every: int = 1) -> None:
        self.path = Path(path)
        self.every = check_number(every, "every", "Checkpoint", low=1, integer=True)

    def on_epoch_end(self, state: TrainState) -> None:
        if state.epoch % self.every == 0:
            save_checkpoint(self.path, state.model, state.optimizer, epoch=state.epoch,
                            history=state.history.epochs)
