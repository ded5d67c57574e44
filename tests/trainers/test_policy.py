"""Loading a policy: vision or text, padding for GRPO, the recorded revision, the placeholder tokens GRPO bans."""

from transformers import AutoConfig

from trainers.dpo import DpoConfig
from trainers.grpo import GrpoConfig, grpo_arguments, vision_token_ids
from trainers.policy import load_policy, policy_revision, read_record, weights_hash


def test_vision_policy_loads_with_left_padding_for_grpo(tiny_models, tmp_path):
    policy = load_policy(GrpoConfig(model=str(tiny_models["vl"])), padding_side="left")
    assert policy.vision and policy.tokenizer.padding_side == "left"
    # TRL left-pads GRPO prompts itself; the processor's per-token fields (mm_token_type_ids) must match
    assert policy.padding_side == "right"  # what the saved checkpoint keeps
    assert policy.revision == weights_hash(tiny_models["vl"]) == policy_revision(str(tiny_models["vl"]), None)
    assert read_record(tiny_models["vl"]) is None  # not a trainer checkpoint


def test_text_policy_and_revision_given(tiny_models):
    policy = load_policy(DpoConfig(model=str(tiny_models["text"]), revision="main"))
    assert not policy.vision and policy.revision == "main" and policy.tokenizer is policy.processing_class


def test_grpo_bans_media_placeholders_in_completions(tiny_models, tmp_path):
    config = AutoConfig.from_pretrained(tiny_models["vl"])
    policy = load_policy(GrpoConfig(model=str(tiny_models["vl"])))
    ids = vision_token_ids(policy.model)
    assert ids == sorted({config.image_token_id, config.video_token_id, config.vision_start_token_id,
                          config.vision_end_token_id})
    args = grpo_arguments(GrpoConfig(), str(tmp_path), suppress=ids)
    assert args.generation_kwargs == {"suppress_tokens": ids}
    assert grpo_arguments(GrpoConfig(use_vllm=True), str(tmp_path), suppress=ids).generation_kwargs is None
