"""The package as a user gets it: the wheel and sdist that ``python -m build`` makes, installed in
a fresh virtual environment, first with no extras (NumPy only, from the package index: it imports
and trains, and each missing extra is named by its error), then with every extra (each enables
what it promises).

It needs the package index and skips, saying so, where the index cannot be reached. For speed,
the extras resolve against the packages that the dev install (``make test`` installs ``.[dev]``,
which holds ``all``) already put in the running environment, which the fresh venv sees through
a ``.pth`` file: the index here sends no cache headers, so pip's cache stays empty, and
downloading every extra again took 100 s. A requirement missing there is still downloaded, and
chainrule itself is always the wheel's copy.
"""

from __future__ import annotations

import email
import importlib.metadata
import os
import re
import subprocess
import sys
import sysconfig
import tarfile
import urllib.error
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

from chainrule.optional import EXTRAS

pytest.importorskip("build", reason="the 'build' package (in the dev extra) makes the wheel")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
URL = "https://github.com/chainrule/chainrule"
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
DEV_EXTRAS = {"bench", "test", "dev"}  # for working on chainrule, not for its users
HAS_MNIST = sys.version_info >= (3, 11)  # zarr 3 needs Python >= 3.11

# In a venv with no extras: a tiny training step, then each extra's error names the extra.
BARE = """
import numpy as np
import chainrule as cr
import chainrule.data, chainrule.io, chainrule.models, chainrule.onnx, chainrule.train, chainrule.viz
from chainrule import nn, optim
from chainrule.nn import functional as F

X, y = chainrule.data.xor(64, noise=0.1, rng=0)
net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
opt = optim.Adam(net.parameters(), lr=0.05)
losses = []
for _ in range(20):
    loss = F.cross_entropy(net(cr.Tensor(X)), y)
    opt.zero_grad(); loss.backward(); opt.step()
    losses.append(float(loss.item()))
assert losses[-1] < losses[0], losses

def names(extra, call):
    try:
        call()
    except ImportError as exc:
        assert f"chainrule[{extra}]" in str(exc), (extra, str(exc))
    else:
        raise AssertionError(f"{extra}: ran without its packages")

names("sklearn", chainrule.data.load_digits)
names("plot", lambda: chainrule.viz.plot_history({"run": {"epoch": [1, 2], "loss": [1.0, 0.5]}}, "loss.png"))
names("onnx", lambda: cr.onnx.export(net, X[:1], "model.onnx"))
print("bare ok", cr.__file__)
"""

# With the extras: what each one enables (the keys are chainrule.optional.EXTRAS).
ENABLES = {
    "sklearn": "import chainrule.sklearn, chainrule.data as d; assert d.load_digits()[0].shape[1] == 64",
    "tables": "import pandas; from chainrule.data import Features, read_csv",
    "symbolic": "import sympy; from chainrule.explain import differentiate",
    "docs": "import mkdocs, material, mkdocstrings, mkdocstrings_handlers.python",
    # (mpi4py.MPI loads libmpi from the venv that installed mpich: not this test's borrowed one)
    "distributed": "import mpi4py; from chainrule.distributed import init; assert init().size == 1",
    "plot": "import chainrule.viz as v; "
            "v.plot_history({'run': {'epoch': [1, 2], 'loss': [1.0, 0.5]}}, 'loss.png', keys=('loss',))",
    "progress": "import tqdm.auto",
    "playground": "from importlib import resources; from chainrule.playground import create_app; "
                  "assert resources.files('chainrule.playground').joinpath('static', "
                  "'playground.js').is_file(); create_app()",
    "mnist": "from chainrule.data import mnist; assert mnist.mnist_store_path().exists()",
    "onnx": "import chainrule as cr, numpy as np, onnxruntime; from chainrule import nn; "
            "cr.onnx.export(nn.Linear(2, 1), np.zeros((1, 2), np.float32), 'm.onnx')",
}

