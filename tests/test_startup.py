"""The commands that only read the store start without the heavy modules (issue 8: a fast start).

How fast they start is measured in benchmarks/bench_startup.py; here, what they import.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

HEAVY = [
    "hashlib",  # trust digests: read commands check no trust
    "tomllib",  # pyproject.toml: only status reads it
    "trio",
    "httpx",
    "rich",
    "stamina",
    "pith._generate._engine",
    "pith._llm._client",
    "pith._extract",
    "pith._generate._prompts",
]

SOURCE = """
try:
    from posixpath import expanduser as home
except ImportError:
    def home(user):
        return user
def home(user):
    return "~" + user
if __debug__:
    def home(user):
        return "/home/" + user
"""


@pytest.fixture
def built(cwd, run):
    (cwd / "proj").mkdir()
    (cwd / "proj" / "pyproject.toml").write_text("[tool.pith]\nfunction-min-lines = 1\n")
    (cwd / "proj" / "mod.py").write_text(SOURCE)
    assert run("extract", "proj")[0] == 0
    assert run("build")[0] == 0
    return cwd / "data"


@pytest.mark.parametrize(
    ("args", "loads"),
    [
        (["--version"], []),
        (["--help"], []),
        # what the next `generate` sends depends on [tool.pith]'s generate globs
        (["status"], ["tomllib"]),
        (["list"], []),
        (["show", "mod.py"], []),
        # a function's page says "Defined 3 times", which the prompt builder words
        (["show", "mod.py:home"], ["pith._generate._prompts"]),
    ],
)
def test_reading_commands_do_not_import_the_heavy_modules(built, args, loads):
    code = textwrap.dedent(
        f"""
        import sys
        from pith._cli import main
        try:
            main(["--data-dir", {str(built)!r}, *{args!r}])
        except SystemExit as exit:
            assert exit.code == 0, exit.code
        print("\\nimported:", sorted(set({HEAVY!r}) & set(sys.modules)))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"imported: {sorted(loads)}"
    if args[0] == "show" and ":" in args[1]:
        assert "Defined 3 times" in result.stdout


def test_version_imports_neither_click_nor_typing():
    """`pith --version` starts at about the interpreter's own speed (issue 21: <= 2x a bare
    start, in benchmarks/bench_startup.py): it imports neither click nor typing."""
    code = textwrap.dedent(
        """
        import sys
        sys.argv = ["pith", "--version"]
        from pith.__main__ import main
        main()
        print("imported:", sorted({"click", "typing", "attrs", "pith._cli"} & set(sys.modules)))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    from pith import __version__

    assert result.stdout.splitlines() == [f"pith, version {__version__}", "imported: []"]
