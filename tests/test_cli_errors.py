"""What the command line does with bugs and bad settings: one line, the right exit code."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from projects import HEALTHY, write_tree

from pith import _build


@pytest.fixture
def extracted(cwd, run):
    write_tree(cwd / "proj", HEALTHY)
    assert run("extract", "proj")[0] == 0


def test_an_internal_error_is_one_line_and_exit_1(extracted, run, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("no such thing\nsecond line")

    monkeypatch.setattr(_build, "build_graph", broken)
    code, out, err = run("build")
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("pith: internal error in build: KeyError: 'no such thing")
    assert "run with -v for the traceback and please report it" in err


def test_verbose_shows_the_traceback_of_an_internal_error(extracted, run, monkeypatch):
    monkeypatch.setattr(_build, "build_graph", lambda *a, **k: 1 / 0)
    code, _, err = run("-v", "build")
    assert code == 1
    assert "Traceback (most recent call last)" in err
    assert err.rstrip().splitlines()[-1].startswith("pith: internal error in build")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PITH_CONCURRENCY", "0"),
        ("PITH_TIMEOUT", "soon"),
        ("PITH_BASE_URL", "http://[::1/v1"),
    ],
)
def test_llm_settings_do_not_break_the_commands_that_do_not_use_them(
    cwd, run, monkeypatch, name, value
):
    write_tree(cwd / "proj", HEALTHY)
    monkeypatch.setenv(name, value)
    for command in (["extract", "proj"], ["build"], ["status"], ["list"], ["show", "app.py"]):
        code, _, err = run(*command)
        assert code == 0, (command, err)
    code, _, err = run("generate", "--estimate")
    assert code == 2
    assert err.count("\n") == 1
    assert name in err


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:99999/v1", "http://127.0.0.1:abc/v1", "http://[::1/v1", "ftp://x"]
)
def test_a_bad_base_url_is_one_line_exit_2(extracted, run, url):
    run("build")
    code, _, err = run("generate", "--estimate", "--base-url", url)
    assert code == 2
    assert err.startswith("pith: error: base URL (--base-url")
    assert err.count("\n") == 1


def test_a_tool_key_that_is_not_a_table(extracted, cwd, run):
    run("build")
    # `tool = "x"` has no [tool.pith] at all: nothing to complain about.
    (cwd / "pyproject.toml").write_text('tool = "x"\n')
    assert run("generate", "--estimate")[0] == 0
    (cwd / "pyproject.toml").write_text('[tool]\npith = "x"\n')
    code, _, err = run("generate", "--estimate")
    assert code == 2
    assert err.count("\n") == 1
    assert "[tool.pith] must be a table" in err


def test_version_and_help_do_not_import_the_heavy_modules():
    code = (
        "import sys\n"
        "from pith._cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "heavy = {'trio', 'httpx', 'rich', 'stamina', 'pith._generate._engine', 'pith._extract',\n"
        "         'mcp', 'starlette', 'hypercorn', 'pydantic'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().endswith("[]"), result.stdout


def test_global_options_after_the_command_and_one_error_style(cwd, capsys):
    from pith._cli import main

    write_tree(cwd / "proj", HEALTHY)
    for args in (
        ["extract", "proj", "--data-dir", str(cwd / "d"), "-q"],
        ["build", "-q", "--data-dir", str(cwd / "d")],
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(args)
        assert exit_info.value.code == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(["status", "--json", "--data-dir", str(cwd / "d")])
    assert exit_info.value.code == 0
    assert '"file": 8' in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["status", "--bogus"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("pith: error: No such option '--bogus'")
    assert err.count("\n") == 1


def test_config_typos_warn_and_wrong_values_exit_2(cwd):
    def pith(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("PITH_", "OPENROUTER_"))}
        return subprocess.run(
            [sys.executable, "-m", "pith", "--data-dir", str(cwd / "d"), *args],
            cwd=cwd,
            env=clean | (env or {}),
            capture_output=True,
            text=True,
            check=False,
        )

    write_tree(cwd / "proj", HEALTHY)
    (cwd / "proj" / "pyproject.toml").write_text("[tool.pith]\nconcurency = 4\n")
    result = pith("extract", "proj")
    assert result.returncode == 0
    assert "unknown key [tool.pith] 'concurency' is ignored; did you mean 'concurrency'?" in (
        result.stderr
    )
    for table, key in (("exclude = [1, 2]", "exclude"), ("model = 42", "model")):
        (cwd / "proj" / "pyproject.toml").write_text(f"[tool.pith]\n{table}\n")
        result = pith("extract", "proj")
        assert result.returncode == 2
        assert f"[tool.pith] {key} must be" in result.stderr
    (cwd / "pyproject.toml").write_text('[tool.pith]\napi-key = "sk-secret"\n')
    result = pith("generate", "--estimate")
    assert result.returncode == 2
    assert "never reads the API key from a TOML file" in result.stderr
    assert "sk-secret" not in result.stderr
    (cwd / "pyproject.toml").unlink()
    for name, value in (("PITH_TIMEOUT", "inf"), ("PITH_CONCURRENCY", "100000")):
        result = pith("generate", "--estimate", env={name: value})
        assert result.returncode == 2, (name, result.stderr)
        assert name in result.stderr
