"""Reading a store on read-only media and on a full disk, and what a full disk says (issue 23,
point 6): a real tmpfs, remounted read-only or filled, in a private mount namespace.

Mounting needs root and ``unshare``; elsewhere these tests are skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sample_project import built_store

PITH = [sys.executable, "-m", "pith"]


def _can_mount() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs tmpfs /mnt && umount /mnt"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _can_mount(), reason="needs root and mount namespaces")


@pytest.fixture
def store_copy() -> Iterator[Path]:
    """A built store's data dir, and an empty mount point beside it."""
    top = Path(tempfile.mkdtemp(prefix="pith-media-"))
    try:
        built_store(top).close()
        (top / "mnt").mkdir()
        yield top
    finally:
        shutil.rmtree(top)


def on_tmpfs(
    top: Path, prepare: str, *commands: list[str]
) -> list[subprocess.CompletedProcess[str]]:
    """Run pith ``commands`` on a copy of ``top/data`` on a fresh tmpfs at ``top/mnt``, after
    the shell lines ``prepare`` (``$M`` is the mount point), in a private mount namespace."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PITH_", "OPENROUTER_"))}
    results = []
    for command in commands:
        script = (
            f"set -e; M={top / 'mnt'}; mount -t tmpfs -o size=1m tmpfs $M;"
            f" cp -r {top / 'data'} $M/data; {prepare}; cd /;"
            f" exec {' '.join(PITH)} --data-dir $M/data {' '.join(command)}"
        )
        results.append(
            subprocess.run(
                ["unshare", "-m", "sh", "-c", script],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
        )
    return results


READING = [["show", "pkg/core.py:connect"], ["search", "connect"], ["context", "app.py"]]


def test_reading_works_on_a_read_only_mount(store_copy: Path) -> None:
    for result in on_tmpfs(store_copy, "mount -o remount,ro $M", *READING):
        assert (result.returncode, result.stderr) == (0, "")
        assert result.stdout.startswith("#")


def test_reading_works_on_a_full_disk_and_writing_says_so_without_advising_a_delete(
    store_copy: Path,
) -> None:
    fill = "dd if=/dev/zero of=$M/fill bs=4k 2>/dev/null || true"
    build, *reads = on_tmpfs(store_copy, fill, ["build", "--force"], *READING)
    assert build.returncode == 1
    assert "delete" not in build.stderr
    assert "check the space left on the disk" in build.stderr
    for result in reads:
        assert (result.returncode, result.stderr) == (0, "")
