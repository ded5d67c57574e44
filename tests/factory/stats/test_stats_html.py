"""The HTML report: self-contained, charts carry the figures, and headless Chromium renders them.

The Chromium test needs Debian's ``chromium`` (``apt-get install -y chromium``); it is skipped, with that
reason, only where no Chromium binary is on PATH.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from factory.stats import compute_report, write_html
from factory.stats.svg import PALETTE
from stats_cases import known_store  # noqa: F401  (a fixture)

CHART_IDS = ("chart-quality-rates", "chart-think-length", "chart-pass-rate", "chart-consistency", "chart-pairs")


class Charts(HTMLParser):
    """Collects each ``<svg class="chart">`` by id with the attributes of its ``rect.bar`` elements."""

    def __init__(self):
        super().__init__()
        self.charts: dict[str, dict] = {}
        self._current: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "svg" and "chart" in classes:
            self._current = attrs["id"]
            self.charts[self._current] = {"classes": classes, "bars": []}
        elif tag == "rect" and "bar" in classes and self._current:
            self.charts[self._current]["bars"].append(attrs)

    def handle_endtag(self, tag):
        if tag == "svg":
            self._current = None


def charts_of(page: str) -> dict[str, dict]:
    parser = Charts()
    parser.feed(page)
    return parser.charts


def bar_values(chart: dict) -> dict[tuple[str, str], float]:
    return {(b["data-series"], b["data-category"]): float(b["data-value"]) for b in chart["bars"]}


def test_page_is_self_contained_and_charts_carry_the_figures(known_store, tmp_path):
    page = write_html(compute_report(known_store), tmp_path / "stats.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "<link" not in page and "@import" not in page and "url(" not in page
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}
    charts = charts_of(page)
    assert list(charts) == list(CHART_IDS)
    assert bar_values(charts["chart-consistency"])["judge-a", "multiple choice"] == 0.5
    assert bar_values(charts["chart-consistency"])["rules", "multiple choice"] == 0.625
    assert bar_values(charts["chart-quality-rates"])["accuracy", "numerical (it 1)"] == 0.75
    pass_rate = bar_values(charts["chart-pass-rate"])
    assert (pass_rate["multiple choice", "1"], pass_rate["numerical", "0"]) == (1, 1)
    think = bar_values(charts["chart-think-length"])
    assert think["numerical", "96–111"] == 4 and sum(think.values()) == 17
    assert bar_values(charts["chart-pairs"])["veripo", "consistency"] == 2
    for name in ("quality_by_type", "consistency_by_type", "pass_rate_hist", "judge_agreement"):
        assert f'id="table-{name}"' in page


def test_text_from_the_store_is_escaped(store, tmp_path):
    from stats_cases import pairs_rows, write

    write(store, "pairs", [dict(pairs_rows()[0], policy="<script>alert(1)</script>")])
    page = write_html(compute_report(store), tmp_path / "stats.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    return None


def run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--window-size=1200,2000"]
    return subprocess.run([binary, *flags, *args], capture_output=True, text=True, timeout=90)


def test_chromium_renders_the_charts(store, tmp_path):
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no Chromium on PATH: install Debian's `chromium` (apt-get install -y chromium) to run "
                    "the rendering check")
    from PIL import Image
    from stats_synthetic import build

    build(store, prompts=300, group=8, rows_per_part=5000)
    page = write_html(compute_report(store), tmp_path / "stats.html")
    url = page.resolve().as_uri()

    dom = run_chromium(binary, tmp_path / "profile-dom", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    charts = charts_of(dom.stdout)
    assert list(charts) == list(CHART_IDS)
    for chart_id, chart in charts.items():
        assert "empty" not in chart["classes"] and len(chart["bars"]) >= 3, chart_id

    png = tmp_path / "stats.png"
    shot = run_chromium(binary, tmp_path / "profile-shot", f"--screenshot={png}", url)
    assert shot.returncode == 0 and png.is_file(), shot.stderr[-2000:]
    image = Image.open(png).convert("RGB")
    assert image.size == (1200, 2000)
    colours = {rgb: count for count, rgb in image.getcolors(maxcolors=1200 * 2000)}
    non_white = 1 - colours.get((255, 255, 255), 0) / (1200 * 2000)
    assert non_white > 0.05, f"screenshot is almost blank ({non_white:.1%} non-white)"
    assert len(colours) > 50
    # the bars are drawn in the palette: the first five colours each fill a visible area
    for hex_colour in PALETTE[:5]:
        rgb = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
        assert colours.get(rgb, 0) > 300, f"bars in {hex_colour} did not render"
