"""compute_report / print_report over real stores: all sections, chosen versions, empty and partial stores."""

from rich.console import Console

from factory.stats import REPORT_SECTIONS, compute_report, print_report, write_html
from stats_cases import known_store, rollout, write  # noqa: F401  (known_store is a fixture)


def test_report_holds_every_section_with_the_preset_figures(known_store):
    report = compute_report(known_store)
    assert [name for name, _, _ in report.sections()] == list(REPORT_SECTIONS)
    assert all(report.versions[t] for t in ("prompts", "rollouts", "verdicts", "pairs"))
    quality = {r["problem_type"]: r for r in report.quality_by_type.to_pylist() if r["iteration"] is None}
    assert quality["multiple choice"]["accuracy"] == 5 / 8
    agreement = report.judge_agreement.to_pylist()
    assert [r["agreement"] for r in agreement] == [0.75, 0.875, 0.625]


def test_report_reads_the_versions_asked_for(known_store):
    write(known_store, "rollouts", [rollout(100, "pA", False, 15)])
    latest = compute_report(known_store)
    first = compute_report(known_store, {"rollouts": "1"})
    assert latest.versions["rollouts"] != first.versions["rollouts"]
    total = {r["table"]: r["rows"] for r in latest.overview.to_pylist()}["rollouts"]
    assert (total, {r["table"]: r["rows"] for r in first.overview.to_pylist()}["rollouts"]) == (19, 18)


def test_print_report_shows_each_section(known_store):
    console = Console(record=True, width=220)
    print_report(compute_report(known_store), console)
    text = console.export_text()
    for name in REPORT_SECTIONS:
        assert name in text
    assert "0.625" in text and "judge vs rules" in text and "TimeoutError" in text
    # the think-length histogram reads as bins x problem types
    assert "multiple choice" in text.split("think_length_hist")[1].splitlines()[2]


def test_empty_store_reports_and_renders(store, tmp_path):
    report = compute_report(store)
    assert report.versions == {"prompts": None, "rollouts": None, "verdicts": None, "pairs": None}
    assert [r["rows"] for r in report.overview.to_pylist()] == [0, 0, 0, 0]
    console = Console(record=True, width=160)
    print_report(report, console)
    assert "judge_agreement: no rows yet" in console.export_text()
    page = write_html(report, tmp_path / "out" / "stats.html").read_text()
    assert page.count('class="chart empty"') == 5


def test_store_with_only_prompts_and_rollouts(store):
    from stats_cases import prompts_rows, rollouts_rows

    write(store, "prompts", prompts_rows())
    write(store, "rollouts", rollouts_rows())
    report = compute_report(store)
    assert report.versions["verdicts"] is None and report.consistency_by_type.num_rows == 0
    assert report.pairs_by_type.num_rows == 0 and report.judge_agreement.num_rows == 0
    assert {r["problem_type"]: r["1"] for r in report.pass_rate_hist.to_pylist()}["all"] == 2


def test_report_snapshot_gives_the_same_figures_as_the_presets_over_the_views(known_store):
    from factory.stats import run_preset

    report = compute_report(known_store)
    for name, _, table in report.sections():
        assert table.to_pylist() == run_preset(known_store, name).to_pylist(), name
