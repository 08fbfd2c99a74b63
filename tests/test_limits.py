"""The bounds of a question to the wiki (`pith._wiki._limits`), through the command line: one line,
exit 2, the input not repeated back (issue 23, point 10)."""

from __future__ import annotations

import pytest
from sample_project import built_store


@pytest.fixture
def built(cwd):
    built_store(cwd).close()


@pytest.mark.parametrize(
    ("args", "bound"),
    [
        (["search", "connect " + "a" * 50_000], "1,000 characters"),
        (["show", "x" * 9_000], "8,192 characters"),
        (["context", *(["app.py"] * 51)], "at most 50 files"),
        (["context", "x" * 9_000], "8,192 characters"),
    ],
)
def test_an_input_over_its_bound_is_one_line_and_exit_2(built, run, args, bound):
    code, out, err = run(*args)
    assert code == 2
    assert out == ""
    assert err.startswith("pith: error: ")
    assert bound in err
    assert err.count("\n") == 1
    assert len(err) < 300


def test_inputs_within_their_bounds_are_answered(built, run):
    code, out, _ = run("search", "connect " + "a" * 900)
    assert code == 0
    code, out, _ = run("context", *(["app.py"] * 50))
    assert code == 0
    assert out.startswith("# `app.py`")
