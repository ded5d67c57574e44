"""``factory export``: a dataset version as a Hugging Face dataset folder, in a trainer's layout (SPEC section 7).

Where things live: ``config`` (ExportConfig, the formats), ``sources`` (reading the version and joining
pairs with their rollouts and prompts), ``media`` (frames), ``layouts`` (the row layouts and their
features, one place per format), ``build`` (rows for the trainer layouts), ``card`` (README and
lineage.json), ``hub`` (push), ``export`` (the stage function). To add a format, add its rows and
features to ``layouts``, its builder to ``build`` and its name to ``config.FORMATS``.
"""

from factory.export.config import FORMATS, ExportConfig, ExportResult
from factory.export.export import export
from factory.export.hub import HubError, push

__all__ = ["FORMATS", "ExportConfig", "ExportResult", "HubError", "export", "push"]
