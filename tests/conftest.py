"""Test-wide settings."""

import os
import signal

import pytest
from hypothesis import HealthCheck, settings

# Speed lives in benchmarks, not in tests: on a loaded 2-core CI machine, hypothesis's timing
# checks (per-example deadline, slow input generation) would fail tests that are correct.
settings.register_profile(
    "pith", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("pith")

# A suite started in the background (`.ci/run &`: the shell ignores SIGINT for it) would hand
# that on to every pith process a test starts, and the Ctrl-C tests would see no Ctrl-C. A
# handler of its own (not inherited across exec) gives those processes the default again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _no_caller_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test depends on the caller's environment: every variable pith reads is cleared, and
    the user's config dir (config.toml, trusted projects) is an empty one of the test's own
    (subprocesses started by a test inherit both)."""
    for name in list(os.environ):
        if name.startswith(("PITH_", "OPENROUTER_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("user-config")))


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    """An empty working directory: no .env or pyproject.toml of the developer leaks in."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def run(cwd, capsys):
    """Run the command line in this process on the data dir ``cwd/data``: (exit code, stdout,
    stderr)."""
    from pith._cli import main

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exit_info:
            main(["--data-dir", str(cwd / "data"), *args])
        out, err = capsys.readouterr()
        return exit_info.value.code, out, err

    return run
