"""The command line on tables people have: separators, compression, missing cells and
categories; training that stops early; the binary metrics; failures as one line; Ctrl-C; and
the ONNX export of a model with its preprocessing, checked by onnxruntime against predict."""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.data import Features, Table, read_csv
from chainrule.io import load_arrays

ROOT = Path(__file__).resolve().parents[1]
HAVE_SKLEARN = importlib.util.find_spec("sklearn") is not None
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def shop_rows(n, seed):
    """Customers: age, city, income and whether they bought; some cells empty or NA."""
    g = np.random.default_rng(seed)
    age = np.round(g.uniform(18, 80, n), 1)
    city = g.choice(["Oslo", "Rome", "Lima"], n)
    income = np.round(g.normal(50, 15, n), 2)
    bought = np.where(((age > 40) & (city != "Rome")) | (income > 65), "yes", "no")
    rows = []
    for i in range(n):
        rows.append([str(age[i]) if i % 17 else "NA", city[i] if i % 13 else "",
                     str(income[i]) if i % 11 else "n/a", bought[i]])
    return rows


def write_table(path, rows, sep=";", header=("age", "city", "income", "bought")):
    text = "".join(sep.join(r) + "\n" for r in ([list(header)] if header else []) + rows)
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        Path(path).write_text(text)
    return path


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A model trained once on a gzip'd, tab-separated table with NA cells and a category."""
    pytest.importorskip("sklearn")
    d = tmp_path_factory.mktemp("shop")
    data = write_table(d / "train.tsv.gz", shop_rows(400, 0), sep="\t")
    assert main(["train", str(data), "--target", "bought", "--out", str(d / "run"), "--seed", "1",
                 "--no-progress"]) == 0
    return d


# --- tables --------------------------------------------------------------------------------------

def test_train_reads_gzip_tabs_na_and_categories(shop):
    meta = load_arrays(shop / "run" / "model.safetensors")[1]["metadata"]
    cols = {c["name"]: c for c in meta["preprocessing"]["columns"]}
    assert cols["city"]["kind"] == "category" and cols["city"]["categories"] == ["Lima", "Oslo",
                                                                                 "Rome"]
    assert cols["age"]["kind"] == "number" and 18 < cols["age"]["fill"] < 80
    report = json.loads((shop / "run" / "metrics.json").read_text())
    assert report["inputs"] == ["age", "city=Lima", "city=Oslo", "city=Rome", "income"]
    assert report["sizes"][0] == 5 and report["validation"]["accuracy"] >= 0.85


def test_predict_and_evaluate_take_the_same_kind_of_csv(shop, tmp_path, capsys):
    model = shop / "run" / "model.safetensors"
    # semicolons this time, columns reordered, an unseen city and a new id column
    rows = [[r[3], r[2], r[0], r[1]] for r in shop_rows(120, 7)]
    rows[0][3] = "Paris"
    data = write_table(tmp_path / "new.csv", [[str(i), *r] for i, r in enumerate(rows)],
                       header=("id", "bought", "income", "age", "city"))
    code, out, err = run(capsys, "predict", model, data)
    assert code == 0 and "ignoring column(s) the model was not trained on: id" in err
    lines = out.splitlines()
    assert lines[0] == "prediction,probability_no,probability_yes" and len(lines) == 121
    proba = np.array([[float(v) for v in ln.split(",")[1:]] for ln in lines[1:]])
    # every digit is written: each row sums to one as the model computed it
    assert np.max(np.abs(proba.sum(axis=1) - 1.0)) <= 2.3e-16
    assert all(len(ln.split(",")[1]) > 8 for ln in lines[1:])
    code, out, _ = run(capsys, "evaluate", model, data, "--json")
    m = json.loads(out)
    assert code == 0 and m["n"] == 120 and m["accuracy"] >= 0.85
    assert {"precision", "recall", "f1", "roc_auc"} <= set(m)
    labels = [r[0] for r in rows]
    pred = [ln.split(",")[0] for ln in lines[1:]]
    tp = sum(p == t == "yes" for p, t in zip(pred, labels))
    assert m["precision"] == pytest.approx(tp / pred.count("yes"))
    assert m["recall"] == pytest.approx(tp / labels.count("yes"))


def test_no_header_and_explicit_separator(tmp_path, capsys):
    pytest.importorskip("sklearn")
    data = write_table(tmp_path / "raw.txt", shop_rows(80, 2), sep="|", header=None)
    code, out, err = run(capsys, "train", data, "--no-header", "--sep", "|", "--target", "4",
                         "--out", tmp_path / "o", "--epochs", "3", "--no-progress")
    assert code == 0, err
    meta = load_arrays(tmp_path / "o" / "model.safetensors")[1]["metadata"]
    assert meta["features"] == ["1", "2", "3"] and meta["target"] == "4"


