import os

import pytest

from discovery import NotExactError, catalog
from discovery.io.formats import load_json
from discovery.algebra.literature import strassen, strassen_winograd
from discovery.algebra.ops import standard_scheme
from discovery.core.problems import correlation, matmul


def test_save_is_verified_deduplicated_and_indexed(tmp_catalog):
    p1 = catalog.save(strassen())
    p2 = catalog.save(strassen().with_meta(provenance={"engine": "other"}))
    assert p1 == p2  # same scheme: first file kept
    assert load_json(p1).meta["provenance"]["engine"] == "literature"
    p3 = catalog.save(strassen_winograd())
    assert p3 != p1 and p3.parent == p1.parent == tmp_catalog / "matmul-2x2x2"
    catalog.save(standard_scheme(correlation(2, 3)))
    rows = catalog.index()
    assert [(r.problem, r.rank) for r in rows] == [("F(2,3)", 6), ("2x2x2", 7), ("2x2x2", 7)]
    assert [s.additions for s in catalog.find(matmul(2, 2, 2))] == [18, 24]
    assert load_json(p1).meta["verified"] == {"exact": True, "symbolic": True}


def test_wrong_scheme_never_enters(tmp_catalog):
    s = strassen()
    W = s.W.copy()
    W[0, 0] = 0
    with pytest.raises(NotExactError, match="not saved"):
        catalog.save(s.replace(W=W))
    assert list(tmp_catalog.rglob("*")) == []


def test_no_partial_files_on_crash(tmp_catalog, monkeypatch):
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "link", boom)
    with pytest.raises(OSError):
        catalog.save(strassen())
    assert [p for p in tmp_catalog.rglob("*") if p.is_file()] == []


def test_index_reports_unreadable_files(tmp_catalog):
    (tmp_catalog / "junk").mkdir()
    (tmp_catalog / "junk" / "bad.json").write_text("{")
    (row,) = catalog.index()
    assert "not valid JSON" in row.error
