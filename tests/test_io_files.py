"""Model files nothing can corrupt silently (issue 13): integrity over the whole file, strict
parsing, checks before allocating, loads that fail change nothing, atomic writes that leave no
temporary files, OS errors naming the user's path, versions, dtypes, deterministic bytes and
plain safetensors state dicts."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import atomic, io, nn
from chainrule.errors import FileAccessError
from chainrule.models import MLP
from chainrule.optim import SGD, Adam

from .file_edit import edit_header, edit_meta, join, resign, split

ROOT = Path(__file__).resolve().parents[1]


def saved(path, net=None, **metadata):
    io.save(net or MLP([4, 8, 3], task="multiclass", rng=0), path, metadata=metadata or None)
    return path.read_bytes()


# --- integrity --------------------------------------------------------------------------------

def test_every_header_byte_is_covered_by_the_checksum(tmp_path):
    p = tmp_path / "m.safetensors"
    blob = saved(p)
    header, _ = split(blob)
    for i in range(8, 8 + len(header)):  # every byte of the header, the digest's own included
        damaged = bytearray(blob)
        damaged[i] ^= 0x01
        p.write_bytes(bytes(damaged))
        with pytest.raises(cr.FileFormatError, match=str(p)):
            io.load(p)


def test_kwargs_renamed_no_longer_falls_back_to_defaults(tmp_path):
    p = tmp_path / "m.safetensors"
    blob = saved(p, MLP([4, 8, 3], activation="tanh", task="multiclass", rng=0))
    p.write_bytes(blob.replace(b'\\"kwargs\\"', b'\\"iwargs\\"'))
    with pytest.raises(cr.FileFormatError, match="do not match its checksum"):
        io.load(p)
    p.write_bytes(resign(blob.replace(b'\\"kwargs\\"', b'\\"iwargs\\"')))  # a forged digest
    with pytest.raises(cr.FileFormatError, match=r"\{class, args, kwargs\}"):
        io.load(p)


@pytest.mark.parametrize("where", ["header", "metadata", "nested"])
def test_a_duplicated_key_anywhere_is_rejected(tmp_path, where):
    p = tmp_path / "m.safetensors"
    blob = saved(p, features=["a", "b"])
    if where == "header":
        text, data = split(blob)
        damaged = resign(join(text.replace(b'{"__metadata__":{', b'{"__metadata__":{"format":"x",'),
                              data))
    else:
        old = '"kind":"model"' if where == "metadata" else '"features":["a","b"]'
        damaged = edit_meta(blob, lambda m: json.dumps(m, separators=(",", ":"), sort_keys=True)
                            .replace(old, old + "," + old))
    p.write_bytes(damaged)
    with pytest.raises(cr.FileFormatError, match="appears twice"):
        io.load(p)


def test_deep_nesting_is_refused_before_parsing(tmp_path):
    p = tmp_path / "m.safetensors"
    p.write_bytes(edit_meta(saved(p), lambda m: '{"kind":"model","x":' + "[" * 100_000
                            + "]" * 100_000 + "}"))
    with pytest.raises(cr.FileFormatError, match="nests 100001 levels deep"):
        io.load(p)


def edit_tensor(name, **changes):
    def change(header):
        header[name].update(changes)
    return change


MALFORMED = {
    "metadata a list": lambda b: edit_meta(b, lambda m: [1, 2]),
    "kind unknown": lambda b: edit_meta(b, lambda m: m.update(kind="pickle")),
    "no architecture key": lambda b: edit_meta(b, lambda m: m.pop("architecture") and None),
    "architecture a string": lambda b: edit_meta(b, lambda m: m.update(architecture="MLP")),
    "class unknown": lambda b: edit_meta(b, lambda m: m["architecture"].update({"class": "os"})),
    "class private": lambda b: edit_meta(b, lambda m: m["architecture"].update({"class": "_ConvNd"})),
    "class a list": lambda b: edit_meta(b, lambda m: m["architecture"].update({"class": ["MLP"]})),
    "args a string": lambda b: edit_meta(b, lambda m: m["architecture"].update(args="abc")),
    "kwargs a list": lambda b: edit_meta(b, lambda m: m["architecture"].update(kwargs=[1])),
    "unknown kwarg": lambda b: edit_meta(b, lambda m: m["architecture"]["kwargs"].update(bogus=1)),
    "sizes of strings": lambda b: edit_meta(b, lambda m: m["architecture"].update(args=[["a", "b"]])),
    "sizes huge": lambda b: edit_meta(b, lambda m: m["architecture"].update(args=[[4, 10**40, 3]])),
    "sizes negative": lambda b: edit_meta(b, lambda m: m["architecture"].update(args=[[4, -8, 3]])),
    "activation unknown": lambda b: edit_meta(b, lambda m: m["architecture"]["kwargs"].update(
        activation="nope")),
    "task a dict": lambda b: edit_meta(b, lambda m: m["architecture"]["kwargs"].update(task={})),
    "metadata a string": lambda b: edit_meta(b, lambda m: m.update(metadata="x")),
    "a 4300-digit number": lambda b: edit_meta(b, lambda m: '{"kind":"model","n":' + "9" * 5000 + "}"),
    "json not JSON": lambda b: edit_meta(b, lambda m: "{not json"),
    "json not UTF-8": lambda b: resign(b.replace(b'"format"', b'"\xff\xfeformat"')),
    "no json key": lambda b: edit_header(b, lambda h: h["__metadata__"].pop("json") and None),
    "metadata values not strings": lambda b: edit_header(b, lambda h: h["__metadata__"].update(
        version=2)),
    "header a list": lambda b: edit_header(b, lambda h: [h]),
    "tensor not an object": lambda b: edit_header(b, lambda h: h.update({"model/layers.0.bias": 3})),
    "dtype BF16": lambda b: edit_header(b, edit_tensor("model/layers.0.bias", dtype="BF16")),
    "dtype I32 for float": lambda b: edit_header(b, edit_tensor("model/layers.0.bias", dtype="I32")),
    "shape huge": lambda b: edit_header(b, edit_tensor("model/layers.0.bias", shape=[2**70])),
    "shape zero-size huge": lambda b: edit_header(b, edit_tensor("model/layers.0.bias",
                                                                shape=[0, 2**62])),
    "shape empty but vast": lambda b: edit_header(b, edit_tensor("model/layers.0.bias",
                                                                shape=[0, 2**40, 2**40])),
    "shape negative": lambda b: edit_header(b, edit_tensor("model/layers.0.bias", shape=[-8])),
    "shape floats": lambda b: edit_header(b, edit_tensor("model/layers.0.bias", shape=[8.0])),
    "offsets overlap": lambda b: edit_header(b, edit_tensor("model/layers.0.bias",
                                                           data_offsets=[4, 36])),
    "offsets beyond": lambda b: edit_header(b, edit_tensor("model/layers.0.bias",
                                                          data_offsets=[0, 10**30])),
    "tensor renamed": lambda b: resign(b.replace(b"model/layers.0.bias", b"model/layers.0.bies")),
    "model prefix dropped": lambda b: resign(b.replace(b'"model/', b'"modex/')),
    "bytes appended": lambda b: resign(b + b"\0" * 16),
    "header length 0": lambda b: b"\0" * 8 + b[8:],
    "header length huge": lambda b: (2**63).to_bytes(8, "little") + b[8:],
    "rng a string": lambda b: edit_meta(b, lambda m: m["architecture"]["kwargs"].update(rng="x")),
}


@pytest.mark.parametrize("damage", sorted(MALFORMED))
def test_malformed_files_raise_file_format_errors_naming_the_path(tmp_path, damage):
    p = tmp_path / "m.safetensors"
    p.write_bytes(MALFORMED[damage](saved(p)))
    for load in (io.load, io.load_model):
        with pytest.raises(cr.FileFormatError) as info:
            load(p)
        assert str(p) in str(info.value)
        assert "checksum" not in str(info.value) and "sha256 field" not in str(info.value)


def test_metadata_that_a_saved_model_cannot_read_names_the_file(tmp_path):
    p = tmp_path / "m.safetensors"
    p.write_bytes(edit_meta(saved(p), lambda m: m.update(
        metadata={"standardizer": {"mean": "x", "scale": [[1]]}})))
    io.load(p)  # the metadata is the caller's: load returns it as it is
    with pytest.raises(cr.FileFormatError, match=f"{p}: .*damaged"):
        io.load_model(p)


def test_a_900_byte_file_declaring_a_huge_mlp_fails_before_allocating(tmp_path):
    p = tmp_path / "m.safetensors"
    blob = edit_meta(saved(p), lambda m: m["architecture"].update(args=[[4, 20000, 20000, 3]]))
    p.write_bytes(blob)
    assert len(blob) < 1000
    tracemalloc.start()
    try:
        with pytest.raises(cr.FileFormatError, match="holds 400180003 values but the file stores 67"):
            io.load(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000  # MLP([4, 20000, 20000, 3]) would take 4.7 GB


#: constructions of every public module class, to check io.SIZE_RULES against what they hold
SAMPLES = {
    "Linear": [((3, 4), {}), ((3, 4), {"bias": False})],
    "Conv1d": [((2, 6, 3), {"groups": 2}), ((2, 4, 5), {"bias": False})],
    "Conv2d": [((2, 4, (3, 2)), {"bias": False}), ((3, 6, 3), {"groups": 3})],
    "Embedding": [((10, 3), {"padding_idx": 0})],
    "BatchNorm1d": [((5,), {}), ((5,), {"affine": False}), ((5,), {"track_running_stats": False})],
    "BatchNorm2d": [((3,), {})], "SyncBatchNorm": [((4,), {}), ((4,), {"affine": False})],
    "LayerNorm": [(([3, 4],), {}), ((3,), {"bias": False}), ((3,), {"elementwise_affine": False})],
    "RNN": [((3, 5), {"num_layers": 2})], "RNNBase": [((3, 5), {})],
    "GRU": [((3, 5), {"bias": False})], "LSTM": [((3, 5), {"num_layers": 3})],
    "MLP": [(([4, 8, 3],), {}), (([4, 8, 6, 1],), {"task": "binary", "dropout": 0.1})],
    "LogisticRegression": [((3,), {})], "Perceptron": [((3,), {})],
    "Sequential": [((nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)), {})],
    "ModuleList": [(([nn.Linear(2, 3), nn.Conv1d(1, 2, 3)],), {})],
    "AdaptiveAvgPool1d": [((2,), {})], "AdaptiveAvgPool2d": [((2,), {})],
    "AvgPool1d": [((2,), {})], "AvgPool2d": [((2,), {})],
    "MaxPool1d": [((2,), {})], "MaxPool2d": [((2,), {})],
    "Flatten": [((), {})], "Dropout": [((0.2,), {})], "LeakyReLU": [((0.1,), {})],
    "ELU": [((), {})], "LogSoftmax": [((), {})], "Softmax": [((), {})],
    "Conv3d": [((2, 4, 3), {}), ((2, 4, (1, 2, 3)), {"bias": False, "groups": 2})],
    "ConvTranspose1d": [((4, 6, 3), {"groups": 2})], "ConvTranspose2d": [((3, 2, (2, 3)), {})],
    "ConvTranspose3d": [((2, 3, 2), {"bias": False})],
    "MultiheadAttention": [((8, 2), {}), ((8, 4), {"bias": False, "kdim": 5, "vdim": 3})],
    "TransformerEncoderLayer": [((8, 2), {"dim_feedforward": 16}),
                                ((8, 2), {"dim_feedforward": 12, "bias": False})],
    "AvgPool3d": [((2,), {})], "MaxPool3d": [((2,), {})], "MaxUnpool1d": [((2,), {})],
    "MaxUnpool2d": [((2,), {})], "MaxUnpool3d": [((2,), {})], "Upsample": [((), {"scale_factor": 2})],
    "UpsamplingBilinear2d": [((), {"scale_factor": 2})],
    "UpsamplingNearest2d": [((), {"scale_factor": 2})],
    "GroupNorm": [((2, 6), {}), ((3, 6), {"affine": False})],
    "InstanceNorm1d": [((4,), {}), ((4,), {"affine": True, "track_running_stats": True})],
    "InstanceNorm2d": [((3,), {"affine": True})], "PReLU": [((), {}), ((5,), {})],
    "BCELoss": [((), {}), (([1.0, 2.0],), {})],
    "BCEWithLogitsLoss": [((), {"pos_weight": [2.0, 1.0, 3.0]}), (([1.0],), {})],
    "CrossEntropyLoss": [((), {}), (([1.0, 2.0, 0.5],), {})], "NLLLoss": [(([1.0, 2.0],), {})],
    "Dropout1d": [((0.2,), {})], "Dropout2d": [((0.2,), {})], "Softmin": [((1,), {})],
    "Unflatten": [((1, (2, 3)), {})], "ModuleDict": [(({"a": nn.Linear(2, 3)},), {})],
}


def test_size_rules_match_what_every_class_holds():
    registry = io._registry()
    missing = sorted(set(registry) - set(SAMPLES) - io.PARAMETER_FREE)
    assert not missing, f"add samples (and a rule in io.SIZE_RULES if they hold values): {missing}"
    for name, cls in sorted(registry.items()):
        for args, kwargs in SAMPLES.get(name, [((), {})]):
            module = cls(*args, **kwargs)
            held = sum(a.size for a in module.state_dict().values())
            assert io.state_size(io.architecture(module), 10**6) == held, name
            own = held - sum(a.size for c in module.children() for a in c.state_dict().values())
            assert name in io.SIZE_RULES or own == 0, f"{name} holds values but has no size rule"


# --- file types and sizes ---------------------------------------------------------------------

@pytest.fixture
def deadline():
    """Fail instead of hanging forever."""
    def ring(*_):
        raise TimeoutError("the load hung")
    old = signal.signal(signal.SIGALRM, ring)
    signal.alarm(5)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_or_a_device_fails_at_once(tmp_path, deadline):
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(cr.FileFormatError, match=r"pipe\.safetensors is a named pipe \(FIFO\)"):
        io.load(fifo)
    link = tmp_path / "random.safetensors"
    link.symlink_to("/dev/urandom")
    with pytest.raises(cr.FileFormatError, match="random.safetensors is a character device"):
        io.load(link)
    with pytest.raises(cr.FileFormatError, match="is a folder"):
        io.load(tmp_path)


def test_header_and_total_sizes_are_checked_before_reading(tmp_path):
    p = tmp_path / "big.safetensors"
    with open(p, "wb") as f:  # a sparse 200 MB file claiming a 150 MB header
        f.write((150_000_000).to_bytes(8, "little") + b"{")
        f.truncate(200_000_000)
    tracemalloc.start()
    try:
        with pytest.raises(cr.FileFormatError, match="headers hold at most 100000000"):
            io.load(p)
        assert tracemalloc.get_traced_memory()[1] < 1_000_000
    finally:
        tracemalloc.stop()
    blob = saved(p)
    p.write_bytes(blob[:-1])
    with pytest.raises(cr.FileFormatError, match=r"offsets \[172, 268\] outside the 267 data bytes"):
        io.load(p)
    p.write_bytes(blob + b"\0")
    with pytest.raises(cr.FileFormatError, match="cover 268 bytes but 269 follow"):
        io.load(p)


def test_a_missing_file_is_a_file_access_error(tmp_path):
    with pytest.raises(FileAccessError, match="no such file") as info:
        io.load(tmp_path / "nope.safetensors")
    assert isinstance(info.value, OSError) and info.value.errno == errno.ENOENT
    assert info.value.filename == str(tmp_path / "nope.safetensors")


# --- loads that fail change nothing -----------------------------------------------------------

def trained(seed):
    rng = np.random.default_rng(seed)
    net = MLP([3, 5, 2], task="multiclass", dropout=0.2, rng=seed)
    opt = Adam(net.parameters(), lr=0.01)
    x = cr.Tensor(rng.standard_normal((8, 3)).astype(np.float32))
    y = rng.integers(0, 2, 8)
    net.loss_fn(net(x), y).backward()
    opt.step()
    return net, opt


@pytest.mark.parametrize("damage", ["optimizer", "rng", "module_rngs", "dtype"])
def test_a_failed_checkpoint_load_changes_nothing(tmp_path, damage):
    p = tmp_path / "ck.safetensors"
    net, opt = trained(0)
    if damage == "optimizer":  # SGD's momentum state into an Adam: fails after the weights
        sgd = SGD(net.parameters(), lr=0.1, momentum=0.9)
        net.loss_fn(net(cr.Tensor(np.ones((2, 3), np.float32))), np.array([0, 1])).backward()
        sgd.step()
        io.save_checkpoint(p, net, sgd, epoch=1)
    else:
        io.save_checkpoint(p, net, opt, epoch=1)
        blob = p.read_bytes()
        if damage == "rng":
            blob = edit_meta(blob, lambda m: m.update(rng={"bit_generator": "PCG64", "state": 7}))
        elif damage == "module_rngs":
            blob = edit_meta(blob, lambda m: m["module_rngs"].update(
                {k: {"bit_generator": "MT19937"} for k in m["module_rngs"]}))
        else:
            blob = edit_header(blob, edit_tensor("model/layers.0.bias", dtype="I32"))
        p.write_bytes(blob)
    net2, opt2 = trained(1)
    before = net2.state_dict(), opt2.state_dict(), cr.random.get_state()
    with pytest.raises(cr.ChainruleError, match=str(p)):
        io.load_checkpoint(p, net2, opt2)
    after = net2.state_dict(), opt2.state_dict(), cr.random.get_state()
    assert all(np.array_equal(before[0][k], after[0][k]) for k in before[0])
    s0, s1 = before[1]["state"], after[1]["state"]
    assert s0.keys() == s1.keys() and all(np.array_equal(s0[i][n], s1[i][n]) for i in s0 for n in s0[i])
    assert before[1]["param_groups"] == after[1]["param_groups"] and before[2] == after[2]


def test_wrong_weights_leave_a_given_model_untouched(tmp_path):
    p = tmp_path / "m.safetensors"
    io.save({"weight": np.ones((4, 3), np.float32), "bias": np.ones(5, np.float32)}, p)
    lin = nn.Linear(3, 4, rng=0)
    before = lin.state_dict()
    with pytest.raises(cr.StateError, match=r"bias \(expected shape \(4,\), got \(5,\)\)"):
        io.load(p, lin)
    assert all(np.array_equal(v, lin.state_dict()[k]) for k, v in before.items())


# --- dtypes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_, np.complex64])
def test_int_bool_and_complex_arrays_never_become_float_weights(tmp_path, dtype):
    p = tmp_path / "w.safetensors"
    io.save({"weight": np.ones((4, 3), dtype), "bias": np.zeros(4, np.float32)}, p)
    with pytest.raises(cr.StateError, match=rf"weight \(expected float32, got {np.dtype(dtype)}\)"):
        io.load(p, nn.Linear(3, 4))


def test_float_widths_convert_as_in_pytorch(tmp_path):
    p = tmp_path / "w.safetensors"
    w = np.arange(12, dtype=np.float64).reshape(4, 3) / 7
    io.save({"weight": w, "bias": np.zeros(4, np.float16)}, p)
    lin = io.load(p, nn.Linear(3, 4))
    np.testing.assert_array_equal(lin.weight.data, w.astype(np.float32))


# --- versions and determinism -----------------------------------------------------------------

def test_a_newer_format_version_says_so(tmp_path):
    p = tmp_path / "m.safetensors"
    p.write_bytes(edit_header(saved(p), lambda h: h["__metadata__"].update(version="3")))
    with pytest.raises(cr.FileFormatError, match="written by a newer chainrule .file format version 3; "
                       r"chainrule .* reads versions up to 2.: upgrade chainrule"):
        io.load(p)


def test_files_of_format_1_still_load(tmp_path):
    stn = pytest.importorskip("safetensors.numpy")
    net = MLP([3, 4, 2], task="multiclass", rng=0)
    arrays = {f"model/{k}": v for k, v in net.state_dict().items()}
    h = hashlib.sha256()
    for key in sorted(arrays):  # chainrule 0.1's checksum: the tensors only
        h.update(f"{key}|{arrays[key].dtype.str}|{arrays[key].shape}|".encode() + arrays[key].tobytes())
    meta = {"kind": "model", "version": 1, "architecture": io.architecture(net), "metadata": {}}
    p = tmp_path / "old.safetensors"
    p.write_bytes(stn.save(arrays, metadata={"format": "chainrule", "json": json.dumps(meta),
                                             "sha256": h.hexdigest()}))
    back = io.load(p)
    assert all(np.array_equal(v, back.state_dict()[k]) for k, v in net.state_dict().items())
    blob = bytearray(p.read_bytes())
    blob[-3] ^= 1
    p.write_bytes(bytes(blob))
    with pytest.raises(cr.FileFormatError, match="do not match its checksum"):
        io.load(p)


def test_identical_saves_write_identical_bytes(tmp_path):
    net, opt = trained(0)
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    io.save(net, a, metadata={"classes": [0, 1], "features": ["x", "y", "z"]})
    io.save(net, b, metadata={"features": ["x", "y", "z"], "classes": [0, 1]})
    assert a.read_bytes() == b.read_bytes()
    io.save_checkpoint(a, net, opt, epoch=3, history=[{"loss": 0.5}])
    io.save_checkpoint(b, net, opt, history=[{"loss": 0.5}], epoch=3)
    assert a.read_bytes() == b.read_bytes()


def test_two_processes_write_the_same_bytes(tmp_path):
    script = textwrap.dedent("""
        import sys
        from chainrule import io
        from chainrule.models import MLP
        io.save(MLP([3, 4, 2], rng=5), sys.argv[1], metadata={"b": {"y": 1, "x": 2}, "a": [1.5]})
    """)
    for seed in ("1", "2"):
        subprocess.run([sys.executable, "-c", script, str(tmp_path / f"{seed}.safetensors")],
                       check=True, cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed})
    assert (tmp_path / "1.safetensors").read_bytes() == (tmp_path / "2.safetensors").read_bytes()


# --- state dicts and plain safetensors --------------------------------------------------------

def test_save_a_state_dict_and_load_it_back(tmp_path):
    net = nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4), nn.Linear(4, 2, rng=1))
    p = io.save(net.state_dict(), tmp_path / "sd.safetensors", metadata={"note": "x"})
    arrays, meta = io.load(p, with_metadata=True)
    assert meta == {"note": "x"} and arrays.keys() == net.state_dict().keys()
    assert arrays["1.num_batches_tracked"].shape == () and arrays["1.num_batches_tracked"].dtype == np.int64
    other = nn.Sequential(nn.Linear(3, 4, rng=5), nn.BatchNorm1d(4), nn.Linear(4, 2, rng=6))
    io.load(p, other)
    assert all(np.array_equal(v, other.state_dict()[k]) for k, v in net.state_dict().items())
    with pytest.raises(cr.FileFormatError, match="holds a state dict, not a model"):
        io.load_model(p)
    with pytest.raises(cr.ConfigError, match="a Module or a state dict"):
        io.save([1, 2], tmp_path / "x.safetensors")
    with pytest.raises(cr.ConfigError, match="'w' has dtype object"):
        io.save({"w": np.array([None])}, tmp_path / "x.safetensors")


def test_the_safetensors_library_reads_our_files_and_we_read_its(tmp_path):
    stn = pytest.importorskip("safetensors.numpy")
    net = nn.Sequential(nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1))
    ours = io.save(net, tmp_path / "ours.safetensors")
    assert {k: v.tolist() for k, v in stn.load_file(ours).items()} == \
        {f"model/{k}": v.tolist() for k, v in net.state_dict().items()}
    theirs = tmp_path / "theirs.safetensors"
    stn.save_file(net.state_dict(), theirs, metadata={"format": "pt"})
    arrays, meta = io.load(theirs, with_metadata=True)
    assert meta == {"format": "pt"} and sorted(arrays) == sorted(net.state_dict())
    filled = io.load(theirs, nn.Sequential(nn.Linear(3, 4, rng=8), nn.ReLU(), nn.Linear(4, 2, rng=9)))
    x = cr.Tensor(np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(filled(x).data, net(x).data)


def test_a_state_dict_that_pytorch_wrote_fills_a_model(tmp_path):
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    tnet = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Tanh(),
                               torch.nn.Linear(4, 2))
    tnet.train()
    tnet(torch.randn(16, 3))  # running statistics and num_batches_tracked move
    tnet.eval()
    p = tmp_path / "torch.safetensors"
    st.save_file(tnet.state_dict(), str(p))
    net = io.load(p, nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2)))
    net.eval()
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    with torch.no_grad():
        expected = tnet(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net(cr.Tensor(x)).data, expected, rtol=1e-5, atol=1e-6)
    assert int(net[1].num_batches_tracked.data) == 1


# --- atomic writes ----------------------------------------------------------------------------

def test_a_killed_save_leaves_a_temp_file_that_the_next_save_removes(tmp_path):
    p = tmp_path / "m.safetensors"
    script = textwrap.dedent("""
        import sys, time
        from chainrule.atomic import atomic_write
        with atomic_write(sys.argv[1], "wb") as f:
            f.write(b"x" * 100000)
            f.flush()
            print("writing", flush=True)
            time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script, str(p)], cwd=ROOT, stdout=subprocess.PIPE)
    try:
        assert child.stdout.readline() == b"writing\n"
        assert len(atomic.temp_files(p)) == 1
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    (stale,) = atomic.temp_files(p)
    old = tmp_path / ".m.safetensors.abc_1234.tmp"  # chainrule 0.1's name, two days old
    old.write_bytes(b"x")
    os.utime(old, (0, os.path.getmtime(old) - 2 * 86400))
    fresh = tmp_path / ".m.safetensors.zz_99999.tmp"  # too young to tell: kept
    fresh.write_bytes(b"x")
    other = tmp_path / ".other.safetensors.abc_1234.tmp"  # another file's: kept
    other.write_bytes(b"x")
    saved(p)
    assert atomic.temp_files(p) == [fresh] and other.exists() and not stale.exists()


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    p = tmp_path / "m.safetensors"
    before = saved(p)

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(FileAccessError) as info:
        io.save(MLP([4, 8, 3], rng=1), p)
    monkeypatch.undo()
    assert str(info.value) == f"{p}: cannot write it (no space left on the device (the disk is full))"
    assert info.value.errno == errno.ENOSPC and isinstance(info.value, OSError)
    assert p.read_bytes() == before and os.listdir(tmp_path) == ["m.safetensors"]