def test_a_200_row_slice_of_a_large_file_reads_fast(tmp_path):
    """The pandas reader (the tables extra): 200,000 rows, about 8 MB, in well under the
    csv module's time (the 200 MB measurement is in the report, not the suite)."""
    pytest.importorskip("pandas")
    g = np.random.default_rng(0)
    X = np.round(g.normal(size=(200_000, 4)), 5)
    path = tmp_path / "big.csv"
    np.savetxt(path, X, delimiter=",", header="a,b,c,d", comments="", fmt="%.5f")
    start = time.perf_counter()
    t = read_csv(path)
    assert time.perf_counter() - start < 5.0
    assert t.n_rows == 200_000 and t.numeric(["d"]).ravel()[:3].tolist() == X[:3, 3].tolist()


def test_features_give_what_scikit_learns_column_transformer_gives():
    pytest.importorskip("sklearn")
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    g = np.random.default_rng(0)
    a = g.normal(3, 2, 50)
    a[::7] = np.nan
    city = g.choice(["x", "y", "z"], 50).astype(object)
    city[::5] = None
    t = Table.from_columns("t", {"a": a, "city": city})
    f = Features.fit(t)
    frame = pd.DataFrame({"a": a, "city": pd.Series(city, dtype=object)})
    ct = ColumnTransformer([
        ("n", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), ["a"]),
        ("c", make_pipeline(SimpleImputer(strategy="most_frequent", missing_values=None),
                            OneHotEncoder(handle_unknown="ignore", sparse_output=False)), ["city"])])
    np.testing.assert_allclose(f.transform(t, np.float64), ct.fit_transform(frame), atol=1e-12)
    back = Features.from_json(json.loads(json.dumps(f.to_json())))
    np.testing.assert_array_equal(back.transform(t), f.transform(t))


# --- training defaults ----------------------------------------------------------------------------

def test_early_stopping_saves_the_best_epoch(tmp_path, capsys):
    pytest.importorskip("sklearn")
    code, out, err = run(capsys, "train", "breast-cancer", "--out", tmp_path / "bc",
                         "--no-progress")
    assert code == 0, err
    r = json.loads((tmp_path / "bc" / "metrics.json").read_text())
    assert r["stopped_early"] and r["epochs_run"] == r["best_epoch"] + 10   # --patience 10
    assert r["saved_epoch"] == r["best_epoch"]
    # the saved model is the best epoch's: its validation log-loss is the best one
    assert r["validation"]["log_loss"] == pytest.approx(r["best_val_loss"], rel=1e-4)
    assert r["best_val_loss"] < r["final_val_loss"]
    assert f"stopped early, saved epoch {r['best_epoch']}" in out


def test_options_patience_weight_decay_dropout_and_one_epoch(tmp_path, capsys):
    code, out, err = run(capsys, "train", "moons", "--out", tmp_path / "m", "--epochs", "1",
                         "--weight-decay", "0.01", "--dropout", "0.2", "--no-progress")
    assert code == 0, err
    assert " 1 epoch in " in out and "epochs" not in out.split(" in ")[0][-8:]
    meta = load_arrays(tmp_path / "m" / "model.safetensors")[1]["metadata"]
    assert (meta["weight_decay"], meta["dropout"], meta["patience"]) == (0.01, 0.2, 10)
    r = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert r["seconds_training"] <= r["seconds_training"] + r["seconds_report"]


def test_lbfgs_converges_on_its_defaults(tmp_path, capsys):
    code, out, err = run(capsys, "train", "moons", "--optimizer", "lbfgs", "--epochs", "5",
                         "--patience", "0", "--hidden", "16", "--out", tmp_path / "l",
                         "--no-progress")
    assert code == 0, err
    with open(tmp_path / "l" / "history.csv", newline="") as f:
        loss = [float(r["loss"]) for r in csv.DictReader(f)]
    assert all(np.isfinite(loss)) and loss[-1] < 0.5 * loss[0]
    r = json.loads((tmp_path / "l" / "metrics.json").read_text())
    assert r["validation"]["accuracy"] >= 0.9


# --- failures ---------------------------------------------------------------------------------------

def test_reusing_out_is_refused_unless_force(tmp_path, capsys):
    out = tmp_path / "run"
    assert run(capsys, "train", "moons", "--out", out, "--epochs", "1", "--no-progress")[0] == 0
    assert (out / "graph.dot").exists()
    code, _, err = run(capsys, "train", "regression", "--out", out, "--epochs", "1")
    assert code == 1 and "holds an earlier run" in err and "--force" in err
    (out / "decision_boundary.png").write_bytes(b"an old picture")
    (out / "notes.txt").write_text("mine")
    code, _, err = run(capsys, "train", "regression", "--out", out, "--epochs", "1", "--force",
                       "--no-progress")
    assert code == 0, err
    assert not (out / "decision_boundary.png").exists() and (out / "notes.txt").exists()
    assert json.loads((out / "metrics.json").read_text())["task"] == "regression"


