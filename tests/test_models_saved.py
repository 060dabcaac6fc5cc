"""chainrule.models.SavedModel and chainrule.io.load_model: a model with its feature names,
classes and standardization, whose answers come from the task head; and the heads' quadratic
loss (the notes' loss on the output probabilities)."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import DataError, ShapeError, Tensor
from chainrule import functional as F
from chainrule.data import Table, TabularData, encode_target, load_dataset
from chainrule.io import load_model, save
from chainrule.models import MLP, SavedModel
from chainrule.models.heads import get_head
from chainrule.train import predict

pytest.importorskip("safetensors")


def fitted(task, classes, sizes, features=("a", "b"), mean=(1.0, -2.0), scale=(2.0, 0.5),
           tmean=0.0, tscale=1.0):
    model = MLP(sizes, activation="tanh", task=task, rng=0)
    return SavedModel(model, "<memory>", task, list(features), "y", classes,
                      np.array(mean), np.array(scale), tmean, tscale)


X = np.array([[1.0, 2.0], [3.0, -1.0], [-0.5, 0.0]])


@pytest.mark.parametrize("task, classes, sizes", [("binary", ["no", "yes"], [2, 3, 1]),
                                                  ("multiclass", [1, 5, 9], [2, 3, 3])])
def test_load_model_gives_the_heads_probabilities(tmp_path, task, classes, sizes):
    s = fitted(task, classes, sizes)
    path = save(s.model, tmp_path / "m.safetensors", metadata={"format": "x", **s.metadata()})
    saved = load_model(path)
    assert isinstance(saved, SavedModel) and saved.path == str(path)
    assert (saved.task, saved.classes, saved.features, saved.target) == (task, classes, ["a", "b"], "y")
    inputs = ((X - np.array([1.0, -2.0])) / np.array([2.0, 0.5])).astype(np.float32)
    np.testing.assert_array_equal(saved.inputs(X), inputs)
    z = predict(s.model, inputs).astype(np.float64)
    head = get_head(task)
    np.testing.assert_array_equal(saved.proba(X), head.proba(z))
    np.testing.assert_allclose(saved.proba(X).sum(axis=1), 1.0)
    np.testing.assert_array_equal(saved.predict_indices(X), head.predict(z))
    assert saved.predict(X) == [classes[i] for i in head.predict(z)]
    if task == "binary":   # σ(z) in the second column, class 1 where z ≥ 0
        np.testing.assert_allclose(saved.proba(X)[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-12)
    else:                  # softmax rows, the argmax class
        e = np.exp(z - z.max(axis=1, keepdims=True))
        np.testing.assert_allclose(saved.proba(X), e / e.sum(axis=1, keepdims=True), rtol=1e-12)


def test_regression_values_are_in_the_targets_units(tmp_path):
    s = fitted("regression", None, [2, 3, 1], tmean=100.0, tscale=20.0)
    saved = load_model(save(s.model, tmp_path / "r.safetensors", metadata=s.metadata()))
    assert (saved.target_mean, saved.target_scale) == (100.0, 20.0)
    z = predict(s.model, saved.inputs(X)).astype(np.float64).reshape(-1)
    np.testing.assert_allclose(saved.values(X), z * 20.0 + 100.0)
    np.testing.assert_array_equal(saved.predict(X), saved.values(X))
    # targets() is the inverse: what the network trains on
    np.testing.assert_allclose(saved.targets(np.array([120.0, 80.0])).ravel(), [1.0, -1.0])
    with pytest.raises(AttributeError, match="no class probabilities"):
        saved.proba(X)


def test_a_model_saved_from_python_gets_defaults(tmp_path):
    model = MLP([2, 4, 3], task="multiclass", rng=0)
    saved = load_model(save(model, tmp_path / "plain.safetensors"))
    assert saved.task == "multiclass" and saved.classes == [0, 1, 2]
    assert saved.features is None and saved.mean is None and saved.n_features == 2
    np.testing.assert_allclose(saved.proba(X), model.predict_proba(X.astype(np.float32)),
                               rtol=1e-6)
    assert SavedModel.from_metadata(MLP([2, 1], task="binary"), {}).classes == [0, 1]


def test_metadata_round_trips_and_for_data_fits_the_training_rows():
    data = load_dataset("regression", seed=0)
    task, classes, y = encode_target(data)
    s = SavedModel.for_data(MLP([1, 2, 1], task=task, rng=0), data, task, classes, data.X, y)
    (col,) = s.preprocessing.columns
    assert col.mean == pytest.approx(data.X.mean()) and col.scale == pytest.approx(data.X.std())
    assert s.target_mean == pytest.approx(np.mean(y)) and s.target_scale == pytest.approx(np.std(y))
    back = SavedModel.from_metadata(s.model, s.metadata())
    assert back.preprocessing.to_json() == s.preprocessing.to_json()
    assert (back.target_mean, back.target_scale, back.features) == (s.target_mean, s.target_scale,
                                                                    ["x1"])
    raw = SavedModel.for_data(s.model, data, task, classes, data.X, y, standardize=False)
    assert raw.preprocessing.columns[0].scale == 1.0 and raw.preprocessing.columns[0].mean == 0
    assert "target_standardizer" not in raw.metadata()
    # classification targets are never standardized
    moons = load_dataset("moons")
    task, classes, y = encode_target(moons)
    c = SavedModel.for_data(MLP([2, 1], task=task), moons, task, classes, moons.X, y)
    assert (c.target_mean, c.target_scale) == (0.0, 1.0) and c.targets(y).dtype == np.float32


def test_metrics_of_a_saved_model():
    s = fitted("binary", ["no", "yes"], [2, 3, 1])
    m = s.metrics(X, np.array([0, 1, 1]))
    p = s.proba(X)
    assert m["classes"] == ["no", "yes"] and m["n"] == 3
    assert m["log_loss"] == pytest.approx(-np.mean(np.log([p[0, 0], p[1, 1], p[2, 1]])))


def table(columns, rows):
    return Table.from_columns("t.csv", {c: [r[k] for r in rows] for k, c in enumerate(columns)})


def test_columns_are_matched_by_name():
    s = fitted("binary", ["no", "yes"], [2, 3, 1])
    t = table(["id", "b", "y", "a"], [["7", "2", "no", "1"], ["8", "4", "yes", "3"]])
    assert s.check_columns(t) == ["id"] and s.check_columns(t, target="id") == ["y"]
    np.testing.assert_array_equal(s.inputs(t), s.inputs(np.array([[1.0, 2.0], [3.0, 4.0]])))
    with pytest.raises(ShapeError, match=r"expects 2 features \(a, b\); t.csv has 2 feature "
                                         r"column\(s\) \(b, c\), missing a"):
        s.inputs(table(["b", "c"], [["1", "2"]]))
    plain = SavedModel.from_metadata(MLP([2, 1], task="binary"), {}, "p.safetensors")
    assert plain.inputs(table(["u", "v"], [["1", "2"]])).tolist() == [[1.0, 2.0]]
    with pytest.raises(ShapeError, match="p.safetensors expects 2 features; t.csv has 3"):
        plain.inputs(table(["u", "v", "w"], [["1", "2", "3"]]))


def test_label_indices_read_labels_as_the_model_knows_them():
    s = fitted("multiclass", [1, 5, 9], [2, 3, 3])
    assert s.label_indices(np.array([9.0, 1.0, 5.0])).tolist() == [2, 0, 1]
    assert s.label_indices(np.array(["9", "1.0", "5"], dtype=object)).tolist() == [2, 0, 1]
    with pytest.raises(DataError, match=r"t.csv: the target column 'y' has labels the model does "
                                        r"not know: 'maybe' \(data row 2\), 4.0 \(data row 3\); "
                                        r"its classes are 1, 5, 9"):
        s.label_indices(np.array([9.0, "maybe", 4.0], dtype=object), "t.csv", "y")


def test_categories_and_missing_cells_reach_the_model_as_the_features_make_them(tmp_path):
    pytest.importorskip("sklearn")
    t = Table.from_columns("t.csv", {"age": [20, 40, None, 60], "city": ["Oslo", None, "Rome",
                                                                          "Oslo"]})
    data = TabularData("t.csv", t, np.array([0.0, 1.0, 0.0, 1.0]), ["age", "city"], "y")
    s = SavedModel.for_data(MLP([3, 1], task="binary", rng=0), data, "binary", [0, 1])
    assert s.n_features == 2 and s.n_inputs == 3
    back = load_model(save(s.model, tmp_path / "m.safetensors", metadata=s.metadata()))
    new = Table.from_columns("new.csv", {"city": ["Lima", "Rome"], "age": [None, 40]})
    # Lima was never seen: all zeros; the missing age is the training median, 40
    np.testing.assert_allclose(back.inputs(new), [[0.0, 0, 0], [0.0, 0, 1]], atol=1e-6)
    np.testing.assert_array_equal(back.proba(new), s.proba(new))


# --- the heads' quadratic loss --------------------------------------------------------------

def test_quadratic_loss_is_the_mean_square_error_of_the_probabilities():
    z = Tensor(np.array([0.5, -1.0, 2.0]))
    y = np.array([1.0, 0.0, 0.0])
    p = 1 / (1 + np.exp(-z.data))
    got = get_head("binary").quadratic_loss(z, Tensor(y))
    assert float(got.data) == pytest.approx(np.mean((p - y) ** 2))
    Z = Tensor(np.array([[1.0, 0.0, -1.0], [0.0, 2.0, 0.0]]))
    P = F.softmax(Z, axis=1).data
    got = get_head("multiclass").quadratic_loss(Z, Tensor(np.array([0, 2])))
    onehot = np.array([[1.0, 0, 0], [0, 0, 1.0]])
    assert float(got.data) == pytest.approx(np.mean((P - onehot) ** 2))
    r = get_head("regression").quadratic_loss(Tensor(np.array([1.0, 3.0])), Tensor(np.array([0.0, 1.0])))
    assert float(r.data) == pytest.approx((1 + 4) / 2)


def test_tabular_data_is_what_for_data_reads():
    d = TabularData("x.csv", Table.from_array("x.csv", np.ones((2, 1)), ["f"]),
                    np.array([0.0, 1.0]), ["f"], "t")
    s = SavedModel.for_data(MLP([1, 1], task="binary"), d, "binary", [0, 1], d.X, d.target)
    assert (s.features, s.target, s.classes) == (["f"], "t", [0, 1])
