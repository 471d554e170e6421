"""The benchmark code paths at minimal sizes, so bench/ cannot rot (no timing is asserted)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.run import SMOKE, run_suite  # noqa: E402
from bench.stats import Summary, percentile  # noqa: E402
from tests.servers.dovecot import DOVECOT, LDA  # noqa: E402


def test_stats_summary_and_percentile():
    """GIVEN three repeats WHEN summarised THEN median, bounds and spread are those of the values."""
    s = Summary([2.0, 1.0, 4.0])
    assert (s.median, s.low, s.high) == (2.0, 1.0, 4.0)
    assert s.spread == pytest.approx(1.5)
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert percentile([0.0, 10.0], 95) == pytest.approx(9.5)


def test_growth_row_calls_linear_and_superlinear():
    """GIVEN times at N and 4N WHEN compared THEN ×4 is linear and ×16 is superlinear."""
    assert report.growth_row("x", 1, 1.0, 4, 4.0, "n")["verdict"].startswith("linear")
    assert report.growth_row("x", 1, 1.0, 4, 16.0, "n")["verdict"].startswith("superlinear")


@pytest.mark.dovecot
@pytest.mark.slow
def test_bench_suite_runs_at_minimal_sizes(tmp_path):
    """GIVEN a real Dovecot, ffmpeg and /usr/bin/time WHEN the suite runs at the smoke sizes
    THEN every measurement reports its figures with the expected structure."""
    if not Path(DOVECOT).exists() or not Path(LDA).exists() or shutil.which("ffmpeg") is None:
        pytest.skip("needs dovecot and ffmpeg")
    if not Path("/usr/bin/time").exists():
        pytest.skip("needs /usr/bin/time (Debian package time)")
    results = run_suite(SMOKE, tmp_path, log=lambda *_: None)

    (tp,) = results["throughput"]  # issue 16's limit: raw fetch, binascii, ffprobe per core
    assert (tp["label"], tp["n"]) == ("small", SMOKE.throughput_small) and tp["ratio"] > 0
    assert tp["pair_ratios"]["repeats"] == SMOKE.throughput_repeats and tp["pair_ratios"]["median"] > 0
    assert [r["n"] for r in results["ingest"]] == SMOKE.ingest_n
    for r in results["ingest"]:
        assert r["replies"] == r["n"]
        assert r["ratio"] > 0 and r["intake_s"]["repeats"] == SMOKE.ingest_repeats
    assert results["latency"]["n"] == SMOKE.latency_n
    assert 0 < results["latency"]["p50_s"] <= results["latency"]["p95_s"]
    jobs = [m["job"] for m in results["memory"]]
    assert jobs == ["IMAP mail"] + ["drop-folder video"] * len(SMOKE.drop_bytes)
    assert all(m["peak_rss"]["median"] >= m["floor_bytes"] * 0.5 for m in results["memory"])
    (scale,) = results["scale"]
    assert scale["n"] == SMOKE.scale_n
    assert {"limit_read_json", "decode_facts", "evaluate", "refresh_verdicts",
            "judge_one_input"} <= set(scale["steps"])  # fmt: skip
    assert {g["what"] for g in results["growth"]} >= {"1. ingest, dossier-intake"}

    page = report.render(results, "notes here")
    for heading in ("## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## Notes"):
        assert heading in page