@pytest.mark.parametrize("argv, message, code", [
    (["train", "moons", "--out", "{d}/o", "--seed", "-1"], "--seed: must be a whole number", 2),
    (["train", "moons", "--out", "{d}/o", "--hidden", "100000000"], "needs about", 1),
    (["predict", "{d}/cut.safetensors", "{d}/x.csv"], "{d}/cut.safetensors", 1),
    (["predict", "{d}/noise.safetensors", "{d}/x.csv"], "{d}/noise.safetensors", 1),
    (["predict", "{d}", "{d}/x.csv"], "{d}", 1),
    (["evaluate", "{d}/cut.safetensors", "moons"], "{d}/cut.safetensors", 1),
    (["export", "{d}/noise.safetensors"], "{d}/noise.safetensors", 1),
    (["train", "{d}/x.csv", "--target", "y", "--out", "{d}/o2", "--sep", ";"], "no column", 1),
])
def test_failures_are_one_line_with_the_documented_code(tmp_path, capsys, argv, message, code,
                                                       shop):
    (tmp_path / "x.csv").write_text("a,y\n1,0\n2,1\n")
    good = (shop / "run" / "model.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(good[: len(good) // 2])
    (tmp_path / "noise.safetensors").write_bytes(np.random.default_rng(0).bytes(3000))
    capsys.readouterr()
    got, out, err = run(capsys, *[a.format(d=tmp_path) for a in argv])
    assert got == code and "Traceback" not in err
    assert message.format(d=tmp_path) in err
    if code == 1:
        assert err.startswith("chainrule: error: ") and err.count("\n") == 1


def test_help_documents_the_exit_codes(capsys):
    for command in ("train", "predict", "evaluate", "export"):
        code, out, _ = run(capsys, command, "--help")
        assert code == 0 and "exit codes: 0 success; 1 data, file or model error" in out
        assert "130 interrupted" in out


def test_a_closed_pipe_ends_quietly():
    proc = subprocess.Popen([sys.executable, "-m", "chainrule", "explain", "--sizes",
                             "120,120,120"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=ROOT, env=ENV)
    proc.stdout.readline()
    proc.stdout.close()                       # what `| head -1` does
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 0 and "Broken pipe" not in err and err == ""


def test_ctrl_c_leaves_a_marked_partial_run(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "chainrule", "train", "spirals", "--out",
                             str(out), "--epochs", "100000", "--patience", "0", "--hidden",
                             "64,64", "--no-progress"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT, env=ENV)
    deadline = time.time() + 60
    while not (out / "PARTIAL_RUN.txt").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    err = err.decode()
    assert proc.returncode == 130 and "Traceback" not in err
    assert "interrupted" in err and "incomplete run" in err
    assert "interrupted (Ctrl-C)" in (out / "PARTIAL_RUN.txt").read_text()
    assert not (out / "metrics.json").exists()


# --- export ---------------------------------------------------------------------------------------

def _feeds(rows):
    def num(v):
        try:
            return float(v)
        except ValueError:
            return np.nan
    return {"age": np.array([[num(r[0])] for r in rows], np.float32),
            "city": np.array([[r[1]] for r in rows], dtype=object),
            "income": np.array([[num(r[2])] for r in rows], np.float32)}


def test_export_onnx_matches_predict_on_raw_rows(shop, tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model = shop / "run" / "model.safetensors"
    rows = shop_rows(150, 11)
    rows[3][1] = "Paris"                                  # an unseen category: all zeros
    data = write_table(tmp_path / "new.csv", rows)
    code, out, err = run(capsys, "export", model, "--format", "onnx", "--out", tmp_path / "m.onnx")
    assert code == 0, err
    assert "inputs age, city, income; outputs label, probabilities" in out
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"))
    label, proba = sess.run(None, _feeds(rows))
    code, out, _ = run(capsys, "predict", model, data)
    lines = out.splitlines()[1:]
    want = np.array([[float(v) for v in ln.split(",")[1:]] for ln in lines])
    np.testing.assert_allclose(proba, want, atol=1e-5)
    assert label.tolist() == [ln.split(",")[0] for ln in lines]


def test_export_regression_and_multiclass_models(tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    for name, outputs in (("regression", ["value"]), ("spirals", ["label", "probabilities"])):
        d = tmp_path / name
        assert main(["train", name, "--out", str(d), "--epochs", "3", "--no-progress"]) == 0
        assert run(capsys, "export", d / "model.safetensors")[0] == 0
        sess = ort.InferenceSession(str(d / "model.onnx"))
        assert [o.name for o in sess.get_outputs()] == outputs
        csv_path = d / "rows.csv"
        cols = [i.name for i in sess.get_inputs()]
        X = np.random.default_rng(0).normal(size=(20, len(cols))).astype(np.float32)
        np.savetxt(csv_path, X, delimiter=",", header=",".join(cols), comments="")
        got = sess.run(None, {c: X[:, [k]] for k, c in enumerate(cols)})
        code, out, _ = run(capsys, "predict", d / "model.safetensors", csv_path)
        lines = out.splitlines()[1:]
        if name == "regression":
            np.testing.assert_allclose(got[0], [float(v) for v in lines], rtol=1e-4, atol=1e-4)
        else:
            assert got[0].tolist() == [int(ln.split(",")[0]) for ln in lines]
            np.testing.assert_allclose(got[1], [[float(v) for v in ln.split(",")[1:]]
                                                for ln in lines], atol=1e-5)
