"""The preprocessing of a table's feature columns, fitted once and kept as plain numbers.

:meth:`Features.fit` fits scikit-learn's transformers on the training rows, the way its
documentation builds a tabular pipeline: a ``ColumnTransformer`` with, for number columns,
``SimpleImputer(strategy="median")`` then ``StandardScaler``, and for text columns,
``SimpleImputer(strategy="most_frequent")`` then ``OneHotEncoder(handle_unknown="ignore")``.
What was fitted (each column's fill value, mean and scale, or its categories) is read out
into plain JSON (:meth:`Features.to_json`), never pickled, and :meth:`Features.transform`
applies it in NumPy, so a model file needs neither pickle nor scikit-learn to predict.

For each number column x: x̃ = (fill if x is missing else x − mean) / scale; for each text
column: one 0/1 column per category (all zeros for a category not seen in training), a
missing cell counting as the fill category.

Without scikit-learn, tables of complete number columns are still fitted (mean and standard
deviation as ``StandardScaler`` computes them); text columns or missing cells then need the
``tables`` extra.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import DataError, FileFormatError, MissingDependency
from ..optional import require
from .preprocessing import Standardizer
from .tabular import Table

__all__ = ["Column", "Features", "FORMAT"]

FORMAT = "chainrule-features"
NUMBER, CATEGORY = "number", "category"


@dataclass
class Column:
    """One raw feature column and what was fitted on it.

    Attributes:
        name: the column's name.
        kind: ``"number"`` or ``"category"``.
        fill: the value a missing cell takes (the training median or most frequent value);
            None: missing cells are refused.
        mean, scale: a number column's standardization (0 and 1: none).
        categories: a text column's categories, in output order.
    """

    name: str
    kind: str
    fill: float | str | None = None
    mean: float = 0.0
    scale: float = 1.0
    categories: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        """How many model inputs the column becomes."""
        return 1 if self.kind == NUMBER else len(self.categories)


class Features:
    """Fitted preprocessing of raw feature columns into model inputs.

    >>> t = Table.from_columns("t", {"age": [20, 40, None], "city": ["Oslo", "Rome", "Oslo"]})
    >>> f = Features.fit(t, ["age", "city"])
    >>> f.output_names
    ['age', 'city=Oslo', 'city=Rome']
    >>> f.transform(t, np.float64).round(3).tolist()   # the missing age takes the median, 30
    [[-1.225, 1.0, 0.0], [1.225, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """

    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns = list(columns)

    @property
    def names(self) -> list[str]:
        """The raw column names, in order."""
        return [c.name for c in self.columns]

    @property
    def categorical(self) -> list[str]:
        """The text columns."""
        return [c.name for c in self.columns if c.kind == CATEGORY]

    @property
    def output_names(self) -> list[str]:
        """A name per model input: the number columns' own, ``column=category`` for one-hot."""
        out: list[str] = []
        for c in self.columns:
            out += [c.name] if c.kind == NUMBER else [f"{c.name}={v}" for v in c.categories]
        return out

    @property
    def n_outputs(self) -> int:
        """The number of model inputs."""
        return sum(c.width for c in self.columns)

    # --- fitting -------------------------------------------------------------------------

    @classmethod
    def fit(cls, table: Table, names: Sequence[str] | None = None, rows: Any = None,
            standardize: bool = True) -> Features:
        """Fit the preprocessing of ``table``'s columns ``names`` on the rows ``rows``.

        Args:
            table: the data (a :class:`Table`).
            names: the feature columns (default: all).
            rows: the training rows (indices or a mask; default: all).
            standardize: scale number columns to mean 0, standard deviation 1.

        Raises:
            DataError: a column with no value at all in the training rows.
            MissingDependency: text columns or missing cells without scikit-learn.
        """
        names = list(table.columns if names is None else names)
        t = table if rows is None else table.take(rows)
        empty = [n for n in names if np.all(t.missing(n))]
        if empty:
            raise DataError(f"{table.source}: feature column(s) {', '.join(map(repr, empty))} "
                            "have no values in the training rows; drop them")
        try:
            return cls._fit_sklearn(t, names, standardize)
        except MissingDependency:
            if t.n_rows and (any(not t.is_numeric(n) for n in names)
                             or any(np.any(t.missing(n)) for n in names)):
                raise
        mean, scale = np.zeros(len(names)), np.ones(len(names))
        if standardize:
            scaler = Standardizer().fit(t.numeric(names))
            mean, scale = scaler.mean_, scaler.scale_
        return cls([Column(n, NUMBER, None, float(m), float(s))
                    for n, m, s in zip(names, mean, scale)])

    @classmethod
    def _fit_sklearn(cls, t: Table, names: list[str], standardize: bool) -> Features:
        what = "preparing table features"
        compose = require("sklearn.compose", "tables", what)
        impute = require("sklearn.impute", "tables", what)
        pipeline = require("sklearn.pipeline", "tables", what)
        prep = require("sklearn.preprocessing", "tables", what)
        pd = require("pandas", "tables", what)
        num = [n for n in names if t.is_numeric(n)]
        cat = [n for n in names if not t.is_numeric(n)]
        parts = []
        if num:
            parts.append(("number", pipeline.make_pipeline(
                impute.SimpleImputer(strategy="median"),
                prep.StandardScaler(with_mean=standardize, with_std=standardize)), num))
        if cat:
            parts.append(("category", pipeline.make_pipeline(
                impute.SimpleImputer(strategy="most_frequent", missing_values=None),
                prep.OneHotEncoder(handle_unknown="ignore")), cat))
        # NOTE: object dtype keeps None as the missing marker (pandas would infer a str dtype)
        X = pd.DataFrame({n: t.column(n) if n in num else pd.Series(t.column(n), dtype=object)
                          for n in names}, copy=False)
        ct = compose.ColumnTransformer(parts).fit(X)
        fitted: dict[str, Column] = {}
        if num:
            imp, scaler = (s[1] for s in ct.named_transformers_["number"].steps)
            for k, n in enumerate(num):
                fitted[n] = Column(n, NUMBER, float(imp.statistics_[k]),
                                   float(scaler.mean_[k]) if standardize else 0.0,
                                   float(scaler.scale_[k]) if standardize else 1.0)
        if cat:
            imp, enc = (s[1] for s in ct.named_transformers_["category"].steps)
            for k, n in enumerate(cat):
                fitted[n] = Column(n, CATEGORY, str(imp.statistics_[k]),
                                   categories=[str(v) for v in enc.categories_[k]])
        return cls([fitted[n] for n in names])

    # --- applying ------------------------------------------------------------------------

    def transform(self, rows: Table | Any, dtype: Any = np.float32) -> np.ndarray:
        """Model inputs (rows, :attr:`n_outputs`) from raw rows.

        Args:
            rows: a :class:`Table` with the feature columns (by name; other columns are
                ignored), or a 2-D array of the raw columns in :attr:`names` order.
            dtype: of the result.

        Raises:
            ShapeError: a missing feature column (see :meth:`check_columns`).
            DataError: text in a number column, or a missing cell with no fill value.
        """
        table = rows if isinstance(rows, Table) else Table.from_array("the rows", rows,
                                                                      self.names)
        out = np.zeros((table.n_rows, self.n_outputs), dtype=dtype)
        j = 0
        for c in self.columns:
            if c.kind == NUMBER:
                x = table.numeric([c.name], allow_missing=c.fill is not None)[:, 0]
                if c.fill is not None:
                    x = np.where(np.isnan(x), c.fill, x)
                out[:, j] = (x - c.mean) / c.scale
            else:
                codes = self._codes(table, c)
                hit = codes >= 0
                out[np.flatnonzero(hit), j + codes[hit]] = 1
            j += c.width
        return out

    @staticmethod
    def _codes(table: Table, c: Column) -> np.ndarray:
        """Each row's category index in ``c.categories`` (−1: not a known category)."""
        lookup: dict[Any, int] = {v: i for i, v in enumerate(c.categories)}
        lookup[None] = lookup.get(c.fill, -1)
        values = table.column(c.name)
        if table.is_numeric(c.name):  # numbers read where text was trained: compare as text
            values = [None if v != v else repr(v) if not float(v).is_integer() else str(int(v))
                      for v in values.tolist()]
        get = lookup.get
        return np.fromiter((get(v, -1) for v in values), dtype=np.int64, count=table.n_rows)

    # --- plain JSON ----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The fitted parameters as JSON-able values (what :meth:`from_json` reads)."""
        cols = []
        for c in self.columns:
            d: dict[str, Any] = {"name": c.name, "kind": c.kind, "fill": c.fill}
            d.update({"mean": c.mean, "scale": c.scale} if c.kind == NUMBER
                     else {"categories": list(c.categories)})
            cols.append(d)
        return {"format": FORMAT, "version": 1, "columns": cols}

    @classmethod
    def from_json(cls, d: Any, where: str = "features") -> Features:
        """The preprocessing saved by :meth:`to_json`.

        Raises:
            FileFormatError: anything that is not such a record (``where`` names the file).
        """
        def bad(why: str) -> FileFormatError:
            return FileFormatError(f"{where}: the stored feature preprocessing is damaged "
                                   f"({why})")
        if not isinstance(d, dict) or d.get("format") != FORMAT or d.get("version") != 1:
            raise bad(f"expected a {FORMAT} version 1 record")
        cols = d.get("columns")
        if not isinstance(cols, list):
            raise bad("no list of columns")
        out = []
        for c in cols:
            if not isinstance(c, dict) or not isinstance(c.get("name"), str):
                raise bad("a column without a name")
            if c.get("kind") == NUMBER:
                nums = [c.get("mean"), c.get("scale")] + ([] if c.get("fill") is None
                                                          else [c.get("fill")])
                if not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                           and np.isfinite(v) for v in nums) or not c["scale"]:
                    raise bad(f"column {c['name']!r}: mean, scale and fill must be finite "
                              "numbers, the scale not 0")
                out.append(Column(c["name"], NUMBER, None if c.get("fill") is None
                                  else float(c["fill"]), float(c["mean"]), float(c["scale"])))
            elif c.get("kind") == CATEGORY:
                cats = c.get("categories")
                if not isinstance(cats, list) or not all(isinstance(v, str) for v in cats) \
                        or not isinstance(c.get("fill"), (str, type(None))):
                    raise bad(f"column {c['name']!r}: categories must be a list of text")
                out.append(Column(c["name"], CATEGORY, c.get("fill"), categories=cats))
            else:
                raise bad(f"column {c.get('name')!r} of unknown kind {c.get('kind')!r}")
        names = [c.name for c in out]
        if len(set(names)) != len(names):
            raise bad("repeated column names")
        return cls(out)

    @classmethod
    def from_standardizer(cls, names: Sequence[str], mean: Any, scale: Any) -> Features:
        """Number columns standardized by ``mean`` and ``scale`` (older model files)."""
        return cls([Column(n, NUMBER, None, float(m), float(s))
                    for n, m, s in zip(names, np.asarray(mean).reshape(-1),
                                       np.asarray(scale).reshape(-1))])

    def __repr__(self) -> str:
        return (f"Features({len(self.columns)} columns -> {self.n_outputs} inputs; "
                f"categorical: {self.categorical or 'none'})")
