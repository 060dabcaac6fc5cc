"""Tables read from CSV files: named columns of numbers (NaN where a cell is missing) or of
text (None where missing).

:func:`read_csv` reads with pandas when it is installed (the ``tables`` extra: its C parser
reads hundreds of megabytes in seconds) and with the standard library's ``csv`` module
otherwise (the same table, about ten times slower and with more memory). Either way the
delimiter (comma, semicolon, tab or bar) and the compression (gzip, bz2, xz, zip, found by
the file's first bytes) are detected, and pandas' missing-value markers (an empty cell,
``NA``, ``N/A``, ``nan``, ``NULL``, ...) are read as missing.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import DataError
from ..optional import require

__all__ = ["Table", "read_csv", "is_finite_number", "NA_VALUES"]

#: The cells read as missing: pandas' default ``na_values``, so both readers agree.
NA_VALUES = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                       "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a",
                       "nan", "null"})
#: The delimiters :func:`read_csv` chooses among when none is given.
DELIMITERS = ",;\t|"
_MAGIC = [(b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"), (b"PK\x03\x04", "zip")]
_SAMPLE = 1 << 16  # bytes of (decompressed) text the delimiter is sniffed from
_SHOW = 5


def _is_text(a: np.ndarray) -> bool:
    return a.dtype == object


@dataclass
class Table:
    """Named columns of one length: float64 numbers (NaN: missing) or text (object arrays of
    str, None: missing).

    Attributes:
        source: where the table came from (the file), for messages.
        columns: the column names, in file order.
        data: name -> column.

    >>> t = Table.from_columns("inline", {"a": [1, 2], "y": ["cat", None]})
    >>> t.n_rows, t.column("y").tolist(), t.numeric(["a"]).ravel().tolist()
    (2, ['cat', None], [1.0, 2.0])
    """

    source: str
    columns: list[str]
    data: dict[str, np.ndarray]

    @classmethod
    def from_columns(cls, source: str, columns: dict[str, Iterable[Any]]) -> Table:
        """A table from name -> values; a column of numbers (NaN or None for missing) becomes
        float64, any other a text column (None, NaN and the NA markers become None)."""
        return cls(source, list(columns), {k: _column(v) for k, v in columns.items()})

    @classmethod
    def from_array(cls, source: str, X: Any, names: Sequence[str]) -> Table:
        """A table whose columns are the columns of the 2-D array ``X``, named ``names``."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != len(names):
            raise DataError(f"{source}: expected rows of {len(names)} feature(s) "
                            f"({', '.join(names[:_SHOW])}); got an array of shape {X.shape}")
        return cls.from_columns(source, {n: X[:, k] for k, n in enumerate(names)})

    @property
    def n_rows(self) -> int:
        """The number of data rows."""
        return len(self.data[self.columns[0]]) if self.columns else 0

    def column(self, name: str) -> np.ndarray:
        """Column ``name``: float64 (NaN missing) or object (str, None missing)."""
        return self.data[name]

    def is_numeric(self, name: str) -> bool:
        """Whether column ``name`` holds numbers (missing cells aside)."""
        return not _is_text(self.data[name])

    def missing(self, name: str) -> np.ndarray:
        """A boolean mask of the missing cells of column ``name``."""
        a = self.data[name]
        return np.equal(a, None) if _is_text(a) else np.isnan(a)

    def take(self, rows: Any) -> Table:
        """The table of the rows ``rows`` (indices or a boolean mask)."""
        return Table(self.source, list(self.columns), {k: v[rows] for k, v in self.data.items()})

    def check_target(self, target: str | None, missing: str) -> str:
        """``target`` if it names a column.

        Args:
            target: the wanted column, or None.
            missing: the message when ``target`` is None (the columns are appended).

        Raises:
            DataError: ``target`` is None or not a column; the message lists the columns.
        """
        if target is None:
            raise DataError(f"{missing} (columns: {', '.join(self.columns)})")
        if target not in self.columns:
            raise DataError(f"{self.source}: no column named {target!r}; the columns are "
                            f"{', '.join(self.columns)}")
        return target

    def numeric(self, names: Sequence[str], what: str = "feature",
                allow_missing: bool = False) -> np.ndarray:
        """The named columns as a float64 (rows, columns) array.

        Args:
            names: the columns, in the wanted order.
            what: what the columns are, for the message ("feature", "target").
            allow_missing: keep missing cells as NaN instead of raising.

        Raises:
            DataError: naming every column with text, an infinite value or (unless
                ``allow_missing``) a missing cell, with the first such value and its row.
        """
        out = np.empty((self.n_rows, len(names)), dtype=np.float64)
        bad = []
        for k, name in enumerate(names):
            col = self.data[name]
            if _is_text(col):
                col = _text_to_numbers(col)
            out[:, k] = col
            ok = np.isfinite(col) | (np.isnan(col) if allow_missing else False)
            if not np.all(ok):
                row = int(np.flatnonzero(~ok)[0])
                raw = self.data[name][row]
                shown = "a missing cell" if raw is None or raw != raw else repr(
                    raw if isinstance(raw, str) else float(raw))
                bad.append(f"{name!r} (e.g. {shown} in data row {row + 1})")
        if bad:
            s = "s" if len(bad) > 1 else ""
            raise DataError(f"{self.source}: values that are not finite numbers in {what} "
                            f"column{s} {', '.join(bad)}")
        return out


