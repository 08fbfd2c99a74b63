"""The examples of docs/embedding.md run as written, against a fake endpoint on 127.0.0.1."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fakellm import FakeLLM
from sample_project import built_store

DOC = Path(__file__).parent.parent / "docs" / "embedding.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
NODE_COUNT = 14


def test_the_doc_has_examples() -> None:
    assert len(EXAMPLES) == 2


def run_example(tmp_path: Path, code: str, fake: FakeLLM) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as a script on the sample project's store, against ``fake`` on 127.0.0.1."""
    built_store(tmp_path).close()  # the sample project, extracted and built into tmp_path/data
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PITH_", "OPENROUTER_"))}
    with fake.serve() as base_url:
        env |= {"PITH_DATA_DIR": str(tmp_path / "data"), "PITH_BASE_URL": base_url}
        return subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_example_runs(tmp_path: Path, index: int) -> None:
    fake = FakeLLM()
    fake.script("pkg/util.py", fail_status=500, fail_times=99, fail_headers={"Retry-After": "0"})
    result = run_example(tmp_path, EXAMPLES[index], fake)
    assert result.returncode == 0, result.stderr
    if index == 0:
        assert f"{NODE_COUNT - 1} generated, 1 failed" in result.stdout
        assert "1 failed on the provider's side" in result.stdout
    else:
        assert f"{NODE_COUNT}/{NODE_COUNT} " in result.stdout
        assert "cancelled=False, not attempted: 0" in result.stdout


README = Path(__file__).parent.parent / "README.md"


def test_the_readme_library_example_runs(tmp_path: Path) -> None:
    (example,) = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    result = run_example(tmp_path, example, FakeLLM())
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{NODE_COUNT} generated\n"
