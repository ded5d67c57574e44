"""Rule rewards for rollouts: two named profiles, ``video-r1`` and ``veripo`` (pure functions, no I/O).

Where things live: one module per answer type (``choice``, ``numeric``, ``ocr``, ``freeform``,
``regression``), ``parsing`` for think/answer/format/truncation columns, ``symbolic`` for math-verify,
``profiles`` for the two recipes and :func:`score_frame`. To add an answer type or a profile, write its
scorer in its own module and register it in ``profiles``.
"""

from factory.rewards.profiles import PROFILES, score_frame

__all__ = ["PROFILES", "score_frame"]
