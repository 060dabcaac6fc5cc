"""Tables read from CSV files: named columns of text, converted to numbers on request.

The reader keeps every cell as text, so a column of class labels ("setosa") and a column of
numbers live in one table; :meth:`Table.numeric` converts the columns a model needs and
names, with its line, the first value that is not a finite number.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError

__all__ = ["Table", "read_csv", "is_finite_number"]


@dataclass
class Table:
    """Columns of text read from a CSV file.

    Attributes:
        source: where the table came from (the file), for messages.
        columns: the column names, in file order.
        cells: one tuple per column, a cell per row (stripped text).
        lines: the file line of each row, for messages.

    >>> t = Table("inline", ["a", "y"], [("1", "2"), ("cat", "dog")], [2, 3])
    >>> t.n_rows, t.column("y"), t.numeric(["a"]).ravel().tolist()
    (2, ('cat', 'dog'), [1.0, 2.0])
    """

    source: str
    columns: list[str]
    cells: list[tuple[str, ...]]
    lines: list[int]

    @property
    def n_rows(self) -> int:
        """The number of data rows."""
        return len(self.lines)

    def column(self, name: str) -> tuple[str, ...]:
        """The cells of column ``name``, as text."""
        return self.cells[self.columns.index(name)]

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

    def numeric(self, names: Sequence[str], what: str = "feature") -> np.ndarray:
        """The named columns as a float64 (rows, columns) array.

        Args:
            names: the columns, in the wanted order.
            what: what the columns are, for the message ("feature", "target").

        Raises:
            DataError: naming every column with a value that is not a finite number, with the
                first such value and its line.
        """
        out = np.empty((self.n_rows, len(names)), dtype=np.float64)
        bad = []
        for k, name in enumerate(names):
            col = self.column(name)
            try:
                out[:, k] = np.asarray(col, dtype=str).astype(np.float64)
                ok = bool(np.all(np.isfinite(out[:, k])))
            except ValueError:
                ok = False
            if not ok:
                row = next(r for r, v in enumerate(col) if not is_finite_number(v))
                shown = repr(col[row]) if col[row].strip() else "an empty cell"
                bad.append(f"{name!r} (e.g. {shown} on line {self.lines[row]})")
        if bad:
            s = "s" if len(bad) > 1 else ""
            raise DataError(f"{self.source}: non-numeric values in {what} column{s} "
                            f"{', '.join(bad)}; {what}s must be finite numbers (encode "
                            "categories as numbers or one-hot columns first)")
        return out


def is_finite_number(text: str) -> bool:
    """Whether ``text`` reads as a finite number.

    >>> is_finite_number("2.5e3"), is_finite_number("nan"), is_finite_number("cat")
    (True, False, False)
    """
    try:
        return bool(np.isfinite(float(text)))
    except ValueError:
        return False


def read_csv(path: str | Path) -> Table:
    """Read a CSV file with a header row naming its columns (blank lines are skipped).

    Args:
        path: the file.

    Returns:
        A :class:`Table` of the cells as text; ``table.numeric(names)`` converts columns.

    Raises:
        OSError: the file cannot be read (missing, a directory, no permission).
        DataError: an empty file, no header row, blank or repeated column names, or a row
            with the wrong number of fields.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = p.write_text("a,b,label\\n1,2,cat\\n3,4,dog\\n")
    >>> t = read_csv(p)
    >>> t.columns, t.column("label"), t.numeric(["a", "b"]).tolist()
    (['a', 'b', 'label'], ('cat', 'dog'), [[1.0, 2.0], [3.0, 4.0]])
    """
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as f:
        header, rows, lines = _rows(csv.reader(f), path)
    if header is None:
        raise DataError(f"{path}: the file is empty; expected a header row naming the columns, "
                        "then one row per example")
    _check_header(header, path)
    if not rows:
        raise DataError(f"{path}: a header but no data rows")
    return Table(str(path), header, [tuple(c.strip() for c in col) for col in zip(*rows)], lines)


def _rows(reader: Any, path: Path) -> tuple[list[str] | None, list[list[str]], list[int]]:
    """The header, the data rows and their line numbers; blank lines are skipped."""
    header: list[str] | None = None
    rows, lines = [], []
    try:
        for row in reader:
            if not row or not any(c.strip() for c in row):
                continue
            if header is None:
                header = [c.strip() for c in row]
                continue
            if len(row) != len(header):
                raise DataError(f"{path}, line {reader.line_num}: {len(row)} fields, but the "
                                f"header has {len(header)} ({', '.join(header)})")
            rows.append(row)
            lines.append(reader.line_num)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from exc
    return header, rows, lines


def _check_header(header: list[str], path: Path) -> None:
    if all(is_finite_number(c) for c in header):
        raise DataError(f"{path}: the first row ({', '.join(header[:5])}"
                        f"{', ...' if len(header) > 5 else ''}) holds only numbers; a header row "
                        "naming the columns is required")
    blank = [i + 1 for i, c in enumerate(header) if not c]
    if blank:
        raise DataError(f"{path}: header column(s) {blank} have no name")
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise DataError(f"{path}: repeated column name(s) in the header: {', '.join(repeated)}")
