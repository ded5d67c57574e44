"""``factory stats`` and ``factory query --preset``: canned SQL over the store and the CoT-quality report.

- :mod:`factory.stats.presets`: the named queries (``PRESETS``, ``run_preset``).
- :mod:`factory.stats.report`: ``compute_report``, ``print_report``, ``write_html``.
- :mod:`factory.stats.html` and :mod:`factory.stats.svg`: the self-contained web page and its charts.
"""

from factory.stats.presets import PRESETS, Preset, preset, run_preset
from factory.stats.report import REPORT_SECTIONS, StatsReport, compute_report, print_report, write_html

__all__ = ["PRESETS", "Preset", "preset", "run_preset", "REPORT_SECTIONS", "StatsReport", "compute_report",
           "print_report", "write_html"]
