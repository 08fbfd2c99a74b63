"""The command line: parse the arguments, call the library, render the result. No logic lives here.

Exit codes: 0 success; 1 runtime failure; 2 usage or configuration error; 130 interrupted.
stdout carries results; stderr carries progress, warnings and errors.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import attrs
import click

from .._config import (
    DEFAULT_BASE_URL,
    DEFAULT_MODEL,
    STORE_DIR,
    Settings,
    git_top,
    load_settings,
    locate_data_dir,
)
from .._errors import PithError, UsageError
from .._version import __version__
from .._wiki._limits import DEFAULT_BUDGET, MAX_BUDGET, MAX_SEARCH_LIMIT, MIN_BUDGET
from .._words import plural

if TYPE_CHECKING:
    from .._extract import ExtractSummary
    from .._wiki._ask import Briefing
    from .._wiki._read import Context, Impact, WikiReader

# Commands import what they need inside their function: trio, httpx, rich and the generator
# cost ~0.3 s to import, which `pith --version`, `status`, `list` and `show` should not pay.

__all__ = ["cli", "main"]

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM

DATA_DIR_HELP = (
    "The store's directory. Default: $PITH_DATA_DIR, else the nearest .pith here or above, up "
    "to the git work tree's top; extract PATH makes it at the top of PATH's work tree."
)

_Handler = Callable[[int, FrameType | None], Any] | int | None  # as signal.getsignal returns


@attrs.define
class _Signals:
    """How the command line takes SIGINT and SIGTERM.

    SIGTERM ends a command as Ctrl-C does (finished work saved, report written), with its own
    exit code: it is turned into a SIGINT, which Trio delivers where it is safe. Once a run has
    stopped, `defer` holds further interrupts until its report is written: the second Ctrl-C
    of an impatient user costs nothing, and only a third quits without the report.
    """

    terminated: bool = False
    deferred: int = 0  # interrupts received while deferring
    _saved: dict[signal.Signals, _Handler] = attrs.field(factory=dict)

    def install(self) -> None:
        """Take SIGTERM; the previous handlers come back with `restore`."""
        self.terminated, self.deferred = False, 0
        with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
            saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
            signal.signal(signal.SIGTERM, self._on_sigterm)
            self._saved = saved

    def restore(self) -> None:
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)
        self._saved = {}

    def defer(self) -> None:
        """From now on, an interrupt is counted, not raised, until the second one."""
        if self._saved:  # installed: the main thread owns the signals
            signal.signal(signal.SIGINT, self._on_sigint_deferred)

    @property
    def interrupted(self) -> bool:
        """Whether an interrupt arrived while deferring."""
        return self.deferred > 0

    @property
    def exit_code(self) -> int:
        return EXIT_TERMINATED if self.terminated else EXIT_INTERRUPTED

    def _on_sigterm(self, signum: int, frame: object) -> None:
        self.terminated = True
        os.kill(os.getpid(), signal.SIGINT)

    def _on_sigint_deferred(self, signum: int, frame: object) -> None:
        self.deferred += 1
        if self.deferred == 1:
            # os.write: the handler may run while stderr's buffer is mid-write.
            os.write(2, b"pith: still writing the report: Ctrl-C again to quit without it\n")
            return
        signal.signal(signal.SIGINT, signal.default_int_handler)
        raise KeyboardInterrupt


_signals = _Signals()


@attrs.frozen
class CliState:
    """What the group's options hand to every command."""

    data_dir: str | None
    verbosity: int  # -1 quiet, 0 normal, 1 verbose

    def settings(self, **flags: object) -> Settings:
        """Every setting, validated: for the commands that call the LLM endpoint."""
        return load_settings(data_dir=self.data_dir, **flags)  # type: ignore[arg-type]

    def store_settings(self) -> Settings:
        """Only the data dir: commands that never call the endpoint do not fail on a bad
        LLM setting (PITH_CONCURRENCY, PITH_BASE_URL, ...)."""
        where = locate_data_dir(self.data_dir)
        return Settings(
            data_dir=where.path, data_dir_from=where.chosen_by, looked_in=where.looked_in
        )

    def extract_settings(self, root: Path) -> Settings:
        """The data dir of ``extract ROOT``: the one given (--data-dir, PITH_DATA_DIR), else
        ``.pith`` at the top of ROOT's git work tree (ROOT itself when git does not track it),
        unless the store found from the working directory already holds ROOT's extraction
        (a store made where pith was run, before the store moved to the top: its prose is
        kept)."""
        from .._extract._files import git_work_tree
        from .._store import Store

        here = locate_data_dir(self.data_dir)
        if here.given:
            return Settings(data_dir=here.path, data_dir_from=here.chosen_by)
        top = (git_top(root) if git_work_tree(root) else None) or root
        data_dir = top / STORE_DIR
        if not data_dir.exists() and here.found and (here.path / "pith.db").is_file():
            with (
                contextlib.suppress(PithError),
                Store.open(here.path / "pith.db", read_only=True) as store,
            ):
                if store.root == str(root):
                    return Settings(data_dir=here.path, data_dir_from=here.chosen_by)
        return Settings(data_dir=data_dir, data_dir_from=f"the top of {root}'s project")


