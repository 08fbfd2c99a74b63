"""Where the store lives (issue 21, point 1): found as git finds `.git`, made at the project's top.

Every test runs the real command line without --data-dir, from a working directory of its own.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import pytest
import trio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from projects import clean_env, git, write_tree

DOCS = Path(__file__).parent.parent / "docs"
CODE = {
    "lib/pkg/__init__.py": "from .core import connect\n",
    "lib/pkg/core.py": "def connect(url):\n    '''Open a connection.'''\n    return url\n",
    "lib/pkg/util.py": "from .core import connect\n\ndef helper():\n    return connect('y')\n",
    "tools/run.py": "print('a script')\n",
}


@pytest.fixture
def pith(capsys, monkeypatch):
    """The command line in this process, run in ``cwd``: (exit code, stdout, stderr)."""
    from pith._cli import main

    def pith(*args: str, cwd: Path) -> tuple[int, str, str]:
        monkeypatch.chdir(cwd)
        with pytest.raises(SystemExit) as exit_info:
            main(list(args))
        out, err = capsys.readouterr()
        return exit_info.value.code, out, err

    return pith


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = write_tree(tmp_path / "repo", CODE)
    git(root, "init", "-q")
    return root


def test_extract_in_a_subdirectory_makes_the_store_at_the_top_and_others_find_it(pith, repo):
    code, _, err = pith("extract", ".", cwd=repo / "lib")
    assert code == 0, err
    assert (repo / ".pith" / "pith.db").is_file()
    assert not (repo / "lib" / ".pith").exists()
    assert pith("build", cwd=repo / "tools")[0] == 0
    code, out, _ = pith("status", "--json", cwd=repo / "tools")
    status = json.loads(out)
    assert (status["data_dir"], status["root"]) == (str(repo / ".pith"), str(repo / "lib"))
    assert status["nodes"]["file"] == 3
    code, out, _ = pith("show", "pkg/core.py", "--json", cwd=repo / "lib" / "pkg")
    assert (code, json.loads(out)["id"]) == (0, "pkg/core.py")
    # The store is this clone's: git does not see it.
    assert (repo / ".pith" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert ".pith" not in git(repo, "status", "--porcelain", "--untracked-files=all")


def test_extract_of_a_path_elsewhere_makes_the_store_there(pith, repo, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert pith("extract", str(repo / "lib" / "pkg"), cwd=elsewhere)[0] == 0
    assert (repo / ".pith" / "pith.db").is_file()
    assert not (elsewhere / ".pith").exists()
    # Outside git: the store is made in PATH itself.
    plain = write_tree(tmp_path / "plain", {"a.py": "x = 1\n"})
    assert pith("extract", str(plain), cwd=elsewhere)[0] == 0
    assert (plain / ".pith" / "pith.db").is_file()
    assert (plain / ".pith" / ".gitignore").is_file()


def test_a_store_made_where_pith_ran_keeps_serving_its_project(pith, repo, tmp_path):
    """A store made before stores moved to the project's top (in the working directory) still
    holds that project's extraction and prose: extract goes on using it."""
    here = tmp_path / "here"
    here.mkdir()
    assert pith("--data-dir", ".pith", "extract", str(repo), cwd=here)[0] == 0
    assert pith("extract", str(repo), cwd=here)[0] == 0
    assert not (repo / ".pith").exists()
    # Another project is extracted into its own store.
    assert pith("extract", str(repo / "lib"), cwd=here)[0] == 0
    assert (repo / ".pith" / "pith.db").is_file()


def test_a_data_dir_given_is_used_as_given(pith, repo, monkeypatch):
    chosen = repo.parent / "stores" / "mine"
    chosen.parent.mkdir()
    assert pith("--data-dir", str(chosen), "extract", ".", cwd=repo / "lib")[0] == 0
    assert (chosen / "pith.db").is_file()
    assert not (repo / ".pith").exists()
    monkeypatch.setenv("PITH_DATA_DIR", str(chosen))
    assert json.loads(pith("status", "--json", cwd=repo.parent)[1])["data_dir"] == str(chosen)
    # A directory that existed before holds no .gitignore of pith's.
    existing = repo.parent / "existing"
    existing.mkdir()
    assert pith("--data-dir", str(existing), "extract", str(repo), cwd=repo)[0] == 0
    assert not (existing / ".gitignore").exists()


