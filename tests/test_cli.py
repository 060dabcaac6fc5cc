"""The ``chainrule`` command, run in-process through chainrule.cli.main (and once as
``python -m chainrule``): train, predict, evaluate, gradcheck, explain, info, demo, errors."""

from __future__ import annotations

import csv
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule
from chainrule import DataError, ops
from chainrule.cli import main
from chainrule.io import load_arrays, save
from chainrule.models import MLP

ROOT = Path(__file__).resolve().parents[1]
HAVE_MPL = importlib.util.find_spec("matplotlib") is not None


def run(capsys, *argv):
    """(exit code, stdout, stderr) of ``chainrule argv``."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def admissions_rows(n, seed):
    """The notes' admissions rule 2·test + grades ≥ 18, labels as words."""
    g = np.random.default_rng(seed)
    X = np.round(g.uniform(0, 10, (n, 2)), 2)
    ok = 2 * X[:, 0] + X[:, 1] >= 18
    return X, np.where(ok, "accept", "reject")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained once from a CSV (columns in an odd order, word labels)."""
    d = tmp_path_factory.mktemp("admit")
    X, y = admissions_rows(300, seed=0)
    data = write_csv(d / "train.csv", ["grades", "decision", "test"],
                     [[g, lab, t] for (t, g), lab in zip(X, y)])
    code = main(["train", str(data), "--target", "decision", "--out", str(d / "run"),
                 "--hidden", "8", "--epochs", "40", "--seed", "1", "--no-progress"])
    assert code == 0
    return d


# --- help and usage -----------------------------------------------------------------------

def test_python_dash_m_help_runs_as_a_program():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "chainrule", "--help"], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for command in ("train", "predict", "evaluate", "gradcheck", "explain", "demo", "info"):
        assert command in proc.stdout
    assert "exit codes" in proc.stdout


def test_subcommand_help_lists_options_and_bundled_sets(capsys):
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0
    for piece in ("--target", "--hidden", "--optimizer", "--val-fraction", "--no-standardize",
                  "moons", "digits-0-1", "regression"):
        assert piece in out
    # the activation choices are the library's one table of hidden-layer activations
    assert "{" + ",".join(chainrule.nn.HIDDEN_ACTIVATIONS) + "}" in out


@pytest.mark.parametrize("argv, message", [
    ([], "required"),
    (["fly"], "invalid choice"),
    (["train", "moons"], "--out"),
    (["train", "moons", "--out", "x", "--epochs", "0"], "must be > 0"),
    (["train", "moons", "--out", "x", "--hidden", "8,a"], "comma-separated whole numbers"),
    (["train", "moons", "--out", "x", "--val-fraction", "1.5"], "[0, 1)"),
    (["train", "moons", "--out", "x", "--optimizer", "newton"], "invalid choice"),
    (["gradcheck"], "give a MODEL file, --ops, or both"),
    (["explain", "--sizes", "3"], "at least two sizes"),
    (["train", "moons", "--out", "x", "--lr", "-1"], "argument --lr: must be > 0; got -1"),
    (["train", "moons", "--out", "x", "--lr", "nan"], "argument --lr: must be > 0; got nan"),
    (["train", "moons", "--out", "x", "--lr", "fast"], "argument --lr: expected a float"),
    (["train", "moons", "--out", "x", "--val-fraction", "1"], "must be in [0, 1); got 1"),
    (["train", "moons", "--out", "x", "--val-fraction", "y"], "expected a number; got 'y'"),
    (["train", "moons", "--out", "x", "--hidden", "8,0"], "layer sizes must be >= 1"),
    (["train", "moons", "--out", "x", "--activation", "softmax"], "invalid choice"),
    (["gradcheck", "--ops", "--batch", "0"], "argument --batch: must be > 0; got 0"),
])
def test_usage_errors_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err and "usage:" in err and "Traceback" not in err


# --- train ---------------------------------------------------------------------------------

def test_train_on_a_bundled_set_writes_model_and_report(tmp_path, capsys):
    out_dir = tmp_path / "moons"
    code, out, err = run(capsys, "train", "moons", "--out", out_dir, "--hidden", "16",
                         "--epochs", "25", "--patience", "0", "--seed", "0", "--no-progress")
    assert code == 0, err
    assert "validation accuracy" in out and str(out_dir / "model.safetensors") in out
    history = read_rows(out_dir / "history.csv")
    assert history[0][:3] == ["epoch", "loss", "accuracy"] and len(history) == 1 + 25
    assert len(json.loads((out_dir / "history.json").read_text())) == 25
    report = json.loads((out_dir / "metrics.json").read_text())
    assert report["task"] == "binary" and report["n_train"] + report["n_val"] == 400
    assert report["n_val"] == 80  # --val-fraction 0.2
    assert report["validation"]["accuracy"] >= 0.85  # moons need the hidden layer's curve
    assert np.sum(report["validation"]["confusion_matrix"]) == 80
    assert (out_dir / "graph.dot").read_text().startswith("digraph")
    plots = {"loss_curve.png", "accuracy_curve.png", "decision_boundary.png"}
    assert all((out_dir / p).exists() == HAVE_MPL for p in plots)
    # The model file carries what predict needs: names, labels and the standardizer.
    _, info = load_arrays(out_dir / "model.safetensors")
    meta = info["metadata"]
    assert meta["features"] == ["x1", "x2"] and meta["target"] == "label"
    assert meta["classes"] == [0, 1] and meta["task"] == "binary"
    cols = meta["preprocessing"]["columns"]
    assert [c["name"] for c in cols] == ["x1", "x2"] and min(c["scale"] for c in cols) > 0


def test_train_on_digits_draws_the_hidden_units(tmp_path, capsys):
    pytest.importorskip("sklearn")
    code, out, err = run(capsys, "train", "digits-1-2", "--out", tmp_path, "--hidden", "8",
                         "--epochs", "3", "--no-progress")
    assert code == 0, err
    meta = load_arrays(tmp_path / "model.safetensors")[1]["metadata"]
    assert meta["classes"] == [1, 2] and len(meta["features"]) == 64  # the digits themselves
    assert (tmp_path / "hidden_units.png").exists() == HAVE_MPL


def test_train_csv_with_word_labels(trained):
    run_dir = trained / "run"
    meta = load_arrays(run_dir / "model.safetensors")[1]["metadata"]
    assert meta["features"] == ["grades", "test"] and meta["target"] == "decision"
    assert meta["classes"] == ["accept", "reject"] and meta["task"] == "binary"
    # The standardizer is fitted on the training rows only: 240 of the 300 here.
    rows = read_rows(trained / "train.csv")[1:]
    X = np.array([[float(r[0]), float(r[2])] for r in rows])
    mean = np.array([c["mean"] for c in meta["preprocessing"]["columns"]])
    assert np.all(np.abs(mean - X.mean(axis=0)) < 1.0) and not np.allclose(mean, X.mean(axis=0))
    assert json.loads((run_dir / "metrics.json").read_text())["n_train"] == 240


def test_task_detection_and_options(tmp_path, capsys):
    g = np.random.default_rng(0)
    X = g.standard_normal((60, 3))
    classes = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)       # 0, 1, 2
    values = X @ np.array([1.5, -2.0, 0.5]) + 0.01 * g.standard_normal(60)
    data = write_csv(tmp_path / "d.csv", ["a", "b", "c", "k", "v"],
                     [[*x, k, v] for x, k, v in zip(X, classes, values)])
    for target, task in (("k", "multiclass"), ("v", "regression")):
        code, _, err = run(capsys, "train", data, "--target", target, "--out", tmp_path / target,
                           "--epochs", "2", "--hidden", "4", "--no-progress")
        assert code == 0, err
        assert json.loads((tmp_path / target / "metrics.json").read_text())["task"] == task
    # Forcing regression on the class column, with SGD and no standardizing or validation.
    code, _, err = run(capsys, "train", data, "--target", "k", "--task", "regression",
                       "--out", tmp_path / "kr", "--epochs", "2", "--optimizer", "sgd",
                       "--lr", "0.01", "--no-standardize", "--val-fraction", "0", "--no-progress")
    assert code == 0, err
    report = json.loads((tmp_path / "kr" / "metrics.json").read_text())
    assert report["task"] == "regression" and report["n_val"] == 0 and "validation" not in report
    cols = load_arrays(tmp_path / "kr" / "model.safetensors")[1]["metadata"]["preprocessing"]
    assert [(c["mean"], c["scale"]) for c in cols["columns"]] == [(0.0, 1.0)] * 4
    # The notes' quadratic loss on class probabilities, and L-BFGS on full batches.
    code, _, err = run(capsys, "train", data, "--target", "k", "--loss", "mse", "--optimizer",
                       "lbfgs", "--batch-size", "60", "--out", tmp_path / "km", "--epochs", "2",
                       "--hidden", "4", "--activation", "tanh", "--no-progress")
    assert code == 0, err
    assert load_arrays(tmp_path / "km" / "model.safetensors")[1]["metadata"]["loss"] == "mse"
    # A regression target takes no cross-entropy.
    code, _, err = run(capsys, "train", data, "--target", "v", "--loss", "cross_entropy",
                       "--out", tmp_path / "bad", "--epochs", "1", "--no-progress")
    assert code == 1 and "needs class labels" in err


def test_regression_learns_and_predicts_in_the_targets_units(tmp_path, capsys):
    g = np.random.default_rng(3)
    X = g.uniform(-1, 1, (200, 2))
    y = 1000 + 300 * X[:, 0] - 200 * X[:, 1]            # large units: targets are standardized
    data = write_csv(tmp_path / "r.csv", ["p", "q", "price"], [[*x, t] for x, t in zip(X, y)])
    code, _, err = run(capsys, "train", data, "--target", "price", "--out", tmp_path / "run",
                       "--hidden", "16", "--epochs", "40", "--no-progress")
    assert code == 0, err
    model = tmp_path / "run" / "model.safetensors"
    code, out, _ = run(capsys, "evaluate", model, data, "--json")
    m = json.loads(out)
    assert code == 0 and m["task"] == "regression" and m["r2"] > 0.97
    code, _, _ = run(capsys, "predict", model, data, "--out", tmp_path / "p.csv")
    pred = np.array([float(r[0]) for r in read_rows(tmp_path / "p.csv")[1:]])
    assert read_rows(tmp_path / "p.csv")[0] == ["prediction"]
    assert np.mean((pred - y) ** 2) == pytest.approx(m["mse"], rel=1e-4)
    code, out, _ = run(capsys, "evaluate", model, data)
    assert "MSE" in out and "R²" in out


# --- predict and evaluate ------------------------------------------------------------------

def test_predict_matches_features_by_name_and_ignores_the_target(trained, capsys, tmp_path):
    model = trained / "run" / "model.safetensors"
    X, y = admissions_rows(80, seed=5)
    # Different column order, the target column present, and an extra id column.
    data = write_csv(tmp_path / "new.csv", ["id", "test", "decision", "grades"],
                     [[i, t, lab, g] for i, ((t, g), lab) in enumerate(zip(X, y))])
    code, _, err = run(capsys, "predict", model, data, "--out", tmp_path / "p.csv")
    assert code == 0 and "ignoring column(s) the model was not trained on: id" in err
    rows = read_rows(tmp_path / "p.csv")
    assert rows[0] == ["prediction", "probability_accept", "probability_reject"]
    assert len(rows) == 1 + 80
    proba = np.array([[float(a), float(b)] for _, a, b in rows[1:]])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    pred = [r[0] for r in rows[1:]]
    assert pred == [("accept", "reject")[int(p[1] > p[0])] for p in proba]
    assert np.mean(np.array(pred) == y) >= 0.9  # a linear rule, learned from 240 rows
    # The same rows in the training file's column order give the same predictions (stdout).
    same = write_csv(tmp_path / "same.csv", ["grades", "test"], [[g, t] for t, g in X])
    code, out, _ = run(capsys, "predict", model, same)
    assert code == 0 and out.splitlines() == [",".join(r) for r in rows]


def test_evaluate_prints_metrics_and_json(trained, capsys, tmp_path):
    model = trained / "run" / "model.safetensors"
    X, y = admissions_rows(100, seed=9)
    data = write_csv(tmp_path / "test.csv", ["test", "grades", "decision"],
                     [[t, g, lab] for (t, g), lab in zip(X, y)])
    code, out, _ = run(capsys, "evaluate", model, data, "--json")
    m = json.loads(out)
    assert code == 0 and m["n"] == 100 and m["classes"] == ["accept", "reject"]
    cm = np.array(m["confusion_matrix"])
    assert cm.sum() == 100 and cm.sum(axis=1).tolist() == [int(np.sum(y == "accept")),
                                                           int(np.sum(y == "reject"))]
    assert m["accuracy"] == pytest.approx(np.trace(cm) / 100)
    assert m["accuracy"] >= 0.9 and 0 < m["log_loss"] < 0.5
    code, out, _ = run(capsys, "evaluate", model, data, "--target", "decision")
    assert code == 0
    assert f"accuracy  {m['accuracy']:.4f}" in out and "confusion matrix" in out
    assert "accept" in out.splitlines()[-2] and "reject" in out.splitlines()[-1]


def test_a_model_saved_from_python_matches_features_by_position(tmp_path, capsys):
    model = MLP([2, 3, 1], task="binary", rng=0)
    path = save(model, tmp_path / "plain.safetensors")
    ok = write_csv(tmp_path / "ok.csv", ["u", "v"], [[0.1, 0.2], [0.3, -1.0]])
    code, out, _ = run(capsys, "predict", path, ok)
    assert code == 0 and out.splitlines()[0] == "prediction,probability_0,probability_1"
    want = model.predict_proba(np.array([[0.1, 0.2], [0.3, -1.0]], np.float32))
    got = [float(r.split(",")[2]) for r in out.splitlines()[1:]]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    bad = write_csv(tmp_path / "bad.csv", ["u", "v", "w"], [[1, 2, 3]])
    code, _, err = run(capsys, "predict", path, bad)
    assert code == 1 and "expects 2 features" in err and "has 3 feature column(s)" in err


# --- bad input -----------------------------------------------------------------------------

def test_missing_target_column_lists_the_columns(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a", "b", "label"], [[1, 2, 0], [3, 4, 1]])
    code, out, err = run(capsys, "train", data, "--target", "class", "--out", tmp_path / "o")
    assert code == 1 and out == ""
    assert err == f"chainrule: error: {data}: no column named 'class'; the columns are a, b, label\n"
    code, _, err = run(capsys, "train", data, "--out", tmp_path / "o")
    assert code == 1 and "name the target column with --target (columns: a, b, label)" in err


def test_text_features_and_empty_cells_are_prepared_not_refused(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["age", "city", "income", "y"],
                     [[30, "Oslo", 1.5, 0], [40, "Rome", "n/a", 1], [50, "Oslo", 2.5, 0],
                      ["", "", 3.0, 1]] * 5)
    code, _, err = run(capsys, "train", data, "--target", "y", "--out", tmp_path / "o",
                       "--epochs", "2", "--no-progress")
    assert code == 0, err
    cols = load_arrays(tmp_path / "o" / "model.safetensors")[1]["metadata"]["preprocessing"]
    kinds = {c["name"]: (c["kind"], c["fill"]) for c in cols["columns"]}
    assert kinds == {"age": ("number", 40.0), "city": ("category", "Oslo"),
                     "income": ("number", 2.5)}


def test_predict_with_a_model_for_other_features(trained, tmp_path, capsys):
    model = trained / "run" / "model.safetensors"
    data = write_csv(tmp_path / "d.csv", ["a", "b", "c"], [[1, 2, 3]])
    code, _, err = run(capsys, "predict", model, data)
    assert code == 1
    assert "expects 2 features (grades, test)" in err
    assert "has 3 feature column(s) (a, b, c), missing grades, test" in err


@pytest.mark.parametrize("argv, message", [
    (["train", "{d}/missing.csv", "--target", "y", "--out", "{d}/o"], "No such file or directory"),
    (["train", "moonz", "--out", "{d}/o"], "neither a CSV file nor a bundled data set"),
    (["train", "moons", "--target", "y", "--out", "{d}/o"], "has the target column 'label'"),
    (["train", "{d}/nohead.csv", "--target", "1", "--out", "{d}/o"], "a header row naming"),
    (["train", "{d}/ragged.csv", "--target", "y", "--out", "{d}/o"], "line 3"),
    (["train", "{d}/one.csv", "--target", "y", "--out", "{d}/o"], "only one class"),
    (["predict", "{d}/missing.safetensors", "{d}/one.csv"], "no such file"),
    (["predict", "{d}/one.csv", "{d}/one.csv"], "not a readable chainrule model file"),
    (["evaluate", "{model}", "{d}/labels.csv"], "labels the model does not know: 'maybe'"),
    (["evaluate", "{model}", "{d}/one.csv", "--target", "nope"], "no column named 'nope'"),
    (["gradcheck", "{d}/missing.safetensors"], "no such file"),
    (["explain", "--x", "1,2,3"], "takes 2 input(s)"),
    (["train", "moons", "--out", "{d}/one.csv"], "is a file; expected a folder"),
    (["train", "moons", "--out", "{d}/o", "--optimizer", "sgd", "--lr", "1e6", "--epochs", "2"],
     "the training loss became nan in epoch 1; lower the learning rate"),
])
def test_data_and_file_errors_exit_1_with_one_line(trained, tmp_path, capsys, argv, message):
    (tmp_path / "nohead.csv").write_text("1,2\n3,4\n")
    (tmp_path / "ragged.csv").write_text("a,y\n1,0\n2,1,5\n")
    write_csv(tmp_path / "one.csv", ["a", "y"], [[1, 0], [2, 0]])
    write_csv(tmp_path / "labels.csv", ["test", "grades", "decision"],
              [[9, 8, "accept"], [1, 1, "maybe"]])
    argv = [a.format(d=tmp_path, model=trained / "run" / "model.safetensors") for a in argv]
    code, _, err = run(capsys, *argv)
    assert code == 1
    assert err.startswith("chainrule: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_debug_shows_the_exception(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a", "y"], [[1, 0]])
    with pytest.raises(DataError, match="no column named 'z'"):
        main(["train", str(data), "--target", "z", "--out", str(tmp_path), "--debug"])
    with pytest.raises(FileNotFoundError):
        main(["--debug", "train", str(tmp_path / "nope.csv"), "--target", "z", "--out", "o"])


# --- gradcheck -----------------------------------------------------------------------------

def test_gradcheck_a_saved_model(trained, capsys):
    code, out, _ = run(capsys, "gradcheck", trained / "run" / "model.safetensors", "--batch", "2")
    assert code == 0
    for name in ("layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"):
        line = next(r for r in out.splitlines() if r.startswith(name + " "))
        assert line.endswith("ok")
    assert "all gradients agree" in out


def test_gradcheck_samples_entries_of_large_parameters(tmp_path, capsys):
    path = save(MLP([30, 20, 3], activation="tanh", task="multiclass", rng=0),
                tmp_path / "m.safetensors")
    code, out, _ = run(capsys, "gradcheck", path, "--max-elements", "50")
    assert code == 0
    assert "50/600" in out and "20/20" in out and "50/60" in out


def test_gradcheck_fails_on_a_wrong_derivative(trained, capsys, monkeypatch):
    model = trained / "run" / "model.safetensors"
    # the derivative every ReLU node uses, alone or fused into a Linear node
    monkeypatch.setattr(ops.Relu, "derivative", staticmethod(lambda xp, y: 2.0 * (y > 0)))
    code, out, err = run(capsys, "gradcheck", model)
    assert code == 1 and "FAILED" in out and "reverse mode disagrees" in out
    assert err.startswith("chainrule: error: gradients disagree with finite differences for ")
    assert "layers.0.weight" in err


def test_gradcheck_walks_every_registered_op(capsys):
    code, out, _ = run(capsys, "gradcheck", "--ops")
    assert code == 0
    for name in chainrule.OPS:
        line = next(r for r in out.splitlines() if r.split()[:1] == [name])
        assert line.endswith("ok"), line
    assert f"{len(chainrule.OPS)} registered primitives" in out


def test_gradcheck_ops_catches_a_broken_forward_rule(capsys, monkeypatch):
    monkeypatch.setattr(ops.Tanh, "jvp", lambda self, t: t)
    code, out, err = run(capsys, "gradcheck", "--ops")
    assert code == 1 and "forward mode disagrees" in out
    assert next(r for r in out.splitlines() if r.startswith("Tanh ")).endswith("FAILED")
    assert "for Tanh" in err


# --- explain, info, demo --------------------------------------------------------------------

def test_explain_prints_the_trace_and_the_engine_check(capsys):
    code, out, _ = run(capsys, "explain")
    assert code == 0
    assert "network 2-2-1" in out and "δ_j = y_j(1 − y_j) Σ_k w_jk δ_k" in out
    assert "w(x1→h1)" in out and "w(h2→o1)" in out and "largest difference" in out
    code, out, _ = run(capsys, "explain", "--sizes", "3,2,2", "--x", "1,0,-1", "--target",
                       "0,1", "--loss", "log", "--lr", "0.1", "--json")
    d = json.loads(out)
    assert code == 0 and d["lr"] == 0.1 and d["x"] == [1, 0, -1] and d["loss"] == "log"
    assert d["engine_max_difference"] < 1e-12


def test_info_lists_versions_extras_and_ops(capsys):
    code, out, _ = run(capsys, "info")
    assert code == 0
    assert f"chainrule {chainrule.__version__}" in out and f"NumPy {np.__version__}" in out
    assert "matplotlib" in out and "safetensors" in out and "graphviz dot" in out
    assert f"{len(chainrule.OPS)} primitives: " + ", ".join(chainrule.OPS) in out
    code, out, _ = run(capsys, "info", "--json")
    info = json.loads(out)
    assert info["ops"] == list(chainrule.OPS) and info["numpy"] == np.__version__
    assert (info["extras"]["matplotlib"] is not None) == HAVE_MPL


def test_info_versions_come_from_the_optional_helper():
    from chainrule.optional import installed_version
    assert installed_version("numpy") == np.__version__
    assert installed_version("no_such_module_xyz", "no-such-dist") is None
    if HAVE_MPL:
        assert installed_version("matplotlib") == importlib.metadata.version("matplotlib")


def test_demo_passes_its_options_to_demo_run(monkeypatch, capsys, tmp_path):
    calls = []
    monkeypatch.setattr("chainrule.demo.run", lambda out, **kw: calls.append((out, kw)))
    assert main(["demo", "--out", str(tmp_path), "--seed", "3", "--no-plots"]) == 0
    assert main(["demo"]) == 0
    assert calls == [(str(tmp_path), {"seed": 3, "plots": False, "progress": True}),
                     ("runs/demo", {"seed": 0, "plots": True, "progress": True})]
