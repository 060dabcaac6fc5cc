"""The playground's server without a browser: Starlette's TestClient for the API, a real
uvicorn server in a thread for the event stream and the command (skipped without the
``playground`` extra)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
try:  # Starlette's test client runs on httpx2 (1.x, Python >= 3.11), or httpx (older releases)
    import httpx2 as httpx
except ImportError:
    httpx = pytest.importorskip("httpx")
with warnings.catch_warnings():  # Starlette 1.x on httpx alone says it prefers httpx2
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from chainrule.cli import main  # noqa: E402
from chainrule.io import load_model  # noqa: E402
from chainrule.playground import (  # noqa: E402
    MAX_UPLOAD_BYTES, Config, Session, Sessions, create_app, running,
)

ROOT = Path(__file__).resolve().parents[1]
SID, OTHER = "tab-one-0001", "tab-two-0002"


@pytest.fixture
def client():
    app = create_app()
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c
    app.state.sessions.close()


def post(client, path, body, sid=SID):
    return client.post(f"{path}?sid={sid}", json=body)


def upload(client, text, name="points.csv", sid=SID):
    body = text if isinstance(text, bytes) else text.encode()
    return client.post(f"/api/upload?sid={sid}", content=body,
                       headers={"X-Filename": name, "Content-Type": "text/csv"})


def train(client, batches, sid=SID, timeout=30.0):
    """Play until ``batches`` batches are done, then pause; the last frame."""
    assert post(client, "/api/control", {"action": "play"}, sid).status_code == 200
    end = time.monotonic() + timeout
    while client.get(f"/api/frame?sid={sid}").json()["batches"] < batches:
        assert time.monotonic() < end, "training made no progress"
        time.sleep(0.05)
    assert post(client, "/api/control", {"action": "pause"}, sid).status_code == 200
    return client.get(f"/api/frame?sid={sid}").json()


def csv_text(rng, n=60, classes=2, features=2):
    X = rng.normal(size=(n, features))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) if classes == 2 else np.arange(n) % classes
    head = ",".join([f"f{i}" for i in range(features)] + ["kind"])
    return head + "\n" + "\n".join(",".join([*(f"{v:.4f}" for v in row), f"c{label}"])
                                   for row, label in zip(X, y)) + "\n"


# --- the page and the settings -------------------------------------------------------------------

def test_page_and_its_files_are_served_without_anything_from_the_internet(client):
    page = client.get("/")
    assert page.status_code == 200 and "<canvas id=\"boundary\"" in page.text
    for name in ("playground.js", "playground.css"):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and len(r.text) > 500
        assert "http://" not in r.text and "https://" not in r.text and "//cdn" not in r.text
    assert "http" not in page.text.replace("http-equiv", "")
    assert client.get("/static/../_app.py").status_code == 404
    options = client.get("/api/options").json()
    assert [d["name"] for d in options["datasets"]] == [
        "moons", "circles", "xor", "spirals", "blobs", "admissions"]
    assert {"sigmoid", "tanh", "relu"} <= set(options["activations"])
    assert options["max_upload_bytes"] == MAX_UPLOAD_BYTES


def test_requests_for_another_host_name_are_refused():
    app = create_app()
    with TestClient(app, base_url="http://evil.example") as c:
        assert c.get("/api/options").status_code == 400


def test_each_tab_has_its_own_session(client):
    a = client.get(f"/api/state?sid={SID}").json()
    assert a["config"] == Config().to_json() and a["sizes"] == [2, 4, 4, 1]
    b = post(client, "/api/config", {"dataset": "spirals", "hidden": [8]}, OTHER).json()
    assert b["sizes"] == [2, 8, 3] and b["points"]["classes"] == ["0", "1", "2"]
    assert client.get(f"/api/state?sid={SID}").json()["sizes"] == [2, 4, 4, 1]
    frame = client.get(f"/api/frame?sid={OTHER}").json()
    assert frame["boundary"]["kind"] == "multiclass"
    assert len(frame["boundary"]["cls"]) == frame["grid"]["size"] ** 2
    assert len(frame["hidden"]) == 1 and len(frame["hidden"][0]) == 8
    assert np.array(frame["weights"][0]["w"]).shape == (8, 2)
    assert len(client.app.state.sessions) == 2


@pytest.mark.parametrize("body, message", [
    ({"lr": -1}, "Invalid learning rate: -1"),
    ({"lr": "fast"}, "Invalid learning rate: 'fast'"),
    ({"hidden": [4, 40]}, "Invalid units in a hidden layer: 40"),
    ({"hidden": [2] * 7}, "at most 6 layer sizes"),
    ({"activation": "swish?"}, "Invalid activation"),
    ({"dataset": "upload"}, "upload a CSV file first"),
    ({"epochs": 3}, "unknown setting(s) epochs"),
])
def test_bad_settings_get_a_clear_message_and_change_nothing(client, body, message):
    before = client.get(f"/api/state?sid={SID}").json()
    r = post(client, "/api/config", body)
    assert r.status_code == 400 and message in r.json()["error"], r.json()
    assert client.get(f"/api/state?sid={SID}").json()["config"] == before["config"]


def test_bad_requests_and_ids(client):
    assert client.get("/api/state?sid=short").status_code == 400
    assert "Invalid session id" in client.get("/api/state?sid=a/b/c/d/e").json()["error"]
    assert "no session" in post(client, "/api/control", {"action": "play"}, OTHER).json()["error"]
    client.get(f"/api/state?sid={SID}")
    r = client.post(f"/api/control?sid={SID}", content="play")
    assert r.status_code == 400 and "JSON" in r.json()["error"]
    r = post(client, "/api/control", {"action": "jump"})
    assert r.status_code == 400 and "Invalid action: 'jump'" in r.json()["error"]


def test_the_number_of_sessions_is_bounded():
    app = create_app(Sessions(limit=2))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        for sid in (SID, OTHER):
            assert c.get(f"/api/state?sid={sid}").status_code == 200
        r = c.get("/api/state?sid=third-tab-3")
        assert r.status_code == 400 and "2 playground pages are open" in r.json()["error"]
    app.state.sessions.close()


# --- training ---------------------------------------------------------------------------------

def test_training_makes_the_loss_fall_and_the_boundary_change(client):
    first = client.get(f"/api/frame?sid={SID}").json()
    assert first["batches"] == 0 and not first["running"]
    last = train(client, 300)
    assert not last["running"] and last["batches"] >= 300
    assert last["train_loss"] < 0.6 * first["train_loss"], (first["train_loss"], last["train_loss"])
    assert last["test_loss"] < first["test_loss"] and last["train_accuracy"] > 0.85
    assert last["boundary"]["p"] != first["boundary"]["p"]
    curves = last["curves"]
    assert curves["epoch"] == sorted(curves["epoch"]) and curves["train"][0] == first["train_loss"]
    # paused: nothing moves; reset: new weights, the count starts again
    time.sleep(0.3)
    assert client.get(f"/api/frame?sid={SID}").json()["batches"] == last["batches"]
    post(client, "/api/control", {"action": "reset"})
    assert client.get(f"/api/frame?sid={SID}").json()["batches"] == 0


def test_step_trains_exactly_one_batch(client):
    client.get(f"/api/state?sid={SID}")
    session = client.app.state.sessions.get(SID)
    before = {k: np.array(v) for k, v in session.model.state_dict().items()}
    for n in (1, 2, 3):
        assert post(client, "/api/control", {"action": "step"}).status_code == 200
        assert session.wait_idle()
        assert client.get(f"/api/frame?sid={SID}").json()["batches"] == n
    after = session.model.state_dict()
    assert any(not np.array_equal(before[k], np.asarray(after[k])) for k in before)


def test_a_diverging_run_stops_with_its_message_and_the_server_goes_on(client):
    post(client, "/api/config", {"optimizer": "sgd", "lr": 10})
    session = client.app.state.sessions.get(SID)
    session.model.layers[0].weight.data[:] = np.nan  # what a blown-up step leaves
    post(client, "/api/control", {"action": "play"})
    end = time.monotonic() + 20
    while client.get(f"/api/frame?sid={SID}").json()["problem"] is None:
        assert time.monotonic() < end
        time.sleep(0.05)
    frame = client.get(f"/api/frame?sid={SID}").json()
    assert "nan" in frame["problem"] or "inf" in frame["problem"]
    assert not frame["running"]
    r = post(client, "/api/control", {"action": "play"})
    assert r.status_code == 400 and "training stopped" in r.json()["error"]
    assert post(client, "/api/control", {"action": "reset"}).status_code == 200
    assert client.get(f"/api/frame?sid={SID}").json()["problem"] is None


# --- uploads ----------------------------------------------------------------------------------

def test_an_uploaded_csv_is_trained_on(client):
    rng = np.random.default_rng(0)
    client.get(f"/api/state?sid={SID}")
    r = upload(client, csv_text(rng, n=80), "my points.csv")
    assert r.status_code == 200, r.json()
    state = r.json()
    pts = state["points"]
    assert state["config"]["dataset"] == "upload" and state["has_upload"]
    assert pts["name"] == "my_points.csv" and pts["features"] == ["f0", "f1"]
    assert pts["target"] == "kind" and pts["classes"] == ["c0", "c1"]
    assert pts["n_train"] + pts["n_test"] == 80
    frame = train(client, 100)
    assert frame["train_accuracy"] > 0.8
    # other settings keep the uploaded data
    assert post(client, "/api/config", {"hidden": [3]}).json()["points"]["name"] == "my_points.csv"


@pytest.mark.parametrize("text, message", [
    ("a,b,label\n1,2,x\n3,4,y,5,6\n1,2,x\n1,2,y\n", "fields"),
    ("a,b,label\n1,2,x\nfour,4,y\n5,6,x\n7,8,y\n", "hold text"),
    ("a,b,c,label\n" + "1,2,3,x\n" * 5, "got 3 feature column(s)"),
    ("a,label\n" + "1,x\n" * 5, "got 1 feature column(s)"),
    ("a,b,label\n" + "".join(f"{i},{i},{i}\n" for i in range(11)), "11 distinct value(s)"),
    ("a,b,label\n" + "1,2,x\n" * 5, "1 distinct value(s)"),
    ("a,b,label\n1,2,x\n", "1 labelled row(s)"),
    ("", "empty"),
    (b"\xff\xfe\x00\x01binary", "not a UTF-8 text file"),
])
def test_bad_uploads_get_a_clear_message_and_the_server_keeps_running(client, text, message):
    client.get(f"/api/state?sid={SID}")
    r = upload(client, text, "bad.csv")
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert message in error and "bad.csv" in error and "chainrule-playground-" not in error, error
    assert client.get(f"/api/state?sid={SID}").json()["config"]["dataset"] == "moons"
    assert client.get("/api/options").status_code == 200


def test_a_too_large_upload_is_refused_before_it_is_read(client):
    client.get(f"/api/state?sid={SID}")
    r = upload(client, b"a,b,label\n" + b"1,2,3\n" * (MAX_UPLOAD_BYTES // 6 + 10), "big.csv")
    assert r.status_code == 413 and "at most 1,024 KiB" in r.json()["error"]
    r = client.post(f"/api/upload?sid={SID}", content=b"a,b,c\n")
    assert r.status_code == 400 and "X-Filename" in r.json()["error"]


# --- formulas and exports -------------------------------------------------------------------------

def test_formulas_for_a_sigmoid_network_and_a_message_for_others(client):
    post(client, "/api/config", {"activation": "sigmoid", "hidden": [3]})
    f = client.get(f"/api/formulas?sid={SID}&index=2").json()
    assert f["message"] is None and f["label"] in ("0", "1")
    assert "network 2-3-1, sigmoid units" in f["text"] and "Backward pass" in f["text"]
    assert "δ_j = y_j(1 − y_j) Σ_k w_jk δ_k" in f["text"]
    post(client, "/api/config", {"activation": "tanh"})
    f = client.get(f"/api/formulas?sid={SID}&index=0").json()
    assert f["message"] is None and "tanh hidden units" in f["text"]
    post(client, "/api/config", {"dropout": 0.2})
    f = client.get(f"/api/formulas?sid={SID}&index=0").json()
    assert f["text"] is None and "No formulas for this network" in f["message"]
    r = client.get(f"/api/formulas?sid={SID}&index=100000")
    assert r.status_code == 400 and "Invalid training row" in r.json()["error"]


def test_the_exported_model_file_loads_and_predicts_as_the_session(client, tmp_path, capsys):
    post(client, "/api/config", {"dataset": "admissions", "hidden": [5]})
    train(client, 50)
    r = client.get(f"/api/export/model?sid={SID}")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    path = tmp_path / "model.safetensors"
    path.write_bytes(r.content)
    saved = load_model(path)
    session = client.app.state.sessions.get(SID)
    pts = session.points
    assert saved.task == "binary" and saved.features == ["test", "grades"]
    assert saved.model.sizes == [2, 5, 1]
    np.testing.assert_array_equal(saved.predict_indices(pts.X), session.model.predict(pts.inputs))
    # and the command line reads it as one of its own
    csv = tmp_path / "rows.csv"
    csv.write_text("test,grades\n9,8\n3,4\n")
    assert main(["predict", str(path), str(csv)]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("prediction")


def run_script(path, *args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(path), *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_exported_script_rebuilds_and_trains_the_same_network(client, tmp_path):
    post(client, "/api/config", {"dataset": "xor", "hidden": [6], "optimizer": "momentum",
                                 "lr": 0.05, "weight_decay": 0.001, "batch_size": 16})
    train(client, 30)
    r = client.get(f"/api/export/script?sid={SID}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/x-python")
    script = tmp_path / "train.py"
    script.write_text(r.text)
    assert "MLP([2, 6, 1], activation='tanh'" in r.text
    assert "optim.SGD(model.parameters(), lr=0.05, weight_decay=0.001, momentum=0.9)" in r.text
    proc = run_script(script, "xor", 20, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    first, last = map(float, proc.stdout.split("train loss ")[1].split(",")[0].split(" -> "))
    assert last < first
    saved = load_model(tmp_path / "model.safetensors")
    assert saved.model.sizes == [2, 6, 1] and saved.features == ["x1", "x2"]


def test_the_exported_script_of_an_upload_reads_the_csv(client, tmp_path):
    text = csv_text(np.random.default_rng(1), n=90, classes=3)
    client.get(f"/api/state?sid={SID}")
    assert upload(client, text, "three.csv").status_code == 200
    script = tmp_path / "train.py"
    script.write_text(client.get(f"/api/export/script?sid={SID}").text)
    (tmp_path / "three.csv").write_text(text)
    proc = run_script(script, "three.csv", 3, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "test accuracy" in proc.stdout
    assert load_model(tmp_path / "model.safetensors").classes == ["c0", "c1", "c2"]


# --- the event stream and the command, on a real server --------------------------------------------

def read_events(lines, wanted, timeout=15.0):
    """Events from an SSE response's lines until ``wanted`` frames arrived: [(kind, data)]."""
    events, kind, end = [], None, time.monotonic() + timeout
    for line in lines:
        assert time.monotonic() < end, "no events"
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            events.append((kind, json.loads(line[6:])))
            if sum(k == "frame" for k, _ in events) >= wanted:
                return events
    return events


