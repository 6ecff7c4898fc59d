"""The benchmark harness and the optimizer suite, on tiny sizes (what they measure is not
checked here: speed belongs in benchmarks, not in tests)."""
import json
import os
import subprocess
import sys

import pytest

from fusednn.bench import harness


def test_interleaved_medians_returns_one_median_per_callable():
    calls = []
    medians = harness.interleaved_medians([lambda: calls.append("a"), lambda: calls.append("b")],
                                          repeats=5, warmup=1)
    assert len(medians) == 2 and all(m >= 0 for m in medians)
    assert calls.count("a") == calls.count("b") == 6
    assert calls[2:4] == ["a", "b"] and calls[4:6] == ["b", "a"]  # order alternates


def test_markdown_table_is_aligned():
    text = harness.markdown_table(["x", "long header"], [[1, 2], [333, 4]])
    lines = text.splitlines()
    assert lines[0].startswith("| x ") and set(lines[1]) <= {"|", "-"}
    assert len({len(line) for line in lines}) == 1


def test_copy_bandwidth_is_positive():
    bw = harness.copy_bandwidth(elements=1 << 16, repeats=3)
    assert bw["bytes_per_s"] > 0 and bw["by"] in bw["all"]


def test_optim_suite_runs_and_ends_with_a_table(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "rows.json"
    result = subprocess.run(
        [sys.executable, "-m", "fusednn.bench", "optim", "--quick", "--only", "adam,rmsprop",
         "--repeats", "2", "--out", str(out)],
        capture_output=True, text=True, check=True, env={**os.environ})
    table = result.stdout
    assert table.startswith("| optimizer")
    assert "| adam " in table and "| rmsprop " in table and "target" in table
    rows = json.loads(out.read_text())["rows"]
    assert {(r["optimizer"], r["tensors"]) for r in rows} == {
        ("adam", 1), ("adam", 200), ("rmsprop", 1), ("rmsprop", 200)}
    assert all(r["fusednn_s"] > 0 and r["baseline_s"] > 0 for r in rows)


def test_unknown_suite_is_refused():
    result = subprocess.run([sys.executable, "-m", "fusednn.bench", "nope"],
                            capture_output=True, text=True)
    assert result.returncode != 0 and "invalid choice" in result.stderr
