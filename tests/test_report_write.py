"""The --report file is `GenerationReport.to_json`: keys in the documented order, a node a line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pith._generate._report import PHASE_NODES, GenerationReport, NodeResult
from pith._models import NodeType


@pytest.mark.parametrize("ids", [[], ["a.py", 'odd "id"\nwith a newline:f', "é.py"]])
def test_the_report_file_is_its_json(tmp_path: Path, ids: list[str]) -> None:
    now = dt.datetime.now(dt.UTC)
    report = GenerationReport(
        model="m", base_url="http://x/v1", concurrency=2, started_at=now, finished_at=now
    )
    for node_id in ids:
        report.results[node_id] = NodeResult(node_id, NodeType.FILE, PHASE_NODES)
    path = tmp_path / "run.json"
    report.write(path)
    text = path.read_text(encoding="utf-8")
    written = json.loads(text)
    assert written == report.to_json()
    assert list(written) == list(report.to_json())
    assert text.count("\n") == 24 + (len(ids) + 1 if ids else 0)  # a line per node
