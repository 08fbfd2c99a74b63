"""A codebase's own files never choose where the user's key goes (issue 23, point 1).

The end-to-end tests run the real command in a subprocess against two real servers on
127.0.0.1: the user's endpoint (chosen in the environment) and the one a hostile checkout names.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from fakellm import FakeLLM
from projects import clean_env, run_pith
from sample_project import write_project

from pith._config import ConfigWarning, load_settings
from pith._errors import ConfigError

KEY = "sk-or-v1-the-users-own-key-0123456789"


def _settings(cwd: Path, **environ: str) -> tuple[object, list[str]]:
    """load_settings in ``cwd`` with only ``environ`` (and the test's own config dir)."""
    import os

    env = {"XDG_CONFIG_HOME": os.environ["XDG_CONFIG_HOME"], **environ}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        settings = load_settings(cwd=cwd, environ=env)
    return settings, [str(w.message) for w in caught if issubclass(w.category, ConfigWarning)]


def _hostile_checkout(root: Path, url: str) -> Path:
    write_project(root)
    (root / "pyproject.toml").write_text(
        f'[tool.pith]\nbase-url = "{url}"\nmodel = "attacker/model"\nconcurrency = 500\n'
    )
    return root


def test_untrusted_project_settings_are_ignored_with_a_warning(tmp_path: Path) -> None:
    _hostile_checkout(tmp_path, "http://evil.example/v1")
    (tmp_path / ".env").write_text(f"PITH_BASE_URL=http://evil2.example/v1\nPITH_API_KEY={KEY}\n")
    settings, said = _settings(tmp_path)
    assert settings.base_url == "https://openrouter.ai/api/v1"  # type: ignore[attr-defined]
    assert settings.model == "openai/gpt-4o-mini"  # type: ignore[attr-defined]
    assert settings.concurrency == 5  # type: ignore[attr-defined]
    assert settings.api_key is None  # type: ignore[attr-defined]
    assert len(said) == 4
    assert any("./.env PITH_BASE_URL = 'http://evil2.example/v1' is ignored" in s for s in said)
    assert any("./pyproject.toml [tool.pith] model" in s for s in said)
    assert any("./.env PITH_API_KEY = (a key) is ignored" in s for s in said)
    assert all("pith trust" in s for s in said)
    assert not any(KEY in s for s in said)


def test_the_users_own_settings_win_without_a_word(tmp_path: Path) -> None:
    _hostile_checkout(tmp_path, "http://evil.example/v1")
    settings, said = _settings(
        tmp_path, PITH_BASE_URL="http://localhost:11434/v1", PITH_MODEL="m", PITH_CONCURRENCY="3"
    )
    assert settings.base_url == "http://localhost:11434/v1"  # type: ignore[attr-defined]
    assert said == []  # the project's values change nothing: nothing to say


def test_a_project_value_equal_to_the_users_is_not_warned_about(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.pith]\nconcurrency = 5\ntimeout = 30\n")
    settings, said = _settings(tmp_path)
    assert said == []
    assert settings.timeout == 30.0  # type: ignore[attr-defined]  # spends nothing: taken


def test_the_users_config_file_is_read(tmp_path: Path) -> None:
    import os

    config = Path(os.environ["XDG_CONFIG_HOME"]) / "pith"
    config.mkdir(parents=True)
    (config / "config.toml").write_text('base-url = "http://127.0.0.1:9/v1"\nconcurrency = 7\n')
    settings, _ = _settings(tmp_path)
    assert settings.base_url == "http://127.0.0.1:9/v1"  # type: ignore[attr-defined]
    assert settings.concurrency == 7  # type: ignore[attr-defined]
    # An explicit PITH_CONFIG_DIR wins over the platform's dir.
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.toml").write_text('model = "mine"\n')
    settings, _ = _settings(tmp_path, PITH_CONFIG_DIR=str(other))
    assert settings.model == "mine"  # type: ignore[attr-defined]
    # A key in it is refused, naming the file, without echoing the key.
    (other / "config.toml").write_text(f'api-key = "{KEY}"\n')
    with pytest.raises(ConfigError, match="never reads the API key from a TOML file") as info:
        _settings(tmp_path, PITH_CONFIG_DIR=str(other))
    assert KEY not in str(info.value)


def test_trust_applies_to_the_recorded_values_only(tmp_path: Path) -> None:
    project = _hostile_checkout(tmp_path / "mine", "http://127.0.0.1:8080/v1")
    (project / ".env").write_text(f"PITH_API_KEY={KEY}\n")
    result = run_pith("trust", cwd=project, env=clean_env())
    assert result.returncode == 0, result.stderr
    assert "trusted ./.env PITH_API_KEY, ./pyproject.toml [tool.pith] base-url" in result.stderr
    assert KEY not in result.stderr

    settings, said = _settings(project)
    assert said == []
    assert settings.base_url == "http://127.0.0.1:8080/v1"  # type: ignore[attr-defined]
    assert settings.api_key == KEY  # type: ignore[attr-defined]
    assert settings.concurrency == 500  # type: ignore[attr-defined]
    # The record holds no key.
    for path in (Path(clean_env()["XDG_CONFIG_HOME"]) / "pith").iterdir():
        assert KEY not in path.read_text()

    # A pull that changes the endpoint is untrusted again.
    text = (project / "pyproject.toml").read_text().replace("8080", "8081")
    (project / "pyproject.toml").write_text(text)
    settings, said = _settings(project)
    assert settings.base_url == "https://openrouter.ai/api/v1"  # type: ignore[attr-defined]
    assert settings.api_key is None  # type: ignore[attr-defined]
    assert said

    # Another directory with the same files is not trusted either.
    twin = tmp_path / "twin"
    twin.mkdir()
    for name in ("pyproject.toml", ".env"):
        (twin / name).write_text((project / name).read_text().replace("8081", "8080"))
    assert _settings(twin)[1]

    assert "trust revoked" in run_pith("trust", "--revoke", cwd=project, env=clean_env()).stderr


def test_a_cloned_repository_does_not_get_the_users_key(tmp_path: Path) -> None:
    """The reported attack: cd checkout && PITH_API_KEY=... pith extract/build/generate."""
    attacker, user = FakeLLM(), FakeLLM(api_key=KEY)
    with attacker.serve() as evil_url, user.serve() as user_url:
        checkout = _hostile_checkout(tmp_path / "checkout", evil_url)
        (checkout / ".env").write_text(f"PITH_BASE_URL={evil_url}\n")
        env = clean_env() | {"PITH_API_KEY": KEY}
        for command in (("extract", "."), ("build",)):
            assert run_pith(*command, cwd=checkout, env=env).returncode == 0

        # The default endpoint is not reachable here; what matters is who was called.
        env_user = env | {"PITH_BASE_URL": user_url}
        result = run_pith("generate", "-c", "2", cwd=checkout, env=env_user)
        assert result.returncode == 0, result.stderr
        assert attacker.calls == []
        assert user.calls
        assert {c.model for c in user.calls} == {"openai/gpt-4o-mini"}
        assert "[tool.pith] model = 'attacker/model' is ignored" in result.stderr
        assert KEY not in result.stderr + result.stdout

        # Trusted on purpose, the project's endpoint is used (the user's PITH_BASE_URL still
        # wins over it: the environment is the user's).
        assert run_pith("trust", cwd=checkout, env=env).returncode == 0
        again = run_pith("generate", "--force", "-c", "2", cwd=checkout, env=env)
        assert again.returncode == 0, again.stderr
        assert attacker.calls
        assert {c.model for c in attacker.calls} == {"attacker/model"}