def _text_to_numbers(col: np.ndarray) -> np.ndarray:
    """Text cells as float64: None -> NaN, text that is not a number -> +inf (a marker the
    caller reports; real infinities are refused the same way)."""
    out = np.empty(len(col), dtype=np.float64)
    for i, v in enumerate(col.tolist()):
        if v is None:
            out[i] = np.nan
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            out[i] = np.inf
        if out[i] != out[i]:  # the text "nan" is a cell we cannot trust as missing here
            out[i] = np.inf
    return out


def _column(values: Iterable[Any]) -> np.ndarray:
    """One column as float64 (numbers, NaN missing) or object (str, None missing)."""
    a = np.asarray(values if isinstance(values, np.ndarray) else list(values))
    if a.dtype.kind in "biuf":
        return a.astype(np.float64)
    cells = [None if _is_missing(v) else v for v in a.tolist()]
    try:
        return np.array([np.nan if v is None else float(v) for v in cells], dtype=np.float64)
    except (TypeError, ValueError):
        return np.array([None if v is None else str(v).strip() for v in cells], dtype=object)


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and
                                                             v.strip() in NA_VALUES)


def is_finite_number(text: str) -> bool:
    """Whether ``text`` reads as a finite number.

    >>> is_finite_number("2.5e3"), is_finite_number("nan"), is_finite_number("cat")
    (True, False, False)
    """
    try:
        return bool(np.isfinite(float(text)))
    except ValueError:
        return False


# --- reading ---------------------------------------------------------------------------------

def _compression(path: Path) -> str | None:
    """The compression of ``path`` by its first bytes (None: plain text)."""
    with open(path, "rb") as f:
        head = f.read(8)
    return next((name for magic, name in _MAGIC if head.startswith(magic)), None)


def _open_text(path: Path, compression: str | None) -> IO[str]:
    """``path`` as text, decompressed (a zip archive must hold one file)."""
    if compression == "zip":
        z = zipfile.ZipFile(path)
        names = [n for n in z.namelist() if not n.endswith("/")]
        if len(names) != 1:
            raise DataError(f"{path}: a zip archive of {len(names)} files; expected one CSV file")
        return io.TextIOWrapper(z.open(names[0]), encoding="utf-8-sig", newline="")
    opener = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open, None: open}[compression]
    return opener(path, "rt", encoding="utf-8-sig", newline="")


def _sniff(path: Path, compression: str | None, sep: str | None,
           header: bool) -> tuple[str, list[str] | None]:
    """The delimiter (``sep``, or sniffed among :data:`DELIMITERS`) and the header row (None
    for an empty file); without a header, the columns are named 1, 2, ..."""
    try:
        with _open_text(path, compression) as f:
            sample = f.read(_SAMPLE)
    except (UnicodeDecodeError, OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from exc
    lines = [ln for ln in sample.splitlines() if ln.strip()]
    if not lines:
        return sep or ",", None
    if sep is None:
        sep = ","
        try:
            sep = csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=DELIMITERS).delimiter
        except csv.Error:
            counts = {d: lines[0].count(d) for d in DELIMITERS}
            sep = max(counts, key=counts.get) if max(counts.values()) else ","
    first = next(csv.reader([lines[0]], delimiter=sep))
    if not header:
        return sep, [str(i + 1) for i in range(len(first))]
    return sep, [c.strip() for c in first]


def _check_header(header: list[str], path: Path) -> None:
    if all(is_finite_number(c) for c in header):
        raise DataError(f"{path}: the first row ({', '.join(header[:5])}"
                        f"{', ...' if len(header) > 5 else ''}) holds only numbers; a header row "
                        "naming the columns is required (or read the file with --no-header: "
                        "the columns are then named 1, 2, ...)")
    blank = [i + 1 for i, c in enumerate(header) if not c]
    if blank:
        raise DataError(f"{path}: header column(s) {blank} have no name")
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise DataError(f"{path}: repeated column name(s) in the header: {', '.join(repeated)}")


