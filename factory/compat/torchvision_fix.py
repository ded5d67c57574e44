"""Start-up hook that lets a CUDA build of torchvision import beside a CPU build of torch.

PyPI's torchvision wheel for torch 2.13 is built against CUDA; its ``_C`` extension cannot load next to
``torch==2.13.0+cpu`` and ``import torchvision`` then dies with "operator torchvision::nms does not
exist". Transformers' Qwen2-VL video processor only needs torchvision's pure-Python transforms, so
declaring the two operator schemas that torchvision's meta registrations look up is enough.

The set-up script copies this file into the virtual environment's site-packages as
``_veripo_torchvision_fix.py`` and adds a ``.pth`` line that calls :func:`install`, so it runs in every
Python process of the venv (vLLM's spawned engine processes included). Where torchvision's ``_C`` loads
(a matching CPU or GPU install) it does nothing: defining the ops there would clash with the real ones.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from pathlib import Path

_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_library = None  # keeps the torch.library.Library alive for the process lifetime


def _native_ops_load(package_dir: Path) -> bool:
    """True when torchvision's compiled ``_C`` extension loads in this process."""
    import torch

    for candidate in sorted(package_dir.glob("_C*.so")):
        try:
            torch.ops.load_library(str(candidate))
            return True
        except OSError:
            return False
    return False


def apply() -> bool:
    """Declare the torchvision op schemas when the native library cannot load; True if it did."""
    global _library
    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.origin is None:
        return False
    if _native_ops_load(Path(spec.origin).parent):
        return False
    import torch

    _library = torch.library.Library("torchvision", "DEF")
    for schema in _SCHEMAS:
        _library.define(schema)
    return True


class _BeforeTorchvision(importlib.abc.MetaPathFinder):
    """Runs :func:`apply` once, just before the first ``import torchvision``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torchvision":
            return None
        sys.meta_path.remove(self)
        apply()
        return None  # let the normal finders import torchvision itself


def install() -> None:
    if "torchvision" in sys.modules or any(isinstance(f, _BeforeTorchvision) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _BeforeTorchvision())
