# Two entry points: `make demo` and `make test`.  Both create .venv and install
# everything on a bare machine.  torch is installed first, pinned to the CPU
# build available here; any other torch request pulls GBs of CUDA packages.
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all lint bench install clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[test,examples]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m discovery.cli.demo

lint: $(STAMP)
	$(VENV)/bin/lint-imports

test: $(STAMP) lint
	$(PY) -m pytest -n 2

test-all: $(STAMP) lint
	$(PY) -m pytest -n 2 -m ""

bench: $(STAMP)
	$(PY) benchmarks/search.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
