"""Developer sessions: `nox` runs tests, lint and typecheck; `nox -s bench` runs the benchmarks."""

from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

HERE = Path(__file__).parent


@nox.session
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


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