ENABLED = """
import sys, traceback

def enabled(checks):  # one process for all (each start imports NumPy and chainrule again)
    failed = []
    for extra, code in checks.items():
        try:
            exec(code, {})
        except Exception:
            traceback.print_exc(file=sys.stdout)
            failed.append(extra)
    print("failed:", failed)
"""


def _index_unreachable() -> str | None:
    """Why pip cannot reach its package index, or None when it can."""
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    try:  # one package's page (never the index's list of every name)
        urllib.request.urlopen(urllib.request.Request(f"{index}/numpy/", method="HEAD"), timeout=10)
    except (urllib.error.URLError, OSError) as exc:
        return f"the package index {index} cannot be reached ({exc})"
    return None


def _run(args: list[str], cwd: Path, timeout: float = 300) -> str:
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    output = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, f"{' '.join(args[:6])} ... failed:\n{output}"
    return proc.stdout


def _isolation() -> list[str]:
    """No build isolation where this environment has the build backend: an isolated build
    downloads setuptools twice (sdist, then the wheel from it), 20 s here."""
    try:
        ready = int(importlib.metadata.version("setuptools").split(".")[0]) >= 77
    except importlib.metadata.PackageNotFoundError:
        ready = False
    return ["--no-isolation"] if ready else []


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    why = _index_unreachable()
    if why:
        pytest.skip(why)
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", *_isolation(), "--outdir", str(out), str(ROOT)], cwd=out)
    return out


def _wheel(dist: Path) -> Path:
    (wheel,) = dist.glob("chainrule-*.whl")
    return wheel


def test_sdist_and_wheel_carry_license_urls_and_classifiers(dist):
    (sdist,) = dist.glob("chainrule-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[-1] for name in tar.getnames()}
    assert {"LICENSE", "README.md", "pyproject.toml"} <= names
    with zipfile.ZipFile(_wheel(dist)) as whl:
        meta_name = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(whl.read(meta_name))
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in whl.namelist())
    assert meta["License-Expression"] == "MIT" and meta["License-File"] == "LICENSE"
    assert meta["Author"] == "The chainrule authors"
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert set(urls) == {"Homepage", "Source", "Issues", "Documentation"}
    assert all(u.startswith(URL) for u in urls.values())
    classifiers = meta.get_all("Classifier")
    assert {f"Programming Language :: Python :: {v}" for v in PYTHONS} <= set(classifiers)
    assert "Operating System :: OS Independent" in classifiers
    # The extras users see are those chainrule's errors name, plus `all`.
    assert set(meta.get_all("Provides-Extra")) - DEV_EXTRAS == set(EXTRAS) | {"all"}
    # The long description is the README, with no links that only work inside the repository.
    targets = re.findall(r"\]\(([^)\s]+)\)", meta.get_payload())
    assert targets and all(t.startswith(("https://", "#")) for t in targets), targets


def test_wheel_installs_alone_then_with_every_extra(dist, tmp_path):
    assert set(ENABLES) == set(EXTRAS)
    env = tmp_path / "venv"
    venv.create(env)  # no pip of its own: this environment's pip installs into it (saves 10 s)
    py = str(env / ("Scripts" if os.name == "nt" else "bin") / "python")
    pip = [sys.executable, "-m", "pip", "--python", py, "install", "--quiet", "--disable-pip-version-check"]
    wheel = _wheel(dist)
    _run([*pip, str(wheel)], cwd=tmp_path)
    assert f"bare ok {env}" in _run([py, "-c", BARE], cwd=tmp_path)  # the wheel's chainrule

    site = _run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp_path)
    here = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    Path(site.strip(), "zz_outer.pth").write_text("\n".join(here) + "\n")
    extras = [e for e in EXTRAS if HAS_MNIST or e != "mnist"]
    _run([*pip, f"{wheel}[{','.join([*extras, 'all'])}]"], cwd=tmp_path)
    checks = {extra: ENABLES[extra] for extra in extras}
    out = _run([py, "-c", f"{ENABLED}\nenabled({checks!r})"], cwd=tmp_path)
    assert "failed: []" in out, out
