"""Helpers of the campaign tests: a tiny spec, and fixtures for `python -m discovery` subprocesses."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def spec_text(catalog: str, name: str = "t", units: int = 4, steps: int = 1500, walks: int = 16, extra: str = "") -> str:
    return f"""
[campaign]
name = "{name}"
catalog = "{catalog}"
{extra}
[[job]]
name = "f2"
problem = "2x2x2"
rank = 7
engine = "flip"
field = "F2"
units = {units}
seed = 5
[job.options]
walks = {walks}
max_steps = {steps}
stop_after = 1000
"""


@pytest.fixture
def cli_env():
    """Environment for `python -m discovery` subprocesses that import this worktree."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


@pytest.fixture
def python():
    return sys.executable
