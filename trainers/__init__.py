"""TRL-based training on the factory's datasets (SPEC section 7): TRL trains, this package connects it.

- :mod:`trainers.settings`: ``TrainSettings``, the knobs every stage shares, and their translation to TRL.
- :mod:`trainers.sft`, :mod:`trainers.dpo`, :mod:`trainers.grpo`: one config dataclass and one ``run_*`` per
  stage; :mod:`trainers.sft_data` builds the SFT rows, :mod:`trainers.data` the others (store, folder, Hub).
- :mod:`trainers.recorder`: every completion GRPO samples, into the store's ``rollouts`` table.
- :mod:`trainers.policy`: loading the policy and saving checkpoints in the Hugging Face layout.
- :mod:`trainers.loop`: the VerIPO loop; :mod:`trainers.loop_state` (resume) and :mod:`trainers.loop_report`
  (the per-iteration table) beside it.
- :mod:`trainers.reload`: checkpoints load in transformers and vLLM; :mod:`trainers.cli`: the command line.
"""
