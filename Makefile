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
	$(FACTORY) query "select problem_type, count(*) from prompts group by 1 order by 1" --store $(STORE)
	$(FACTORY) rollouts import data/completions/sample_completions.jsonl --profile veripo --store $(STORE) --quiet
	VLLM_ENABLE_V1_MULTIPROCESSING=0 $(FACTORY) rollouts --policy $(MODELS)/tiny-qwen2.5-vl --n 4 \
		--max-new-tokens 64 --max-model-len 1024 --enforce-eager --reward-profile veripo --store $(STORE) --quiet
	$(FACTORY) query "select policy_model, p.problem_type, count(*) as rollouts, round(avg(think_tokens), 1) as mean_think_tokens, round(avg(fmt_ok::int), 2) as format_rate, round(avg(accurate::int), 2) as accuracy from rollouts join prompts p using (prompt_id) group by all order by 1, 2" --store $(STORE)
	$(FACTORY) verify --store $(STORE) --quiet
	$(FACTORY) query "select p.problem_type, v.verifier, count(*) as judged, round(avg(v.consistent::int), 2) as consistency_rate, count(*) filter (where v.status <> 'ok') as not_judged from verdicts v join rollouts r using (rollout_id) join prompts p on p.prompt_id = r.prompt_id group by all order by 1, 2" --store $(STORE)
	$(FACTORY) pairs --verifier rules --store $(STORE) --quiet
	$(FACTORY) stats --html $(STORE)/report.html --max-rows 12 --store $(STORE)
	$(FACTORY) export --format trl-dpo --out $(STORE)/exports/trl-dpo --overwrite --store $(STORE) --quiet
	$(FACTORY) versions --store $(STORE)
	@echo "store: $(STORE)  report: $(STORE)/report.html  export: $(STORE)/exports/trl-dpo"

test: venv
	@bash .ci/ensure-chromium
	$(PY) -m pytest -q -m "not slow" -p no:cacheprovider
	$(PY) -m pytest -q -m slow -p no:cacheprovider || [ $$? -eq 5 ]

test-fast: venv
	$(PY) -m pytest -q -m "not slow" -p no:cacheprovider

test-slow: venv
	$(PY) -m pytest -q -m slow -p no:cacheprovider || [ $$? -eq 5 ]

clean-demo:
	rm -rf $(STORE) $(MODELS)