def pass_state(command: Callable[..., None]) -> Callable[..., None]:
    """`click.pass_obj`, and the group's options are accepted after the command too:
    ``pith status --data-dir X`` and ``pith generate -v`` mean what they mean before it."""

    def with_state(
        state: CliState,
        /,
        *args: object,
        command_data_dir: str | None = None,
        command_verbosity: int | None = None,
        **kwargs: object,
    ) -> None:
        state = attrs.evolve(
            state,
            data_dir=command_data_dir or state.data_dir,
            verbosity=state.verbosity if command_verbosity is None else command_verbosity,
        )
        command(state, *args, **kwargs)

    functools.update_wrapper(with_state, command)  # its name, help and click options
    decorated = click.pass_obj(with_state)
    for option in (
        click.option("-q", "--quiet", "command_verbosity", flag_value=-1, help="Say only errors."),
        click.option("-v", "--verbose", "command_verbosity", flag_value=1, help="Say more."),
        click.option(
            "--data-dir",
            "command_data_dir",
            type=click.Path(file_okay=False),
            default=None,
            help=DATA_DIR_HELP,
        ),
    ):
        decorated = option(decorated)
    return decorated


def _show_warning(message: Warning | str, *args: object, **kwargs: object) -> None:
    """Warnings (a config key pith ignores) as one line on stderr."""
    _err(f"warning: {message}")


def _err(message: str) -> None:
    click.echo(f"pith: {message}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help=DATA_DIR_HELP,
)
@click.option("-v", "--verbose", "verbosity", flag_value=1, help="Say more: a line per item.")
@click.option("-q", "--quiet", "verbosity", flag_value=-1, help="Say only errors.")
@click.version_option(__version__, "--version", prog_name="pith")
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None, verbosity: int | None) -> None:
    """Turn a Python codebase into a wiki that LLM coding agents can read.

    \b
    pith extract PATH   read the code: ast, git history, READMEs (no LLM)
    pith build          turn it into a graph of files, modules and functions
    pith generate       write prose for every node with your LLM endpoint
    pith show ID        read what was written; context, impact, callers, search, ask
    pith serve | mcp    give it to agents over HTTP or MCP; export DIR as Markdown
    """
    ctx.obj = CliState(data_dir=data_dir, verbosity=verbosity or 0)


# --- extract, build, status, list, show ------------------------------------------------------


