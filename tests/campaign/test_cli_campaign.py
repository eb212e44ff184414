"""The CLI of campaigns, comparisons, community imports/exports and `list --distinct`."""

import json


from discovery.algebra.equivalence import invariants, random_transform
from discovery.algebra.literature import strassen
from discovery.cli import main
from discovery.core.problems import matmul
from discovery.io.catalog import find
from discovery.io.community import write

from tests.campaign.campaign_helpers import cli_env, python, spec_text  # noqa: F401 (fixtures)


def _rank23():
    """The catalog's 3x3x3 rank-23 Z schemes, one per rank pattern (pairwise inequivalent)."""
    seen, out = set(), []
    for s in find(matmul(3, 3, 3)):
        pattern = invariants(s).rank_pattern
        if s.field == "Z" and pattern not in seen:
            seen.add(pattern)
            out.append(s)
    return out


def test_malformed_spec_exits_2_naming_the_field(tmp_path, capsys):
    p = tmp_path / "bad.toml"
    p.write_text(spec_text("cat").replace("rank = 7", "rank = -7"))
    assert main(["campaign", "run", str(p)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "bilinear: error: job[1].rank: must be a positive integer, got -7"
    p.write_text(spec_text("cat").replace("walks = 16", "walks = 16\nflips = 3"))
    assert main(["campaign", "status", str(p)]) == 2
    assert "job[1].options: engine 'flip' has no option 'flips'" in capsys.readouterr().err
    assert main(["campaign", "run", str(tmp_path / "none.toml")]) == 2


def test_campaign_run_and_status(tmp_path, capsys):
    p = tmp_path / "c.toml"
    p.write_text(spec_text("cat", name="cli", units=2, steps=800))
    assert main(["campaign", "run", str(p), "--workers", "1", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "2/2 units done" in text and "classes by invariants" in text
    assert main(["campaign", "status", str(p)]) == 0
    text = capsys.readouterr().out
    assert "campaign cli: complete" in text and "2/2 units done" in text


def test_compare_exit_codes_and_transformation(tmp_path, capsys):
    a, b = _rank23()[:2]
    write(a, tmp_path / "a.exp", "exp")
    write(random_transform(a, seed=3)[0], tmp_path / "a2.json", "perminov")
    write(b, tmp_path / "b.m", "maple")
    assert main(["compare", str(tmp_path / "a.exp"), str(tmp_path / "a2.json")]) == 0
    text = capsys.readouterr().out
    assert text.startswith("EQUIVALENT") and "P = [" in text and "order =" in text
    assert main(["compare", str(tmp_path / "a.exp"), str(tmp_path / "b.m")]) == 1
    assert capsys.readouterr().out.startswith("NOT EQUIVALENT: rank patterns differ")
    assert main(["compare", str(tmp_path / "a.exp"), str(tmp_path / "a2.json"), "--max-matchings", "1",
                 "--time-limit", "0.001"]) == 1
    assert "UNDECIDED" in capsys.readouterr().out
    assert main(["compare", str(tmp_path / "a.exp"), str(tmp_path / "missing.json")]) == 2
    assert main(["compare", str(tmp_path / "a.exp"), str(tmp_path / "a2.json"), "--json", "--over", "F2"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["status"] == "equivalent" and len(payload["transformation"]["P"]) == 3


def test_import_a_folder_with_one_bad_file_and_export_each_format(tmp_path, capsys):
    src = tmp_path / "community"
    src.mkdir()
    for i, fmt in enumerate(["perminov", "perminov-txt", "exp", "maple"]):
        ext = {"perminov": "json", "perminov-txt": "txt", "exp": "exp", "maple": "m"}[fmt]
        write(random_transform(_rank23()[0], seed=i)[0], src / f"s{i}.{ext}", fmt)
    (src / "broken.exp").write_text((src / "s2.exp").read_text().replace("a", "b", 1))
    out = tmp_path / "cat"
    assert main(["import", str(src), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "5 files: 4 schemes imported, 0 already in" in captured.out and "1 refused" in captured.out
    assert "REFUSED" in captured.err and "broken.exp" in captured.err
    files = [p for p in out.rglob("*.json") if not p.name.startswith(".")]
    assert len(files) == 4
    assert main(["list", "--distinct", "--root", str(out)]) == 0
    assert "4 schemes, 1 classes" in capsys.readouterr().out
    one = files[0]
    for fmt, ext in (("perminov", "json"), ("perminov-txt", "txt"), ("exp", "exp"), ("maple", "m")):
        target = tmp_path / f"x.{ext}"
        assert main(["export", str(one), "--format", fmt, "--out", str(target)]) == 0
        assert main(["compare", str(one), str(target)]) == 0
    assert main(["export", str(one), "--format", "exp"]) == 0
    assert capsys.readouterr().out.count("\n") >= 23


def test_list_distinct_marks_new_and_equivalent(tmp_path, capsys):
    from discovery.io import catalog
    from discovery.io.classes import class_index

    catalog.save(strassen(), tmp_path)
    catalog.save(random_transform(strassen(), seed=1)[0], tmp_path)
    for s in _rank23()[:2]:
        catalog.save(s, tmp_path)
    rows = class_index(tmp_path)
    assert sorted(r.status for r in rows) == ["equivalent", "new", "new", "new"]
    assert (tmp_path / ".classes.json").exists()
    assert class_index(tmp_path) == rows  # from the cache, the same
    assert main(["list", "--distinct", "--root", str(tmp_path)]) == 0
    assert "4 schemes, 3 classes" in capsys.readouterr().out
