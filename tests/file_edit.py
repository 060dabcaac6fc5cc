"""Edit model files the way an attacker (or a careless tool) would: change the header or the
metadata and write a fresh digest, per the format's documented rule (the SHA-256 of the whole
file with the digest's 64 hex digits read as zeros), so a test reaches the checks behind the
digest."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

DIGEST = re.compile(rb'"sha256"\s*:\s*"([0-9a-f]{64})"')


def split(blob: bytes) -> tuple[bytes, bytes]:
    """The raw header text and the data of a safetensors file."""
    n = int.from_bytes(blob[:8], "little")
    return blob[8:8 + n], blob[8 + n:]


def join(header: bytes | dict, data: bytes) -> bytes:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + data


def resign(blob: bytes) -> bytes:
    """``blob`` with its digest recomputed (a no-op on a file without one)."""
    m = DIGEST.search(blob)
    if m is None:
        return blob
    zeroed = blob[:m.start(1)] + b"0" * 64 + blob[m.end(1):]
    return blob[:m.start(1)] + hashlib.sha256(zeroed).hexdigest().encode() + blob[m.end(1):]


def edit_header(blob: bytes, change: Callable[[dict], Any]) -> bytes:
    """Apply ``change`` to the parsed header (in place, or return a replacement: a dict or
    raw bytes) and resign."""
    text, data = split(blob)
    header = json.loads(text)
    out = change(header)
    return resign(join(header if out is None else out, data))


def edit_meta(blob: bytes, change: Callable[[dict], Any]) -> bytes:
    """Apply ``change`` to the parsed chainrule metadata (in place, or return a replacement:
    any JSON value, or a str of raw JSON text) and resign."""
    def inner(header: dict) -> None:
        meta = json.loads(header["__metadata__"]["json"])
        out = change(meta)
        text = out if isinstance(out, str) else json.dumps(meta if out is None else out)
        header["__metadata__"]["json"] = text
    return edit_header(blob, inner)