@cli.command()
@click.argument("path", type=str)
@click.option("--force", is_flag=True, help="Re-parse every file, changed or not.")
@click.option(
    "--include",
    "include",
    multiple=True,
    metavar="GLOB",
    help="Read only files matching a glob (repeatable), e.g. 'src/*'.",
)
@click.option(
    "--exclude",
    "exclude",
    multiple=True,
    metavar="GLOB",
    help="Skip files matching a glob (repeatable), e.g. 'tests/*' or 'test_*.py'.",
)
@click.option(
    "--allow-empty", is_flag=True, help="Go ahead when no source file matches (drops every node)."
)
@click.option(
    "--retarget", is_flag=True, help="Let this data dir switch to another PATH (prose is kept)."
)
@pass_state
def extract(
    state: CliState,
    path: str,
    force: bool,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    allow_empty: bool,
    retarget: bool,
) -> None:
    """Read the codebase at PATH: ast facts, git history, READMEs (no LLM)."""
    from .._extract import check_root
    from .._extract import extract as run_extract
    from .._store import Store

    root = check_root(path)  # before creating a database for a mistyped PATH
    settings = state.extract_settings(root)
    with _progress(state, "Extracting") as on_progress, Store.open(settings.db_path) as store:
        summary = run_extract(
            path,
            store,
            force=force,
            include=include,
            exclude=exclude,
            data_dir=settings.data_dir,
            on_progress=on_progress,
            allow_empty=allow_empty,
            retarget=retarget,
        )
    _render_extract(state, summary)


@cli.command()
@click.option("--force", is_flag=True, help="Rebuild even when nothing changed.")
@pass_state
def build(state: CliState, force: bool) -> None:
    """Turn the extracted facts into the graph of files, modules and functions."""
    from .._build import build as run_build
    from .._models import NodeType
    from .._store import open_store

    with open_store(state.store_settings(), require="extracted") as store:
        summary = run_build(store, force=force)
    if state.verbosity >= 0:
        nodes = summary.nodes
        verb = "Unchanged" if summary.unchanged else "Built"
        click.echo(
            f"{verb}: {plural(nodes[NodeType.FILE], 'file')}, "
            f"{plural(nodes[NodeType.MODULE], 'module')}, "
            f"{plural(nodes[NodeType.FUNCTION], 'function')}, {plural(summary.edges, 'edge')}; "
            f"{plural(summary.removed, 'node')} removed; prose {summary.prose_current} current, "
            f"{summary.prose_stale} stale; {summary.seconds:.1f} s"
        )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_state
def status(state: CliState, as_json: bool) -> None:
    """What is extracted, built and written."""
    from .._store import Store
    from .._wiki import _views

    settings = state.store_settings()
    if settings.db_path.exists():
        with Store.open(settings.db_path, read_only=True) as store:
            data = {"data_dir": str(settings.data_dir), **_views.status(store)}
        no_store = None
    else:
        data = {"data_dir": None, **_views.empty_status()}
        no_store = settings.where_looked()
    if as_json:
        _echo_json(data)
    else:
        click.echo(_views.status_text(data, no_store=no_store))