def test_no_store_errors_name_where_they_looked(pith, repo):
    deep = repo / "lib" / "pkg"
    looked = (
        f"no .pith directory in {deep} or above it, up to {repo} (the top of its git work tree)"
    )
    for args in (["list"], ["show", "x.py"], ["context", "x.py"], ["search", "x"], ["build"]):
        code, out, err = pith(*args, cwd=deep)
        assert (code, out) == (2, ""), args
        assert err.startswith(f"pith: error: no pith store: {looked}; run `pith extract PATH`")
        assert err.count("\n") == 1
    code, out, _ = pith("status", cwd=deep)
    assert code == 0
    assert out.splitlines()[0] == f"store: none ({looked})"
    assert "next:  pith extract PATH" in out
    code, _, err = pith("--data-dir", "nowhere", "list", cwd=deep)
    assert err == (
        f"pith: error: no pith database in {deep / 'nowhere'} (--data-dir): "
        "run `pith extract PATH` first\n"
    )


def test_a_store_above_the_git_top_belongs_to_another_project(pith, repo, tmp_path):
    """The search stops at the git work tree's top, as git's own does."""
    assert pith("--data-dir", str(tmp_path / ".pith"), "extract", str(repo), cwd=tmp_path)[0] == 0
    code, _, err = pith("list", cwd=repo / "lib")
    assert code == 2
    assert f"up to {repo} (the top of its git work tree)" in err


def _snippets() -> list[tuple[str, list[str]]]:
    """Every way docs/agents.md tells an agent to start `pith mcp`: (where, command line)."""
    text = (DOCS / "agents.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```json\n(.*?)```", text, re.S):
        server = json.loads(block)["mcpServers"]["pith"]
        found.append(("json", [server["command"], *server["args"]]))
    for line in re.findall(r"^claude mcp add .*$", text, re.M):
        found.append(("claude mcp add", shlex.split(line.split(" -- ", 1)[1])))
    return found


def test_the_docs_give_agents_snippets_without_absolute_paths():
    snippets = _snippets()
    assert len(snippets) >= 3
    for _, command in snippets:
        assert command[0] == "pith"
        assert not any(arg.startswith(("/", "~")) for arg in command[1:]), command


@pytest.mark.parametrize("snippet", range(3))
async def test_every_agent_snippet_serves_any_clone(snippet, repo, tmp_path):
    """The command of each snippet, started as the agents start it: Claude Code in the
    directory it was launched in (here a subdirectory of the clone), Cursor with
    ``${workspaceFolder}`` replaced by the clone's directory, in a working directory of its
    own (Cursor does not promise the workspace)."""
    from projects import run_pith

    clone = tmp_path / "clone-of-a-teammate"
    repo.rename(clone)
    assert run_pith("extract", ".", cwd=clone / "lib", env=clean_env()).returncode == 0
    assert run_pith("build", cwd=clone, env=clean_env()).returncode == 0
    _, command = _snippets()[snippet]
    uses_workspace = any("${workspaceFolder}" in arg for arg in command)
    args = [arg.replace("${workspaceFolder}", str(clone)) for arg in command[1:]]
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "pith", *args],
        env=clean_env(),
        cwd=tmp_path if uses_workspace else clone / "tools",
    )
    with trio.fail_after(60):
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool("node", {"id": "pkg/core.py"})
    text = result.content[0].text  # type: ignore[union-attr]
    assert (bool(result.is_error), text.splitlines()[0]) == (False, "# `pkg/core.py`")


@pytest.mark.filterwarnings("default::pith._config.ConfigWarning")  # shown, as outside pytest
def test_a_checkouts_env_keeps_the_store_inside_it(pith, repo):
    """A cloned codebase's .env may not put the store (and the .gitignore pith writes into a
    directory it creates) outside the project."""
    outside = repo.parent / "elsewhere"
    (repo / ".env").write_text(f"PITH_DATA_DIR={outside}\n")
    code, _, err = pith("extract", ".", cwd=repo)
    assert code == 0
    assert not outside.exists()
    assert "PITH_DATA_DIR" in err
    assert "ignored" in err
    assert (repo / ".pith" / "pith.db").is_file()
    # One inside the project is followed.
    (repo / ".env").write_text("PITH_DATA_DIR=.store\n")
    assert pith("extract", ".", cwd=repo)[0] == 0
    assert (repo / ".store" / "pith.db").is_file()
    # So is the user's own word, from the environment.
    assert pith("--data-dir", str(outside), "extract", ".", cwd=repo)[0] == 0
    assert (outside / "pith.db").is_file()
