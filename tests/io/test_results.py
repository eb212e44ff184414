"""Every file in results/ is re-verified: exactly and symbolically."""

from pathlib import Path

import pytest

from discovery.io.formats import load_json
from verify import verify_exact, verify_symbolic

RESULTS = Path(__file__).resolve().parents[2] / "results"
FILES = sorted(p for p in RESULTS.rglob("*.json"))


def test_catalog_is_not_empty():
    assert FILES, "results/ holds no schemes"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(RESULTS)))
def test_result_file_verifies(path):
    scheme = load_json(path)
    exact = verify_exact(scheme)
    assert exact.ok, exact.reason
    symbolic = verify_symbolic(scheme)
    assert symbolic.ok, symbolic.reason
    assert path.parent.name == scheme.problem.slug
    assert scheme.fingerprint()[:12] in path.name


def test_no_two_files_hold_the_same_canonical_scheme():
    seen = {}
    for path in FILES:
        key = load_json(path).fingerprint()
        assert key not in seen, f"{path} repeats {seen.get(key)}"
        seen[key] = path