@cli.command(name="list")
@click.option(
    "--type",
    "node_type",
    type=click.Choice(["file", "module", "function"]),
    default=None,
    help="Only nodes of this type.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_state
def list_nodes(state: CliState, node_type: str | None, as_json: bool) -> None:
    """Every node, sorted by id, with its summary when written."""
    from .._models import NodeType
    from .._store import open_store
    from .._wiki import _views

    with open_store(state.store_settings(), require="built", read_only=True) as store:
        rows = _views.node_list(store, None if node_type is None else NodeType(node_type))
    if as_json:
        _echo_json(rows)
    else:
        click.echo(_views.list_text(rows), nl=False)


@cli.command()
@click.argument("node_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_state
def show(state: CliState, node_id: str, as_json: bool) -> None:
    """A node: its facts, edges and prose (Markdown)."""
    from .._store import open_store
    from .._wiki import _views
    from .._wiki._limits import check_id

    check_id(node_id)
    with open_store(state.store_settings(), require="built", read_only=True) as store:
        if as_json:
            _echo_json(_views.node_view(store, node_id, with_source=True))
            return
        page = _views.node_page(store, node_id)
    if sys.stdout.isatty():
        import rich.console
        import rich.markdown

        rich.console.Console().print(rich.markdown.Markdown(page))
    else:
        click.echo(page, nl=False)


_BUDGET_OPTION = click.option(
    "--budget",
    type=click.IntRange(MIN_BUDGET, MAX_BUDGET),
    default=DEFAULT_BUDGET,
    show_default=True,
    help="At most this many tokens of Markdown (characters / 4, as --estimate counts).",
)


@cli.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@_BUDGET_OPTION
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_state
def context(state: CliState, files: tuple[str, ...], budget: int, as_json: bool) -> None:
    """What to read before changing FILEs: their prose, functions, modules, neighbours, tests."""
    _answer_within(state, lambda reader: reader.context(files), budget, as_json=as_json)


@cli.command()
@click.argument("node_id", metavar="ID")
@_BUDGET_OPTION
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_state
def impact(state: CliState, node_id: str, budget: int, as_json: bool) -> None:
    """What a change to ID can break: the files that import it, nearest first, and their tests."""
    _answer_within(state, lambda reader: reader.impact(node_id), budget, as_json=as_json)


def _answer_within(
    state: CliState,
    question: Callable[[WikiReader], Context | Impact],
    budget: int,
    *,
    as_json: bool,
) -> None:
    """Ask the read layer on the built store; print the JSON, or the Markdown within budget."""
    from .._store import open_store
    from .._wiki._read import WikiReader

    with open_store(state.store_settings(), require="built", read_only=True) as store:
        answer = question(WikiReader(store))
    if as_json:
        _echo_json(answer.to_json())
    else:
        click.echo(answer.to_markdown(budget), nl=False)


_PATH_OPTION = click.option(
    "--path", "path_glob", metavar="GLOB", help="Only files matching GLOB (a dir/ for below it)."
)
_TESTS_OPTION = click.option("--tests", is_flag=True, help="Only test files.")


@cli.command()
@click.argument("node_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_state
def callers(state: CliState, node_id: str, as_json: bool) -> None:
    """Who uses ID (a symbol id or bare name, or a file): file, line, caller, the line; tests
    apart, with the command that runs them."""
    from .._store import open_store
    from .._wiki._read import WikiReader

    with open_store(state.store_settings(), require="built", read_only=True) as store:
        answer = WikiReader(store).callers(node_id)
    if as_json:
        _echo_json(answer.to_json())
    else:
        click.echo(answer.to_markdown(), nl=False)


@cli.command()
@click.argument("query")
@click.option(
    "--limit", type=click.IntRange(1, MAX_SEARCH_LIMIT), default=10, help="At most N results."
)
@click.option(
    "--type",
    "node_type",
    type=click.Choice(["file", "module", "function"]),
    default=None,
    help="Only nodes of this type.",
)
@_PATH_OPTION
@_TESTS_OPTION
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_state
def search(
    state: CliState,
    query: str,
    limit: int,
    node_type: str | None,
    path_glob: str | None,
    tests: bool,
    as_json: bool,
) -> None:
    """Nodes and symbols ranked for QUERY: exact names first, source before tests."""
    from .._models import NodeType
    from .._store import open_store
    from .._wiki._read import WikiReader, hits_markdown

    kind = NodeType(node_type) if node_type else None
    with open_store(state.store_settings(), require="built", read_only=True) as store:
        hits = WikiReader(store).search(query, limit, type=kind, path=path_glob, tests=tests)
    if as_json:
        _echo_json([hit.to_json() for hit in hits])
    else:
        click.echo(hits_markdown(query, hits), nl=False)


@cli.command()
@click.argument("question")
@_BUDGET_OPTION
@_PATH_OPTION
@_TESTS_OPTION
@click.option(
    "--answer",
    "with_answer",
    is_flag=True,
    help="Also have the configured LLM answer from the briefing, citing file:line.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_state
def ask(
    state: CliState,
    question: str,
    budget: int,
    path_glob: str | None,
    tests: bool,
    with_answer: bool,
    as_json: bool,
) -> None:
    """What to read for a task in English: the files and symbols that matter, why, where
    (file:line), their tests and importers, packed to a token budget. Local; no model unless
    --answer (without an LLM configured, --answer gives the briefing alone)."""
    from .._store import open_store
    from .._wiki._read import WikiReader

    with open_store(state.store_settings(), require="built", read_only=True) as store:
        briefing = WikiReader(store).ask(question, budget, path=path_glob, tests=tests)
    if as_json:
        answer = _answer(state, briefing) if with_answer else None
        _echo_json(briefing.to_json() | ({"answer": answer} if with_answer else {}))
        return
    # The briefing first: it is on the screen while the model writes (and kept if it fails).
    click.echo(briefing.markdown, nl=False)
    if with_answer:
        _answer(state, briefing, streamed=True)


def _answer(state: CliState, briefing: Briefing, *, streamed: bool = False) -> str | None:
    """The configured LLM's answer to the briefing; None (said on stderr) without one.
    ``streamed``: written to stdout under an ``## Answer`` heading as it arrives."""
    import trio

    from .._llm import LLMClient
    from .._wiki._ask import write_answer

    settings = state.settings()
    if settings.needs_api_key and not settings.api_key:
        click.echo(
            "pith: no LLM configured (PITH_API_KEY, or PITH_BASE_URL for a local server):"
            " the briefing alone",
            err=True,
        )
        return None
    client = LLMClient.from_settings(settings)

    def show(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    async def run() -> str:
        async with client:
            return await write_answer(client, briefing, show if streamed else None)

    if streamed:
        show("\n## Answer\n\n")
    answer = trio.run(run)
    if streamed:
        show("\n")
    return answer


@cli.command()
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--format",
    "export_format",
    type=click.Choice(["markdown"]),
    default="markdown",
    help="The only format so far: Markdown pages with relative links.",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace files in DIR that pith did not write (or that were edited since).",
)
@pass_state
def export(state: CliState, directory: Path, export_format: str, overwrite: bool) -> None:
    """Write the wiki as static files in DIR: index.md and one page per node.

    A rerun replaces and removes only the pages pith wrote there; another file in the way
    stops it before it writes anything, unless --overwrite.
    """
    from .._store import open_store
    from .._wiki._export import export_markdown

    with open_store(state.store_settings(), require="built", read_only=True) as store:
        summary = export_markdown(store, directory, overwrite=overwrite)
    if state.verbosity >= 0:
        click.echo(
            f"Exported {plural(summary.pages, 'page')} to {summary.directory} "
            f"({plural(summary.removed, 'old page')} removed); start at index.md",
            err=True,
        )


@cli.command()
@click.option(
    "-c",
    "--concurrency",
    default=None,
    metavar="N",
    help="LLM calls in flight at once: an integer from 1 to 1000 (default: $PITH_CONCURRENCY, "
    "else 5).",
)
@click.option(
    "-m",
    "--model",
    default=None,
    help=f"Model name (default: $PITH_MODEL, else {DEFAULT_MODEL}).",
)
@click.option(
    "--node",
    "node_ids",
    multiple=True,
    metavar="ID",
    help="Write only this node, current or not (repeatable).",
)
@click.option("--force", is_flag=True, help="Rewrite every node, even those that are current.")
@click.option(
    "--no-adapt",
    is_flag=True,
    help="Keep -c fixed instead of lowering it on rate limits (pauses still apply).",
)
@click.option("--estimate", is_flag=True, help="Print tokens and cost; call nothing, need no key.")
@click.option("--dry-run", is_flag=True, help="Like --estimate, and list the nodes.")
@click.option(
    "--base-url",
    default=None,
    metavar="URL",
    help=f"OpenAI-compatible endpoint (default: $PITH_BASE_URL, else {DEFAULT_BASE_URL}).",
)
@click.option(
    "--timeout",
    default=None,
    metavar="SECONDS",
    help="Read timeout of one LLM call (default: $PITH_TIMEOUT, else 120).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Write a JSON report of the run to FILE.",
)
@click.option(
    "--path",
    "paths",
    multiple=True,
    metavar="GLOB",
    help="Write only nodes under these paths (repeatable), tests and examples too: 'tests/*'.",
)
@pass_state
def generate(
    state: CliState,
    concurrency: str | None,
    model: str | None,
    node_ids: tuple[str, ...],
    paths: tuple[str, ...],
    force: bool,
    no_adapt: bool,
    estimate: bool,
    dry_run: bool,
    base_url: str | None,
    timeout: str | None,
    report_path: Path | None,
) -> None:
    """Write prose for every node whose prose is missing or stale.

    Source code by default: tests and examples (tests/, docs_src/, examples/, ...) stay in the
    graph, for test links and callers, and get prose when --path or [tool.pith] generate names
    them.

    The API key comes from PITH_API_KEY (or OPENROUTER_API_KEY) in the environment, or ./.env
    once trusted (`pith trust`); never from a flag. A local endpoint (PITH_BASE_URL or
    --base-url on localhost) needs none. -m, --base-url, -c and --timeout default to
    PITH_MODEL, PITH_BASE_URL, PITH_CONCURRENCY and PITH_TIMEOUT, then to the project's
    [tool.pith] (the first three once trusted) and your config.toml (docs/configuration.md).

    -c is the most calls in flight; on rate limits (HTTP 429) the run pauses as the provider
    asks and lowers its concurrency, then raises it again while calls succeed.
    """
    import rich.console

    from .._build import build as run_build
    from .._generate._estimate import estimate as estimate_cost
    from .._generate._run import GenerationInterrupted, run_generation
    from .._generate._selection import select_nodes
    from .._store import open_store
    from ._console import (
        GenerateProgress,
        estimate_lines,
        failure_lines,
        left_out_lines,
        summary_line,
    )

    settings = state.settings(
        model=model, base_url=base_url, timeout=timeout, concurrency=concurrency
    )
    if report_path is not None and not report_path.parent.is_dir():
        raise UsageError(f"--report {report_path}: directory {report_path.parent} does not exist")
    with open_store(settings, require="extracted") as store:
        # Facts extracted since the last build would be written about with an old graph.
        built = run_build(store)
        if not built.unchanged and state.verbosity >= 0:
            _err("the facts changed since the last build: built the graph first")
        selection = select_nodes(store, node_ids=node_ids, force=force, paths=paths)
        if estimate or dry_run:
            cost = estimate_cost(store, selection, settings.model)
            for line in estimate_lines(cost, settings, selection, list_nodes=dry_run):
                click.echo(line)
            return
        settings.require_api_key()
        if not selection:
            if state.verbosity >= 0:
                _err("nothing to generate: every node's prose is current (--force rewrites)")
                for line in left_out_lines(selection):
                    _err(line)
            return
        console = rich.console.Console(stderr=True)
        interrupted: GenerationInterrupted | None = None
        with GenerateProgress(len(selection), verbosity=state.verbosity, console=console) as bar:
            try:
                report = run_generation(
                    store,
                    settings,
                    selection,
                    on_progress=bar.update,
                    on_retry=bar.retry if state.verbosity > 0 else None,
                    adaptive=not no_adapt,
                )
            except GenerationInterrupted as exc:
                report, interrupted = exc.report, exc
                _signals.terminated |= exc.terminated  # SIGTERM came through Trio's receiver
            finally:
                _signals.defer()  # what was paid for is now reported, even on a second Ctrl-C
    if report_path is not None:
        report.write(report_path)
    if state.verbosity >= 0 or report.failed or interrupted is not None:
        click.echo(summary_line(report), err=True)
        for line in failure_lines(report):
            click.echo(line, err=True)
    if interrupted is not None:
        _err(str(interrupted))
        sys.exit(_signals.exit_code)
    if _signals.interrupted:  # the run had finished; the report is written
        _err("interrupted")
        sys.exit(_signals.exit_code)
    if report.failed:
        sys.exit(EXIT_FAILURE)


@cli.command()
@pass_state
def prune(state: CliState) -> None:
    """Delete the prose of nodes that no longer exist (kept until now: it was paid for)."""
    from .._store import open_store

    with open_store(state.store_settings(), require="extracted") as store:
        deleted = store.prune_prose()
    if state.verbosity >= 0:
        click.echo(f"Pruned the prose of {plural(deleted, 'node')} that no longer exist", err=True)


@cli.command()
@click.option("--revoke", is_flag=True, help="Forget the trust given to this directory.")
@pass_state
def trust(state: CliState, revoke: bool) -> None:
    """Let ./.env and ./pyproject.toml choose the endpoint, model, concurrency and key.

    A codebase's own files are not trusted with where your key goes: until you run this in a
    directory, their base-url, model, concurrency and API key are ignored (with a warning).
    The trust holds for these values only: change one and it must be given again.
    """
    from .. import _trust
    from .._config import project_settings

    here = Path.cwd()
    if revoke:
        had = _trust.revoke(here)
        if state.verbosity >= 0:
            click.echo(f"{here}: {'trust revoked' if had else 'was not trusted'}", err=True)
        return
    project = project_settings(here)
    if not project.values:
        click.echo(
            f"{here}: nothing to trust: ./.env and ./pyproject.toml [tool.pith] set no "
            "endpoint, model, concurrency or key",
            err=True,
        )
        return
    _trust.trust(project)
    if state.verbosity >= 0:
        sources = ", ".join(project.sources[key] for key in sorted(project.sources))
        click.echo(f"{here}: trusted {sources}", err=True)


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Another than loopback is said in a warning: anyone who can "
    "reach it may read the wiki.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8787,
    show_default=True,
    help="Port (0: any free port).",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="NAME",
    help="Also answer requests whose Host header is NAME (repeatable). By default only "
    "loopback names (localhost, 127.0.0.1, ::1) and --host are answered; others get a 403.",
)
@click.option(
    "--generate-missing",
    is_flag=True,
    help="Write a node's missing prose when it is asked for (needs the endpoint and key). A "
    "node whose attempt failed is not tried again for 10 minutes.",
)
@click.option(
    "--generate-budget",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    metavar="CALLS",
    help="With --generate-missing: at most CALLS LLM calls (retries included) for the life "
    "of the server; past it, pages are served without new prose.",
)
@pass_state
def serve(
    state: CliState,
    host: str,
    port: int,
    allow_hosts: tuple[str, ...],
    generate_missing: bool,
    generate_budget: int,
) -> None:
    """Serve the wiki over HTTP until Ctrl-C or SIGTERM.

    \b
    GET /                 the endpoints
    GET /node/ID          one node's page
    GET /context?files=a.py,b.py
                          what to read before changing those files
    GET /impact/ID        what imports it, nearest first
    GET /callers/ID       who uses a symbol or file: file, line, caller; tests apart
    GET /search?q=WORDS&limit=N
                          nodes ranked by relevance
    POST /query           {"question", "budget"?, "path"?, "tests"?}: pith ask's answer
    GET /health           {"status", "project", "nodes"}

    Answers are JSON, or Markdown with ?format=md. Read-only unless --generate-missing,
    which writes the prose asked for (the endpoint and key of `pith generate`).
    """
    from .._wiki._serve import serve as run_server

    settings = state.settings() if generate_missing else state.store_settings()
    if generate_missing:
        settings.require_api_key()
    stopped_by = run_server(
        settings,
        host=host,
        port=port,
        generate_missing=generate_missing,
        on_ready=lambda url: _err(f"serving {url}"),
        allow_hosts=allow_hosts,
        generate_budget=generate_budget,
    )
    _exit_on_signal(stopped_by)


@cli.command()
@pass_state
def mcp(state: CliState) -> None:
    """Serve the wiki to a coding agent as an MCP server on stdio (tools: context, node,
    search, impact, callers) until stdin closes, Ctrl-C or SIGTERM. Without a built store it starts
    anyway and answers each call with what to run first."""
    from .._wiki._mcp import serve_stdio

    _exit_on_signal(serve_stdio(state.store_settings()))


def _exit_on_signal(signum: int) -> None:
    """A server stopped by a signal exits as an interrupted command does."""
    if signum:
        _err("interrupted")
        sys.exit(EXIT_TERMINATED if signum == signal.SIGTERM else EXIT_INTERRUPTED)


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@contextlib.contextmanager
def _progress(state: CliState, label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr when it is a terminal (and not -q); else no callback."""
    if state.verbosity < 0 or not sys.stderr.isatty():
        yield None
        return
    import rich.console
    import rich.progress

    console = rich.console.Console(stderr=True)
    with rich.progress.Progress(
        rich.progress.TextColumn(label),
        rich.progress.BarColumn(),
        rich.progress.MofNCompleteColumn(),
        rich.progress.TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def on_progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield on_progress


def _render_extract(state: CliState, summary: ExtractSummary) -> None:
    if state.verbosity < 0:
        return
    for skipped in summary.skipped:
        click.echo(f"skipped {skipped.path}: {skipped.reason}")
    source = "git" if summary.in_git else "directory walk"
    click.echo(
        f"Extracted {summary.root} ({summary.files} source files, {source}): "
        f"{summary.parsed} parsed, {summary.unchanged} unchanged, "
        f"{len(summary.skipped)} skipped, {summary.deleted} deleted; {summary.seconds:.1f} s"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line and exit with its code; errors become one line on stderr."""
    try:
        _run(list(sys.argv[1:] if argv is None else argv))
    finally:
        _signals.restore()


def _run(args: list[str]) -> None:
    warnings.showwarning = _show_warning
    try:
        _signals.install()
        code = cli.main(args=args, prog_name="pith", standalone_mode=False)
    except click.exceptions.Abort:
        _err("interrupted")
        sys.exit(_signals.exit_code)
    except KeyboardInterrupt:
        _err("interrupted")
        sys.exit(_signals.exit_code)
    except BaseExceptionGroup as group:
        # Trio delivers Ctrl-C into whichever task runs; a nursery wraps it in a group.
        if group.subgroup(KeyboardInterrupt) is None:
            raise
        _err("interrupted")
        sys.exit(_signals.exit_code)
    except click.UsageError as exc:
        # One error style for every mistake: click's own included.
        where = exc.ctx.command_path if exc.ctx is not None else "pith"
        _err(f"error: {exc.format_message()} (see `{where} --help`)")
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except UsageError as exc:
        _err(f"error: {exc}")
        sys.exit(EXIT_USAGE)
    except PithError as exc:
        _err(f"error: {exc}")
        sys.exit(EXIT_FAILURE)
    except Exception as exc:
        # A bug in pith: one line, and the traceback only when asked for.
        command = next((a for a in args if a in cli.commands), "pith")
        if "-v" in args or "--verbose" in args:
            import traceback  # only for a bug: read commands start without it

            traceback.print_exc()
        what = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        _err(
            f"internal error in {command}: {what}; run with -v for the traceback "
            "and please report it"
        )
        sys.exit(EXIT_FAILURE)
    sys.exit(code if isinstance(code, int) else 0)
