"""`make bench` is the project's performance record: every module of it must import (a
moved helper once broke `python -m bench load` and `cpu` without a test noticing)."""

from __future__ import annotations

import importlib
import pkgutil

import bench
import pytest


@pytest.mark.parametrize("name", sorted(m.name for m in pkgutil.iter_modules(bench.__path__)))
def test_every_bench_module_imports(name: str) -> None:
    importlib.import_module(f"bench.{name}")
