"""Named tables and data sources: chainrule.data.read_csv / Table, and load_dataset,
encode_target, resolve_task, encode_classes (what ``chainrule train`` reads with)."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import DataError
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

def test_read_csv_keeps_text_and_file_lines(tmp_path):
    # a byte-order mark, spaces around cells, a blank line in the middle
    path = write(tmp_path, "\ufeffa, b ,label\n1, 2,cat\n\n3,4.5, dog \n", encoding="utf-8")
    t = read_csv(path)
    assert t.source == str(path)
    assert t.columns == ["a", "b", "label"]
    assert t.n_rows == 2 and t.lines == [2, 4]          # the file lines, blank line skipped
    assert t.column("label") == ("cat", "dog")
    X = t.numeric(["b", "a"])
    assert X.dtype == np.float64 and X.tolist() == [[2.0, 1.0], [4.5, 3.0]]


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"),
    ("\n\n", "the file is empty"),
    ("1,2\n3,4\n", "holds only numbers; a header row naming the columns is required"),
    ("a,,c\n1,2,3\n", "header column(s) [2] have no name"),
    ("a,b,a\n1,2,3\n", "repeated column name(s) in the header: a"),
    ("a,b\n", "a header but no data rows"),
    ("a,b\n1,2\n3\n", "line 3: 1 fields, but the header has 2 (a, b)"),
])
def test_read_csv_errors_name_the_problem(tmp_path, text, message):
    with pytest.raises(DataError) as info:
        read_csv(write(tmp_path, text))
    assert message in str(info.value) and str(tmp_path) in str(info.value)


def test_read_csv_of_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_csv(tmp_path / "nope.csv")


def test_numeric_names_every_bad_column_with_its_first_bad_value():
    t = Table("t.csv", ["x", "city", "income"],
              [("1", "2", "3"), ("Oslo", "Rome", "Oslo"), ("1.5", "", "inf")], [2, 3, 4])
    with pytest.raises(DataError) as info:
        t.numeric(["x", "city", "income"])
    msg = str(info.value)
    assert msg.startswith("t.csv: non-numeric values in feature columns ")
    assert "'city' (e.g. 'Oslo' on line 2), 'income' (e.g. an empty cell on line 3)" in msg
    with pytest.raises(DataError, match="target column 'city'.*targets must be"):
        t.numeric(["city"], what="target")
    assert t.numeric(["x"]).ravel().tolist() == [1.0, 2.0, 3.0]


def test_check_target_lists_the_columns():
    t = Table("t.csv", ["a", "y"], [("1",), ("0",)], [2])
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
    assert d.X.tolist() == [[8.0, 9.0], [2.0, 3.0], [7.0, 6.0]]
    assert d.target.dtype == object and d.target.tolist() == ["accept", "reject", "accept"]
    assert d.lines == [2, 3, 4] and d.source == str(path)
    path2 = write(tmp_path, "x,price\n1,10.5\n2,20\n", name="r.csv")
    numbers = load_dataset(str(path2), "price")           # a numeric target stays numbers
    assert numbers.target.dtype == np.float64 and numbers.target.tolist() == [10.5, 20.0]


def test_load_dataset_target_errors(tmp_path):
    path = write(tmp_path, "a,y\n1,0\n2,\n3,nan\n")
    with pytest.raises(DataError, match=r"name the target column with --target \(columns: a, y\)"):
        load_dataset(str(path))
    with pytest.raises(DataError, match=r"target column 'y' has empty cells \(line\(s\) 3\)"):
        load_dataset(str(path), "y")
    only = write(tmp_path, "y\n1\n", name="only.csv")
    with pytest.raises(DataError, match="only the target column 'y'; no feature columns"):
        load_dataset(str(only), "y")
    inf = write(tmp_path, "a,y\n1,0\n2,inf\n", name="inf.csv")
    with pytest.raises(DataError, match="has 'inf' on line 3; targets must be finite"):
        load_dataset(str(inf), "y")


def test_load_dataset_bundled_sets_by_name():
    d = load_dataset("spirals", seed=3)
    assert d.source == "spirals" and d.features == ["x1", "x2"] and d.target_name == "label"
    assert d.X.shape == (600, 2) and d.X.dtype == np.float64 and d.lines is None
    np.testing.assert_array_equal(load_dataset("spirals", seed=3).X, d.X)   # the seed fixes it
    assert not np.array_equal(load_dataset("spirals", seed=4).X, d.X)
    assert load_dataset("admissions", "admitted").target_name == "admitted"
    with pytest.raises(DataError, match="has the target column 'label'; got --target 'y'"):
        load_dataset("moons", "y")
    with pytest.raises(DataError, match="neither a CSV file nor a bundled data set"):
        load_dataset("moonz")
    assert {"digits", "digits-0-1", "moons", "regression"} <= set(BUNDLED_DATASETS)


def test_bundled_digits_keep_the_digits_as_labels():
    pytest.importorskip("sklearn")
    d = load_dataset("digits-1-2")
    assert sorted(set(d.target.tolist())) == [1.0, 2.0] and d.features[:2] == ["pixel_0_0",
                                                                               "pixel_0_1"]


# --- the task and the encoded target -----------------------------------------------------------

def data_with(target):
    target = np.asarray(target)
    return TabularData("t.csv", np.zeros((len(target), 1)), target, ["x"], "y")


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
