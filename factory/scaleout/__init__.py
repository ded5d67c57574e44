"""Scale-out: a stage's request table run on a Ray cluster, written to the same tables with the same ids.

``factory rollouts --engine ray`` and ``factory verify --judge ray`` plan exactly as the local stages do
(the same :class:`~factory.rollouts.generate.RolloutRun` / :class:`~factory.verifier.run.VerifyRun`
keys), hand the missing rows to :class:`~factory.engines.ray_engine.RayLLM`, and ingest its Parquet
results through the stage's :class:`~factory.store.TableWriter`, idempotently by id.
"""

from factory.scaleout.rollouts import run_rollouts_ray
from factory.scaleout.verify import run_verify_ray

__all__ = ["run_rollouts_ray", "run_verify_ray"]
