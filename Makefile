# Fresh-machine entry points: `make demo` and `make test` set up everything they need.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed
CONSTRAINTS := constraints.txt
FASHION_MNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test install data benchmark lint wheel-check clean

install: $(STAMP)

# Every extra at the exact versions of constraints.txt (pyproject.toml has the supported ranges).
$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c $(CONSTRAINTS) -e ".[all,test]"
	touch $(STAMP)

data: $(FASHION_MNIST)

$(FASHION_MNIST):
	$(SUDO) apt-get update -qq
	$(SUDO) apt-get install -y -qq dataset-fashion-mnist

demo: install data
	$(VENV)/bin/lut pretrain demo

# Two test processes (pytest-xdist, one file per process at a time); each test runs one thread (tests/conftest.py).
TEST_WORKERS ?= 2

test: install data
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: install
	$(VENV)/bin/ruff check .

# Build the sdist and wheel, install the wheel into a fresh venv beside the pinned torch, run the installed `lut`.
wheel-check: install data
	$(VENV)/bin/python -m pytest tests/distribution/wheel_check.py

benchmark: install
	$(VENV)/bin/python benchmarks/step_benchmark.py --size tiny --img-size 224 --batch-size 32

clean:
	rm -rf $(VENV) runs dist build
