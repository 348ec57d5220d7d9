# Fresh-machine entry points: `make demo` and `make test` set up everything they need.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed
FASHION_MNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test install data benchmark clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(VENV)/bin/pip install --quiet -e ".[test]"
	touch $(STAMP)

data: $(FASHION_MNIST)

$(FASHION_MNIST):
	$(SUDO) apt-get update -qq
	$(SUDO) apt-get install -y -qq dataset-fashion-mnist

demo: install data
	$(VENV)/bin/lut pretrain demo

test: install data
	$(VENV)/bin/python -m pytest

benchmark: install
	$(VENV)/bin/python benchmarks/step_benchmark.py --size tiny --img-size 224 --batch-size 32

clean:
	rm -rf $(VENV) runs
