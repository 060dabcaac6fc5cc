"""check_Xy, train_test_split and Standardizer."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule
from chainrule.data import Standardizer, check_Xy, train_test_split
from chainrule.errors import ChainruleError, ConfigError, DataError, ShapeError, StateError


def test_check_Xy_returns_the_arrays_without_copying():
    X = np.ones((4, 3), np.float32)
    y = np.arange(4)
    X2, y2 = check_Xy(X, y)
    assert X2 is X and y2 is y
    X3, y3 = check_Xy(chainrule.Tensor(X))
    assert X3 is X and y3 is None


def test_check_Xy_different_lengths_names_both():
    with pytest.raises(DataError) as info:
        check_Xy(np.zeros((5, 2)), np.zeros(3))
    assert "5" in str(info.value) and "3" in str(info.value) and "lengths" in str(info.value)


def test_check_Xy_nan_in_X_says_which_column_and_how_many():
    X = np.zeros((6, 4), np.float32)
    X[1, 2] = np.nan
    X[4, 2] = np.nan
    X[5, 0] = np.inf
    with pytest.raises(DataError) as info:
        check_Xy(X, np.zeros(6))
    msg = str(info.value)
    assert "X has 2 NaN and 1 Inf" in msg
    assert "2 of its 4 columns [0, 2]" in msg and "first row 1" in msg


def test_check_Xy_inf_in_y_says_which_rows():
    y = np.array([0.0, 1.0, -np.inf, 2.0])
    with pytest.raises(DataError, match=r"y has 0 NaN and 1 Inf values, at rows \[2\]"):
        check_Xy(np.zeros((4, 2)), y)


def test_check_Xy_nan_in_images_counts_flattened_features():
    X = np.zeros((3, 1, 2, 2))
    X[2, 0, 1, 1] = np.nan
    with pytest.raises(DataError, match=r"1 of its 4 features \(flattened\) \[3\]"):
        check_Xy(X)


@pytest.mark.parametrize("X, y, needle", [
    (np.zeros((0, 3)), None, "empty"),
    (np.zeros((0, 3)), np.zeros(0), "empty"),
    (np.float64(1.0), None, "scalar"),
    (np.zeros(3), np.int64(2), "scalar"),
    (np.array(["a", "b"]), None, "non-numeric"),
])
def test_check_Xy_rejects_empty_scalar_and_non_numeric(X, y, needle):
    with pytest.raises(DataError, match=needle):
        check_Xy(X, y)


def test_check_Xy_overflowing_sum_of_finite_values_passes():
    X = np.full((4, 2), 3e38, np.float32)  # the float32 sum overflows, the values do not
    assert check_Xy(X)[0] is X


def test_errors_are_chainrule_errors():
    with pytest.raises(ChainruleError):
        check_Xy(np.zeros((2, 2)), np.zeros(3))


def test_train_test_split_partitions_and_is_seeded():
    X = np.arange(40, dtype=np.float32).reshape(20, 2)
    y = np.arange(20)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, rng=0)
    assert X_tr.shape == (15, 2) and X_te.shape == (5, 2)
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(20))
    np.testing.assert_array_equal(X_tr[:, 0], 2 * y_tr)  # rows stay with their labels
    again = train_test_split(X, y, test_size=0.25, rng=0)
    assert np.array_equal(again[3], y_te)
    other = train_test_split(X, y, test_size=0.25, rng=1)
    assert not np.array_equal(other[3], y_te)


def test_train_test_split_count_and_rounding_up():
    X, y = np.zeros((10, 1)), np.zeros(10)
    assert len(train_test_split(X, y, test_size=3, rng=0)[1]) == 3
    assert len(train_test_split(X, y, test_size=0.21, rng=0)[1]) == 3  # ceil(2.1)


def test_train_test_split_stratified_keeps_class_proportions():
    y = np.array([0] * 70 + [1] * 20 + [2] * 10)
    X = np.arange(100, dtype=np.float32)[:, None]
    for seed in range(3):
        _, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, rng=seed, stratify=y)
        assert np.bincount(y_te).tolist() == [14, 4, 2]
        assert np.bincount(y_tr).tolist() == [56, 16, 8]
        np.testing.assert_array_equal(y[X_te[:, 0].astype(int)], y_te)


def test_train_test_split_stratified_rounding_hits_the_requested_size():
    y = np.array([0] * 5 + [1] * 5 + [2] * 5)
    _, _, _, y_te = train_test_split(np.zeros((15, 1)), y, test_size=4, rng=0, stratify=y)
    assert len(y_te) == 4 and sorted(np.bincount(y_te, minlength=3).tolist()) == [1, 1, 2]


@pytest.mark.parametrize("test_size", [0, 1.0, 10, -0.1, True])
def test_train_test_split_rejects_sizes_leaving_a_part_empty(test_size):
    with pytest.raises(ConfigError, match="test_size"):
        train_test_split(np.zeros((10, 1)), np.zeros(10), test_size=test_size)


def test_train_test_split_rejects_mismatched_lengths():
    with pytest.raises(DataError, match="different lengths"):
        train_test_split(np.zeros((10, 1)), np.zeros(9))
    with pytest.raises(DataError, match="stratify"):
        train_test_split(np.zeros((10, 1)), np.zeros(10), stratify=np.zeros(8))


def test_standardizer_is_fitted_on_training_data_only():
    rng = np.random.default_rng(0)
    X_train = rng.normal([1.0, -3.0], [2.0, 0.5], size=(200, 2)).astype(np.float32)
    X_test = rng.normal([5.0, 0.0], [1.0, 1.0], size=(50, 2)).astype(np.float32)
    s = Standardizer().fit(X_train)
    np.testing.assert_allclose(s.mean_, X_train.astype(np.float64).mean(0))
    np.testing.assert_allclose(s.scale_, X_train.astype(np.float64).std(0))
    Z_train, Z_test = s.transform(X_train), s.transform(X_test)
    assert Z_train.dtype == np.float32 and Z_test.dtype == np.float32
    np.testing.assert_allclose(Z_train.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(Z_train.std(0), 1.0, atol=1e-5)
    # the test data are mapped with the training statistics, not their own
    np.testing.assert_allclose(Z_test, (X_test - s.mean_) / s.scale_, rtol=1e-5)
    assert abs(Z_test[:, 0].mean()) > 1.0
    np.testing.assert_allclose(s.inverse_transform(Z_test), X_test, rtol=1e-5, atol=1e-5)


def test_standardizer_constant_columns_are_centred_not_divided_by_zero():
    X = np.array([[0.1, 1.0], [0.1, 2.0], [0.1, 3.0]])
    s = Standardizer()
    Z = s.fit_transform(X)
    assert s.scale_[0] == 1.0
    # the mean of three 0.1s is 0.1 up to rounding, so the column is 0 up to rounding
    np.testing.assert_allclose(Z[:, 0], 0.0, atol=1e-15)
    assert np.all(np.isfinite(Z))
    np.testing.assert_allclose(s.inverse_transform(Z), X)


def test_standardizer_matches_scikit_learn():
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    X = np.random.default_rng(1).normal(size=(30, 4))
    X[:, 3] = 7.0
    expected = preprocessing.StandardScaler().fit_transform(X)
    np.testing.assert_allclose(Standardizer().fit_transform(X), expected, atol=1e-12)


def test_standardizer_integer_input_gives_float32():
    Z = Standardizer().fit_transform(np.array([[1, 2], [3, 4]]))
    assert Z.dtype == np.float32 and Z.tolist() == [[-1.0, -1.0], [1.0, 1.0]]


def test_standardizer_errors():
    with pytest.raises(StateError, match="not fitted"):
        Standardizer().transform(np.zeros((2, 2)))
    s = Standardizer().fit(np.random.default_rng(0).normal(size=(5, 3)))
    with pytest.raises(ShapeError, match=r"expected \(n, 3\)"):
        s.transform(np.zeros((2, 4)))
    with pytest.raises(ShapeError, match="samples, features"):
        Standardizer().fit(np.zeros(4))
    with pytest.raises(DataError, match="NaN"):
        Standardizer().fit(np.array([[1.0, np.nan], [2.0, 3.0]]))


def test_standardizer_state_dict_round_trip():
    X = np.random.default_rng(2).normal(size=(10, 3))
    s = Standardizer().fit(X)
    t = Standardizer()
    t.load_state_dict(s.state_dict())
    np.testing.assert_array_equal(t.transform(X), s.transform(X))
    with pytest.raises(StateError, match="missing keys"):
        t.load_state_dict({"mean": np.zeros(3)})
