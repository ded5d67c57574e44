"""The rollout-aware verifier: rule figures on every rollout plus pluggable judges (SPEC section 5)."""
