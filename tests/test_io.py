"""Model files and checkpoints: safe (no pickle), atomic, verified, resumable."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import io, nn
from chainrule.models import MLP
from chainrule.optim import Adam
from chainrule.train import fit


def test_save_and_load_rebuild_the_model(tmp_path):
    net = MLP([4, 8, 3], activation="tanh", task="multiclass", dropout=0.1, rng=0)
    io.save(net, tmp_path / "m.safetensors")
    back = io.load(tmp_path / "m.safetensors")
    assert type(back) is MLP and back.sizes == [4, 8, 3] and back.activation == "tanh"
    x = cr.Tensor(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32))
    net.eval(), back.eval()
    np.testing.assert_array_equal(net(x).data, back(x).data)


def test_sequential_that_grew_after_construction(tmp_path):
    seq = nn.Sequential(nn.Linear(2, 3))
    seq.append(nn.ReLU())
    seq.append(nn.Linear(3, 1))
    io.save(seq, tmp_path / "s.safetensors")
    assert len(io.load(tmp_path / "s.safetensors")) == 3


def test_the_file_holds_no_pickle(tmp_path):
    io.save(MLP([2, 2, 1], task="binary"), tmp_path / "m.safetensors")
    blob = (tmp_path / "m.safetensors").read_bytes()
    assert b"\x80\x04" not in blob[:16] and blob[8:9] == b"{"


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "other-format", "header-size"])
def test_damaged_files_raise_clear_errors(tmp_path, damage):
    path = tmp_path / "m.safetensors"
    io.save(MLP([3, 4, 2], task="multiclass", rng=0), path)
    blob = bytearray(path.read_bytes())
    if damage == "truncate":
        blob = blob[: len(blob) - 7]
    elif damage == "flip":
        blob[-5] ^= 0xFF
    elif damage == "empty":
        blob = bytearray()
    elif damage == "other-format":
        blob = bytearray(b"PK\x03\x04 this is a zip file, not a model")
    else:
        blob[:8] = (10**9).to_bytes(8, "little")
    path.write_bytes(bytes(blob))
    with pytest.raises(cr.FileFormatError):
        io.load(path)


def test_wrong_shapes_are_a_state_error(tmp_path):
    io.save(MLP([3, 4, 2], task="multiclass"), tmp_path / "m.safetensors")
    with pytest.raises(cr.StateError, match="expected shape"):
        io.load(tmp_path / "m.safetensors", model=MLP([3, 5, 2], task="multiclass"))


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "m.safetensors"
    io.save(MLP([2, 2, 1], task="binary", rng=0), path)
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with io.atomic_write(path, "wb") as f:
            f.write(b"partial")
            raise RuntimeError("crash during save")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_resumed_training_is_bit_identical(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((96, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)

    def start():
        cr.manual_seed(11)
        net = MLP([5, 8, 2], task="multiclass", dropout=0.2, rng=1)
        return net, Adam(net.parameters(), lr=0.01)

    net, opt = start()
    fit(net, net.loss_fn, opt, (X, y), epochs=4, batch_size=16, progress=False)
    straight = net.state_dict()

    net, opt = start()
    fit(net, net.loss_fn, opt, (X, y), epochs=2, batch_size=16, progress=False)
    io.save_checkpoint(tmp_path / "ck.safetensors", net, opt, epoch=2)
    cr.manual_seed(999)  # a different process state before resuming
    net2 = MLP([5, 8, 2], task="multiclass", dropout=0.2, rng=7)
    opt2 = Adam(net2.parameters(), lr=0.01)
    extra = io.load_checkpoint(tmp_path / "ck.safetensors", net2, opt2)
    assert extra["epoch"] == 2
    fit(net2, net2.loss_fn, opt2, (X, y), epochs=2, batch_size=16, progress=False)
    resumed = net2.state_dict()
    assert all(np.array_equal(straight[k], resumed[k]) for k in straight)


def test_files_get_the_usual_permissions(tmp_path):
    import os
    path = tmp_path / "m.safetensors"
    io.save(MLP([2, 2, 1], task="binary"), path)
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
    path.chmod(0o640)
    io.save(MLP([2, 2, 1], task="binary"), path)  # overwriting keeps the file's mode
    assert path.stat().st_mode & 0o777 == 0o640


def test_checkpoint_callback_saves_every_few_epochs(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((32, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    net = MLP([3, 4, 2], task="multiclass", rng=0)
    opt = Adam(net.parameters(), lr=0.01)
    path = tmp_path / "ck.safetensors"
    fit(net, net.loss_fn, opt, (X, y), epochs=5, batch_size=8, rng=0, progress=False,
        callbacks=[io.Checkpoint(path, every=2)])
    back = MLP([3, 4, 2], task="multiclass", rng=9)
    extra = io.load_checkpoint(path, back, Adam(back.parameters(), lr=0.01))
    assert extra["epoch"] == 4 and len(extra["history"]) == 4  # epochs 2 and 4 saved, not 5
    with pytest.raises(cr.ConfigError, match="Invalid every"):
        io.Checkpoint(path, every=0)


def test_model_files_need_only_numpy(monkeypatch, tmp_path):
    import sys
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    io.save(MLP([2, 2, 1], task="binary", rng=0), tmp_path / "m.safetensors")
    assert io.load(tmp_path / "m.safetensors").sizes == [2, 2, 1]
