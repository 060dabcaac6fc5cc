"""`import chainrule` loads the engine, the ops and the functions; the layers above them (nn,
optim, io, data, models, train, ...) and NumPy's random module load on first use, under the
same public names (issue 17: import time ≤ 1.5× NumPy's). Structure, not timings."""

from __future__ import annotations

import json
import subprocess
import sys

import chainrule

LAZY = ["chainrule.data", "chainrule.io", "chainrule.metrics", "chainrule.models", "chainrule.nn",
        "chainrule.onnx", "chainrule.optim", "chainrule.random", "chainrule.train", "chainrule.viz",
        "chainrule.derivatives", "chainrule.forward", "chainrule.gradcheck", "numpy.random"]
EAGER = ["chainrule.tensor", "chainrule.engine", "chainrule.ops", "chainrule.functional",
         "chainrule.autograd", "chainrule.creation", "chainrule.errors", "chainrule.backend"]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "; import sys, json; "
                          "print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True, timeout=120)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_chainrule_loads_the_engine_and_not_the_layers_above_it():
    loaded = _modules_after("import chainrule")
    assert not [m for m in LAZY if m in loaded]
    assert all(m in loaded for m in EAGER)
    # nothing optional, nothing heavy from the standard library's network or test modules
    assert not {"torch", "scipy", "sklearn", "pandas", "matplotlib", "safetensors"} & loaded


def test_a_lazy_name_loads_its_module_on_first_use():
    loaded = _modules_after("import chainrule; chainrule.nn.Linear; chainrule.manual_seed(0)")
    assert {"chainrule.nn", "chainrule.random", "numpy.random"} <= loaded
    assert "chainrule.onnx" not in loaded
    assert "chainrule.optim" in _modules_after("from chainrule import optim")


def test_every_public_name_resolves_to_the_same_object_as_its_module_gives():
    import chainrule.derivatives
    import chainrule.forward
    import chainrule.gradcheck
    import chainrule.io
    import chainrule.nn
    import chainrule.random

    for name in chainrule.__all__:
        assert getattr(chainrule, name) is not None, name
    assert chainrule.nn is sys.modules["chainrule.nn"]
    assert chainrule.save is chainrule.io.save and chainrule.load is chainrule.io.load
    assert chainrule.manual_seed is chainrule.random.manual_seed
    assert chainrule.jvp is chainrule.forward.jvp and chainrule.Dual is chainrule.forward.Dual
    assert chainrule.hessian is chainrule.derivatives.hessian
    assert chainrule.check_grad is chainrule.gradcheck.check_grad
    assert set(chainrule.__all__) <= set(dir(chainrule))


def test_star_import_and_unknown_names():
    namespace: dict = {}
    exec("from chainrule import *", namespace)
    assert {"Tensor", "nn", "optim", "save", "jvp", "manual_seed"} <= set(namespace)
    try:
        chainrule.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected an AttributeError")
