"""Developer sessions: `nox` runs tests, lint and typecheck; `nox -s bench` runs the benchmarks."""

import shutil
import subprocess
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

HERE = Path(__file__).parent


@nox.session
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    _cache_npm_corpus(session)
    session.run("pytest", *session.posargs)


def _cache_npm_corpus(session: nox.Session) -> None:
    """Put the npm packages of tests/npm-corpus.txt in npm's cache, so that the corpus test
    reads them without the network; without npm or the registry, those tests skip."""
    npm = shutil.which("npm")
    if npm is None:
        session.log("npm not found: the TypeScript/JavaScript corpus tests will skip")
        return
    corpus = (HERE / "tests" / "npm-corpus.txt").read_text().splitlines()
    specs = [line.strip() for line in corpus if line.strip() and not line.startswith("#")]
    result = subprocess.run([npm, "cache", "add", *specs], capture_output=True, check=False)
    if result.returncode != 0:
        session.log("npm cache add failed: the corpus tests of packages not cached will skip")


@nox.session
def lint(session: nox.Session) -> None:
    session.install(".[lint]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[typecheck]")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Run every benchmark; each prints its measured figure next to its bound."""
    session.install("-e", ".")
    scripts = sorted((HERE / "benchmarks").glob("bench_*.py"))
    if session.posargs:
        scripts = [s for s in scripts if any(a in s.name for a in session.posargs)]
    for script in scripts:
        session.run("python", str(script))
