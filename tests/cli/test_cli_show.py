"""``bilinear show``: header, costs and sections."""

from discovery.algebra.literature import strassen_winograd
from discovery.cli import main
from discovery.io.formats import save_json


def test_bilinear_show_prints_costs(tmp_path, capsys):
    path = save_json(strassen_winograd(), tmp_path / "sw.json")
    assert main(["show", str(path)]) == 0
    text = capsys.readouterr().out
    assert "15 after eliminating common subexpressions" in text
    assert "fp32 39.4 pJ" in text
