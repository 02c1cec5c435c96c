# Two entry points (see README): `make quickstart` (install + main job) and `make test` (install + tests).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: install quickstart test bench

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

quickstart: install
	$(VENV)/bin/hybridnas space validate hybrid_cifar
	$(VENV)/bin/hybridnas space sample hybrid_cifar -n 8 --seed 0 | $(VENV)/bin/hybridnas cost hybrid_cifar

test: install
	$(PY) -m pytest -q -n 2

bench: install
	taskset -c 0 $(PY) benchmarks/cost_speed.py --space hybrid_cifar
	$(PY) benchmarks/unique_networks.py
