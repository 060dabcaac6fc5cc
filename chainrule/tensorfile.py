"""The safetensors container, read strictly and written deterministically: the bytes under
every chainrule model file and checkpoint (:mod:`chainrule.io` gives them meaning).

A file is plain safetensors: 8 bytes giving the header's length, a JSON header, the tensors'
bytes. A chainrule file's header ``__metadata__`` holds four strings: ``format``
(``"chainrule"``), ``version`` (``"2"``), ``json`` (the metadata as canonical JSON: sorted
keys, no spaces) and ``sha256``: the SHA-256 of the whole file, header and tensors, read with
those 64 hex digits as ``0``. Any changed byte, in the header or the data, fails the check, so
a damaged file never loads as a different model. Header keys are sorted and nothing depends on
the clock, so identical saves write identical bytes (safetensors' own writer orders metadata at
random, hence the 30 lines of writer here; its reader lacks the checks below, hence the reader).

Reading checks before it allocates: a regular file (a FIFO or a device fails at once), a
header of at most ``MAX_HEADER`` bytes, strict JSON (UTF-8, no duplicated key, nested at most
``MAX_DEPTH`` deep, checked before parsing), tensors of known dtypes and sane shapes that tile
the data exactly, then the digest, then the version (a newer one says so). Files of format 1
(chainrule 0.1, a checksum of the tensors only) still load.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import re
from typing import Any

import numpy as np

from .atomic import atomic_write, open_regular
from .backend import to_host
from .errors import ChainruleError, ConfigError, FileFormatError

__all__ = ["FORMAT", "VERSION", "KINDS", "MAX_HEADER", "MAX_DEPTH", "MAX_DIM", "read",
           "save_arrays", "load_arrays"]

FORMAT = "chainrule"
VERSION = 2
KINDS = ("model", "checkpoint", "state_dict")
MAX_HEADER = 100_000_000  # bytes; safetensors' own limit
MAX_DEPTH = 64  # JSON nesting levels (a model file needs about 20)
MAX_DIM = 2 ** 48
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
    step = ((b == 91) | (b == 123)).astype(np.int64) - ((b == 93) | (b == 125))
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
                any(type(d) is not int or not 0 <= d <= MAX_DIM for d in shape) or \
                math.prod(d for d in shape if d) > MAX_DIM:  # NumPy refuses even when empty
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


def read(path: Any) -> tuple[dict[str, np.ndarray], dict[str, Any] | None, dict[str, str]]:
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
        a = to_host(v)
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
    arrays, meta, _ = read(path)
    if meta is None:
        raise FileFormatError(f"{path} is not a readable chainrule model file: a safetensors "
                              "file without chainrule metadata")
    return arrays, meta
