"""The `>>>` examples in zeroipc_rs's docstrings (the package, every class
and method the Rust sources document) run and give what they show."""

from __future__ import annotations

import doctest
from typing import List

import pytest

import zeroipc_rs


def _doctests() -> List[doctest.DocTest]:
    finder = doctest.DocTestFinder()
    found = finder.find(zeroipc_rs)
    for name in zeroipc_rs.__all__:
        found += finder.find(getattr(zeroipc_rs, name), name, globs={})
    return [t for t in found if t.examples]


DOCTESTS = _doctests()


def test_there_are_examples() -> None:
    assert len(DOCTESTS) >= 20


@pytest.mark.parametrize("test", DOCTESTS, ids=[t.name for t in DOCTESTS])
def test_docstring_examples(test: doctest.DocTest) -> None:
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{test.name}: {result.failed} of {result.attempted} examples failed (output above)"
