"""README.md's and docs/benchmarks.md's Python examples run as written."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = [block for name in ("README.md", "docs/benchmarks.md")
          for block in re.findall(r"^```python\n(.*?)^```", (ROOT / name).read_text(), flags=re.S | re.M)]


def test_readme_has_examples():
    assert BLOCKS


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, tmp_path, monkeypatch):
    monkeypatch.setenv("BILINEAR_RESULTS", str(tmp_path / "results"))
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index], f"python block {index + 1}", "exec"), {"__name__": "readme"})