def test_the_stream_sends_state_and_frames_and_a_closed_tab_stops_training():
    with running() as (url, app):
        with httpx.Client(base_url=url, timeout=20) as http:
            with http.stream("GET", f"/api/events?sid={SID}") as stream:
                lines = stream.iter_lines()
                events = read_events(lines, 1)
                assert [k for k, _ in events] == ["state", "frame"]
                assert events[0][1]["points"]["name"] == "moons"
                http.post(f"/api/control?sid={SID}", json={"action": "play"})
                frames = [d for k, d in read_events(lines, 5) if k == "frame"]
                assert frames[-1]["running"] and frames[-1]["batches"] > frames[0]["batches"]
                session = app.state.sessions.get(SID)
                assert session.running
            end = time.monotonic() + 10  # the tab is gone: its training pauses
            while session.running:
                assert time.monotonic() < end, "training went on after the page left"
                time.sleep(0.05)
            assert session.wait_idle()  # (the batch in flight ends)
            batches = session.batches
            time.sleep(0.3)
            assert session.batches == batches


def test_a_session_left_longer_than_the_grace_time_is_closed():
    sessions = Sessions(grace=0.0)
    session = sessions.get(SID)
    sessions.attach(SID)
    session.play()
    sessions.detach(SID)
    assert not session.running
    time.sleep(0.01)
    sessions.get(OTHER)   # any request sweeps
    assert SID not in sessions and OTHER in sessions
    sessions.close()


def test_the_command_serves_until_interrupted(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "chainrule", "playground", "--no-browser"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("chainrule playground: http://127.0.0.1:"), line
        url = line.split()[2]
        for _ in range(100):
            try:
                r = httpx.get(url + "api/options", timeout=5)
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert r.status_code == 200 and r.json()["datasets"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()


def test_the_command_checks_its_port(capsys):
    assert main(["playground", "--port", "70000"]) == 2
    assert "in [0, 65535]" in capsys.readouterr().err


def test_session_without_a_server():
    session = Session("plain-session", Config(dataset="circles", hidden=[]))
    assert session.model.sizes == [2, 1] and session.frame["hidden"] == []
    session.step()
    assert session.wait_idle() and session.batches == 1
    session.close()
