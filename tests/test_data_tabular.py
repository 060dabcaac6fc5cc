"""Named tables and data sources: chainrule.data.read_csv / Table, and load_dataset,
encode_target, resolve_task, encode_classes (what ``chainrule train`` reads with)."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import DataError, MissingDependency
from chainrule.data import (
    BUNDLED_DATASETS, MAX_CLASSES, Table, TabularData, encode_classes, encode_target,
    load_dataset, read_csv, resolve_task,
)
from chainrule.data.tabular import is_finite_number


def write(tmp_path, text, name="d.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# --- read_csv and Table ----------------------------------------------------------------------

def test_read_csv_keeps_text_numbers_and_missing_cells(tmp_path):
    # a byte-order mark, spaces around cells, a blank line in the middle, NA markers
    path = write(tmp_path, "\ufeffa, b ,label\n1, 2,cat\n\n3,NA, dog \n5,4.5,\n")
    t = read_csv(path)
    assert t.source == str(path)
    assert t.columns == ["a", "b", "label"] and t.n_rows == 3
    assert t.column("label").tolist() == ["cat", "dog", None]
    assert t.is_numeric("a") and t.is_numeric("b") and not t.is_numeric("label")
    assert t.missing("b").tolist() == [False, True, False]
    X = t.numeric(["b", "a"], allow_missing=True)
    assert X.dtype == np.float64 and np.array_equal(X, [[2.0, 1.0], [np.nan, 3.0], [4.5, 5.0]],
                                                    equal_nan=True)
    with pytest.raises(DataError, match=r"'b' \(e.g. a missing cell in data row 2\)"):
        t.numeric(["b"])


@pytest.mark.parametrize("name, text, opener", [
    ("semi.csv", "x;city;y\n1,5;Oslo;a\n2;Rome;b\n", None),
    ("tab.tsv", "x\tcity\ty\n1.5\tOslo\ta\n2\tRome\tb\n", None),
    ("bar.txt", "x|city|y\n1.5|Oslo|a\n2|Rome|b\n", None),
    ("data.csv.gz", "x,city,y\n1.5,Oslo,a\n2,Rome,b\n", "gzip"),
    ("data.bin", "x,city,y\n1.5,Oslo,a\n2,Rome,b\n", "bz2"),     # found by its bytes
    ("data.xz", "x,city,y\n1.5,Oslo,a\n2,Rome,b\n", "lzma"),
])
def test_read_csv_detects_the_delimiter_and_the_compression(tmp_path, name, text, opener):
    import bz2
    import gzip
    import lzma
    path = tmp_path / name
    data = text.encode()
    path.write_bytes({None: lambda b: b, "gzip": gzip.compress, "bz2": bz2.compress,
                      "lzma": lzma.compress}[opener](data))
    t = read_csv(path)
    assert t.columns == ["x", "city", "y"] and t.column("city").tolist() == ["Oslo", "Rome"]
    if "1,5" not in text:  # (the semicolon file writes a decimal comma: that cell is text)
        assert t.numeric(["x"]).ravel().tolist() == [1.5, 2.0]


def test_read_csv_without_a_header_and_with_extra_na_markers(tmp_path):
    path = write(tmp_path, "1;2;a\n3;?;b\n")
    t = read_csv(path, header=False, na_values=["?"])
    assert t.columns == ["1", "2", "3"] and t.n_rows == 2
    assert np.isnan(t.column("2")[1]) and t.column("3").tolist() == ["a", "b"]
    assert read_csv(path, sep=";", header=False).column("2").tolist() == ["2", "?"]  # text now
    kept = read_csv(write(tmp_path, "a,b\n01,x\n2,y\n", "k.csv"), text_columns=["a"])
    assert kept.column("a").tolist() == ["01", "2"]


def test_read_csv_matches_the_standard_library_reader(tmp_path, monkeypatch):
    """Without pandas (the tables extra) read_csv falls back to the csv module: same table."""
    import chainrule.data.tabular as tabular
    path = write(tmp_path, "a;b;c\n1;x;NA\n2;;3.5\n")
    with_pandas = read_csv(path)

    def no_pandas(module, extra, what):
        raise MissingDependency(f"no {module}")
    monkeypatch.setattr(tabular, "require", no_pandas)
    plain = read_csv(path)
    assert plain.columns == with_pandas.columns
    for c in plain.columns:
        a, b = plain.column(c), with_pandas.column(c)
        assert a.dtype == b.dtype and [v if v == v else "nan" for v in a.tolist()] == \
            [v if v == v else "nan" for v in b.tolist()]


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"),
    ("\n\n", "the file is empty"),
    ("1,2\n3,4\n", "holds only numbers; a header row naming the columns is required"),
    ("a,,c\n1,2,3\n", "header column(s) [2] have no name"),
    ("a,b,a\n1,2,3\n", "repeated column name(s) in the header: a"),
    ("a,b\n", "a header but no data rows"),
    ("a,b\n1,2\n3,4,5\n", "line 3"),
])
def test_read_csv_errors_name_the_problem(tmp_path, text, message):
    with pytest.raises(DataError) as info:
        read_csv(write(tmp_path, text))
    assert message in str(info.value) and str(tmp_path) in str(info.value)


def test_read_csv_of_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_csv(tmp_path / "nope.csv")


def test_numeric_names_every_bad_column_with_its_first_bad_value():
    t = Table.from_columns("t.csv", {"x": [1, 2, 3], "city": ["Oslo", "Rome", "Oslo"],
                                     "income": [1.5, None, float("inf")]})
    with pytest.raises(DataError) as info:
        t.numeric(["x", "city", "income"])
    msg = str(info.value)
    assert msg.startswith("t.csv: values that are not finite numbers in feature columns ")
    assert "'city' (e.g. 'Oslo' in data row 1), 'income' (e.g. a missing cell in data row 2)" in msg
    with pytest.raises(DataError, match="target column 'city'"):
        t.numeric(["city"], what="target")
    assert t.numeric(["x"]).ravel().tolist() == [1.0, 2.0, 3.0]


def test_check_target_lists_the_columns():
    t = Table.from_columns("t.csv", {"a": [1], "y": [0]})
    assert t.check_target("y", "unused") == "y"
    with pytest.raises(DataError, match=r"^t.csv: no column named 'z'; the columns are a, y$"):
        t.check_target("z", "unused")
    with pytest.raises(DataError, match=r"^name one \(columns: a, y\)$"):
        t.check_target(None, "name one")


@pytest.mark.parametrize("text, ok", [("3", True), ("-2.5e-3", True), (" 7 ", True),
                                      ("nan", False), ("-inf", False), ("", False), ("x1", False)])
def test_is_finite_number(text, ok):
    assert is_finite_number(text) is ok


# --- load_dataset ------------------------------------------------------------------------------

def test_load_dataset_reads_a_csv_with_its_target(tmp_path):
    path = write(tmp_path, "grades,decision,test\n8,accept,9\n2,reject,3\n7,accept,6\n")
    d = load_dataset(str(path), "decision")
    assert isinstance(d, TabularData)
    assert d.features == ["grades", "test"] and d.target_name == "decision"
    assert d.X.tolist() == [[8.0, 9.0], [2.0, 3.0], [7.0, 6.0]] and d.numeric
    assert d.target.dtype == object and d.target.tolist() == ["accept", "reject", "accept"]
    assert d.dropped == 0 and d.source == str(path)
    path2 = write(tmp_path, "x,price\n1,10.5\n2,20\n", name="r.csv")
    numbers = load_dataset(str(path2), "price")           # a numeric target stays numbers
    assert numbers.target.dtype == np.float64 and numbers.target.tolist() == [10.5, 20.0]


def test_load_dataset_leaves_out_rows_without_a_target(tmp_path):
    path = write(tmp_path, "a,city,y\n1,Oslo,0\n2,,\n,Rome,1\n4,Oslo,NA\n")
    with pytest.raises(DataError, match=r"name the target column with --target \(columns: a, city, y\)"):
        load_dataset(str(path))
    d = load_dataset(str(path), "y")
    assert d.dropped == 2 and d.target.tolist() == [0.0, 1.0] and not d.numeric
    assert d.table.column("city").tolist() == ["Oslo", "Rome"]
    only = write(tmp_path, "y\n1\n", name="only.csv")
    with pytest.raises(DataError, match="only the target column 'y'; no feature columns"):
        load_dataset(str(only), "y")
    inf = write(tmp_path, "a,y\n1,0\n2,inf\n", name="inf.csv")
    with pytest.raises(DataError, match="has inf in data row 2; targets must be finite"):
        load_dataset(str(inf), "y")


def test_load_dataset_bundled_sets_by_name():
    d = load_dataset("spirals", seed=3)
    assert d.source == "spirals" and d.features == ["x1", "x2"] and d.target_name == "label"
    assert d.X.shape == (600, 2) and d.X.dtype == np.float64 and d.dropped == 0
    np.testing.assert_array_equal(load_dataset("spirals", seed=3).X, d.X)   # the seed fixes it
    assert not np.array_equal(load_dataset("spirals", seed=4).X, d.X)
    assert load_dataset("admissions", "admitted").target_name == "admitted"
    with pytest.raises(DataError, match="has the target column 'label'; got --target 'y'"):
        load_dataset("moons", "y")
    with pytest.raises(DataError, match="neither a CSV file nor a bundled data set"):
        load_dataset("moonz")
    assert {"digits", "digits-0-1", "moons", "regression", "breast-cancer", "iris",
            "wine"} <= set(BUNDLED_DATASETS)


def test_bundled_scikit_learn_tables_keep_their_class_names():
    pytest.importorskip("sklearn")
    d = load_dataset("breast-cancer")
    assert d.X.shape == (569, 30) and d.target_name == "diagnosis"
    assert sorted(set(d.target.tolist())) == ["benign", "malignant"]
    assert np.sum(d.target == "malignant") == 212            # scikit-learn's documented count


def test_bundled_digits_keep_the_digits_as_labels():
    pytest.importorskip("sklearn")
    d = load_dataset("digits-1-2")
    assert sorted(set(d.target.tolist())) == [1.0, 2.0] and d.features[:2] == ["pixel_0_0",
                                                                               "pixel_0_1"]


# --- the task and the encoded target -----------------------------------------------------------

def data_with(target):
    target = np.asarray(target)
    return TabularData("t.csv", Table.from_array("t.csv", np.zeros((len(target), 1)), ["x"]),
                       target, ["x"], "y")


def test_resolve_task_from_the_target():
    assert resolve_task("auto", data_with(np.array(["a", "b"], dtype=object))) == "classification"
    assert resolve_task("auto", data_with([0.0, 1.0, 2.0])) == "classification"
    assert resolve_task("auto", data_with([0.0, 1.5])) == "regression"
    many = data_with(np.arange(MAX_CLASSES + 1, dtype=float))     # too many whole numbers
    assert resolve_task("auto", many) == "regression"
    assert resolve_task("auto", data_with(np.arange(MAX_CLASSES, dtype=float))) == "classification"
    assert resolve_task("regression", data_with([0.0, 1.0])) == "regression"
    with pytest.raises(DataError, match="needs a numeric target, but 'y' holds labels such as 'b'"):
        resolve_task("regression", data_with(np.array(["b", "c"], dtype=object)))


def test_encode_classes_sorts_labels_and_indexes_rows():
    labels, idx = encode_classes(np.array(["dog", "cat", "dog", "emu"], dtype=object))
    assert labels == ["cat", "dog", "emu"] and idx.tolist() == [1, 0, 1, 2]
    labels, idx = encode_classes(np.array([7.0, 2.0, 2.5, 7.0]))
    assert labels == [2, 2.5, 7] and isinstance(labels[0], int) and idx.tolist() == [2, 0, 1, 2]
    assert idx.dtype == np.int64


def test_encode_target_gives_task_classes_and_training_target():
    task, classes, y = encode_target(data_with(np.array(["no", "yes", "no"], dtype=object)))
    assert (task, classes, y.tolist()) == ("binary", ["no", "yes"], [0, 1, 0])
    task, classes, y = encode_target(data_with([3.0, 1.0, 2.0]))
    assert (task, classes, y.tolist()) == ("multiclass", [1, 2, 3], [2, 0, 1])
    task, classes, y = encode_target(data_with([3.0, 1.0, 2.0]), "regression")
    assert (task, classes, y.tolist()) == ("regression", None, [3.0, 1.0, 2.0])
    with pytest.raises(DataError, match=r"only one class \('a'\); classification needs at least two"):
        encode_target(data_with(np.array(["a", "a"], dtype=object)))