def read_csv(path: str | Path, sep: str | None = None, header: bool = True,
             na_values: Iterable[str] = (), text_columns: Iterable[str] = ()) -> Table:
    """Read a CSV file into a :class:`Table` (blank lines are skipped).

    Args:
        path: the file, plain or compressed (gzip, bz2, xz, a zip of one file).
        sep: the delimiter; None sniffs it among comma, semicolon, tab and bar.
        header: whether the first row names the columns; without one they are named
            ``"1"``, ``"2"``, ...
        na_values: cells read as missing besides :data:`NA_VALUES`.
        text_columns: columns kept as text even when they hold numbers (the categories of a
            trained model).

    Returns:
        A :class:`Table`; numbers are float64 columns, anything else text.

    Raises:
        OSError: the file cannot be read (missing, a directory, no permission).
        DataError: an empty or undecodable file, no header row, blank or repeated column
            names, or a row with the wrong number of fields.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = p.write_text("a;b;label\\n1;NA;cat\\n3;4;\\n")
    >>> t = read_csv(p)
    >>> t.columns, t.column("label").tolist(), t.numeric(["a", "b"], allow_missing=True).tolist()
    (['a', 'b', 'label'], ['cat', None], [[1.0, nan], [3.0, 4.0]])
    """
    path = Path(path)
    compression = _compression(path)
    sep, names = _sniff(path, compression, sep, header)
    if names is None:
        raise DataError(f"{path}: the file is empty; expected a header row naming the columns, "
                        "then one row per example")
    if header:
        _check_header(names, path)
    na = sorted(NA_VALUES | set(na_values))
    text = set(text_columns)
    try:
        pd = require("pandas", "tables", "reading CSV files quickly")
    except ImportError:
        table = _read_stdlib(path, compression, sep, header, names, set(na), text)
    else:
        table = _read_pandas(pd, path, compression, sep, header, names, na, text)
    if table.n_rows == 0:
        raise DataError(f"{path}: a header but no data rows")
    return table


def _read_pandas(pd: Any, path: Path, compression: str | None, sep: str, header: bool,
                 names: list[str], na: list[str], text: set[str]) -> Table:
    errors = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, EOFError,
              zipfile.BadZipFile, lzma.LZMAError, gzip.BadGzipFile, ValueError)
    try:
        with warnings.catch_warnings():
            # NOTE: low_memory parsing (chunks, less memory) warns about columns whose chunks
            # disagree on the type; such a column is text here anyway.
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            frame = pd.read_csv(path, sep=sep, header=0 if header else None, names=names,
                                compression=compression, encoding="utf-8-sig",
                                na_values=na, keep_default_na=False, skipinitialspace=True,
                                dtype={c: str for c in names if c in text} or None)
    except errors as exc:
        raise DataError(f"{path}: not a readable CSV file ({_pandas_message(exc)})") from exc
    data, naset = {}, set(na)
    for name in names:
        s = frame.pop(name)
        if s.dtype.kind in "biuf":
            data[name] = s.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            data[name] = _text(s.astype(object).where(s.notna(), None).tolist(), naset)
    return Table(str(path), names, data)


def _text(values: list[Any], na: set[str]) -> np.ndarray:
    """Cells as an object array of stripped str, None where missing (a marker written with
    spaces around it too)."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        t = None if v is None else str(v).strip()
        out[i] = None if t is None or t in na else t
    return out


def _pandas_message(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.replace("Error tokenizing data. C error: ", "")


def _read_stdlib(path: Path, compression: str | None, sep: str, header: bool,
                 names: list[str], na: set[str], text: set[str]) -> Table:
    """The same table with the ``csv`` module, for installs without pandas."""
    cells: list[list[str]] = [[] for _ in names]
    try:
        with _open_text(path, compression) as f:
            reader = csv.reader(f, delimiter=sep)
            first = header
            for row in reader:
                if not row or not any(c.strip() for c in row):
                    continue
                if first:
                    first = False
                    continue
                if len(row) != len(names):
                    raise DataError(f"{path}, line {reader.line_num}: {len(row)} fields, but "
                                    f"the header has {len(names)} ({', '.join(names)})")
                for col, v in zip(cells, row):
                    col.append(v.strip())
    except (csv.Error, UnicodeDecodeError, EOFError, zipfile.BadZipFile, lzma.LZMAError,
            gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from exc
    data = {}
    for name, col in zip(names, cells):
        vals = [None if v in na else v for v in col]
        data[name] = np.array(vals, dtype=object)
        if name not in text:
            try:
                data[name] = np.array([np.nan if v is None else float(v) for v in vals])
            except ValueError:
                pass
    return Table(str(path), names, data)