@pytest.mark.parametrize("case", ["not a folder", "name too long", "a folder", "permission"])
def test_os_errors_name_the_users_path(tmp_path, monkeypatch, case):
    (tmp_path / "file").write_text("")
    target = {"not a folder": tmp_path / "file" / "m.safetensors",
              "name too long": tmp_path / ("m" * 300 + ".safetensors"),
              "a folder": tmp_path / "dir",
              "permission": tmp_path / "ro" / "m.safetensors"}[case]
    if case == "a folder":
        target.mkdir()
    if case == "permission":
        target.parent.mkdir()
        target.parent.chmod(0o500)
        if os.geteuid() == 0:  # root writes anyway: have the OS refuse as it would anyone else
            def refuse(*a, **k):
                raise PermissionError(errno.EACCES, "Permission denied", str(target.parent / ".x.tmp"))
            monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    reason = {"not a folder": "a part of the path is a file, not a folder",
              "name too long": "the file name is too long", "a folder": "it is a folder",
              "permission": "permission denied"}[case]
    with pytest.raises(OSError) as info:
        io.save(MLP([2, 2, 1], task="binary"), target)
    err = info.value
    assert isinstance(err, FileAccessError) and isinstance(err, cr.ChainruleError)
    assert str(err) == f"{target}: cannot write it ({reason})" and ".tmp" not in str(err)
    assert err.filename == str(target)
    leftovers = [q for q in tmp_path.rglob("*") if q.name.endswith(".tmp")]
    target.parent.chmod(0o700)
    assert not leftovers
