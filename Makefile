# halfwave — the user's entry point. Everything runs from .venv, which this Makefile
# creates with pinned versions (pyproject.toml) on first use.
#
#   make verify MODEL=tfc_w1a2   train (or reuse), export, compile, simulate, compare
#   make test                    the test suite (what CI runs)
#   make bench                   benchmarks -> bench/results.json

SHELL  := /bin/bash
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MODEL  ?= tfc_w1a2
N      ?= 200
JOBS   ?= 2
BUILD  := build
BOARD  ?= pynq-z2
CKPT   ?=

export HALFWAVE_SIM_CACHE ?= $(CURDIR)/$(BUILD)/simcache
export YOWASP_CACHE_DIR   ?= $(CURDIR)/$(BUILD)/yowasp

.PHONY: help venv verify train export compile test test-slow lint bench clean distclean \
	bitstream cosim

help:
	@echo "make verify MODEL=tfc_w1a2 | test | test-slow | bench | lint | clean"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: install Python 3.11"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' || \
	  { echo "error: Python >= 3.11 is needed ($(PYTHON) is $$($(PYTHON) --version))"; exit 1; }
	@command -v g++ >/dev/null || { echo "error: g++ not found: the Verilator simulations need a C++ compiler"; exit 1; }
	@command -v perl >/dev/null || { echo "error: perl not found: Verilator's driver is a perl script"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=23"
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/pip install --quiet --no-deps hls4ml==1.3.0  # only its ap_types headers (HLS csim)
	@touch $(STAMP)

verify: $(STAMP)
	$(BIN)/halfwave verify $(MODEL) --n $(N) --root $(BUILD)

train: $(STAMP)
	$(BIN)/halfwave train $(MODEL) --out $(BUILD)/models/$(MODEL).pt

export: $(STAMP)
	$(BIN)/halfwave export $(MODEL) --ckpt $(BUILD)/models/$(MODEL).pt --out $(BUILD)/models/$(MODEL).onnx

compile: $(STAMP)
	$(BIN)/halfwave compile $(BUILD)/models/$(MODEL).onnx --out $(BUILD)/$(MODEL)

test: $(STAMP)
	$(BIN)/pytest -n $(JOBS) -q

test-slow: $(STAMP)
	$(BIN)/pytest -n $(JOBS) -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check compiler training sim hw tests

# bench/results.json: compile, golden/RTL/HLS throughput, cycles (tfc..lfc, cnv, AlexNet);
# synth.json: pynq-z2 --max designs through Yosys with plots; boards.json: make bitstream
# stage times and nextpnr Fmax; ternary.json: TTQ/TWN accuracy and size (trains on CPU);
# fuzz.json: the compiler's mutation fuzzer (refused / right / traceback / wrong hardware);
# qnn.json: qnn_mlp deterministic vs stochastic accuracy; lanes.json: LUT per MVU lane by
# Yosys; training.json: training throughput; residual.json: ttq_resnet20 and hwgq_resnet18
# on pynq-z2/zcu104 --max (RTL cycles, Yosys, DDR, shortcut FIFO bits)
bench: $(STAMP)
	$(BIN)/python -m halfwave.flow.bench.results --out bench/results.json --root $(BUILD)
	$(BIN)/python -m halfwave.flow.bench.synthesis --out bench/synth.json --root $(BUILD)
	$(BIN)/python -m halfwave.flow.bench.boards --out bench/boards.json
	$(BIN)/python -m halfwave.flow.bench.ternary --out bench/ternary.json
	$(BIN)/python -m halfwave.flow.bench.fuzz --n 1000 --out bench/fuzz.json
	$(BIN)/python -m halfwave.flow.bench.qnn --seeds 2 --root $(BUILD) --out bench/qnn.json
	$(BIN)/python -m halfwave.flow.bench.lanes --out bench/lanes.json
	$(BIN)/python -m halfwave.training.bench_training --out bench/training.json
	$(BIN)/python -m halfwave.flow.bench.residual --root $(BUILD) --out bench/residual.json

# boards and system (sim/flow/board/bitstream.py): exit 0 with a bitstream, 3 when it stopped
# before Vivado (the command that finishes the job is printed), 4 when the design fits the
# board only with weights in DDR (checked in RTL with the DDR model; the system wrappers
# have no weight DMA yet) or not at all, 1 on a cosim or RTL mismatch
bitstream: $(STAMP)
	$(BIN)/halfwave bitstream $(MODEL) --board $(BOARD) --root $(BUILD) $(if $(CKPT),--ckpt $(CKPT))

cosim: $(STAMP)
	$(BIN)/halfwave cosim $(MODEL) --board $(BOARD) --root $(BUILD) $(if $(CKPT),--ckpt $(CKPT))

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf $(VENV)
