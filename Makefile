# make demo: the main job end to end on the bundled sample (no network, no GPU).
# make test: the whole test suite (fast tier, then the slow real-engine tier).
# Both create .venv from nothing when it is missing (.ci/setup-venv, the CPU recipe) and reuse it after.

VENV     := .venv
PY       := $(VENV)/bin/python
FACTORY  := $(VENV)/bin/factory
STORE    ?= store
MODELS   ?= build/models
export OMP_NUM_THREADS ?= 2
export VLLM_CPU_KVCACHE_SPACE ?= 1
export HF_HUB_OFFLINE := 1

.PHONY: venv demo test test-fast test-slow bench clean-demo

venv:
	@bash .ci/setup-venv

demo: venv
	$(PY) data/tiny_models.py --out $(MODELS)
	$(FACTORY) prompts import data/sample/sample.json --store $(STORE) --quiet
	$(FACTORY) query "select problem_type, data_type, count(*) as prompts from prompts group by all order by 1, 2" --store $(STORE)
	$(FACTORY) versions --store $(STORE)

test: venv
	$(PY) -m pytest -q -m "not slow" -p no:cacheprovider
	$(PY) -m pytest -q -m slow -p no:cacheprovider || [ $$? -eq 5 ]

test-fast: venv
	$(PY) -m pytest -q -m "not slow" -p no:cacheprovider

test-slow: venv
	$(PY) -m pytest -q -m slow -p no:cacheprovider || [ $$? -eq 5 ]

clean-demo:
	rm -rf $(STORE) $(MODELS)
