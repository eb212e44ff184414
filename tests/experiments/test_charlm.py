"""The character-LSTM experiment: corpus split, model, costs, evaluation and the CLI's checks."""

import json
import math

import pytest
import torch

from discovery.core.errors import InvalidInputError
from discovery.experiments.charlm import CharLM, CharLMData, bits_per_char, charlm_study, rows_as_dicts
from discovery.experiments.corpus import chunk, load_pydoc_corpus, split_of
from discovery.experiments.training import Schedule
from discovery.layers.costs import model_costs


def test_corpus_split_is_deterministic_and_by_topic():
    from pydoc_data.topics import topics

    a, b = load_pydoc_corpus(), load_pydoc_corpus()
    assert a.sha256 == b.sha256
    for part in ("train", "valid", "test"):
        assert torch.equal(getattr(a, part), getattr(b, part))
        assert all(split_of(name) == part for name in a.topics[part])
    names = [n for part in ("train", "valid", "test") for n in a.topics[part]]
    assert sorted(names) == sorted(topics) and len(set(names)) == len(names)
    assert a.vocabulary[0] == "<unk>" and len(set(a.vocabulary)) == a.vocab_size
    assert int((a.train == 0).sum()) == 0  # every training character is in the vocabulary
    assert len(a.train) > 300_000 and len(a.valid) > 10_000 and len(a.test) > 10_000
    first = a.topics["train"][0]
    assert a.decode(a.train[: len(topics[first])]) == topics[first]


def test_chunk_refuses_bad_lengths():
    with pytest.raises(InvalidInputError):
        chunk(torch.arange(10), 0)
    with pytest.raises(InvalidInputError):
        chunk(torch.arange(3), 5)


@pytest.mark.parametrize("budget", [0, -1.0, math.inf, math.nan, True, 1e308, 16.5])
def test_charlm_refuses_bad_budgets(budget):
    with pytest.raises(InvalidInputError):
        CharLM(10, budget=budget)


def test_charlm_costs_equal_a_hand_count():
    lm = CharLM(5, embed=2, hidden=3)
    costs = model_costs(lm, (1, 1), input_dtype=torch.long)
    # LSTM step: 4*3*(2+3) + 3*3 = 69 mults; adds 4*3*1 + 4*3*2 + 12 + 24 + 3 = 75
    # head 3 -> 5: 15 mults, 5 * (2 + 1) = 15 adds; the embedding is a lookup
    assert costs.multiplications == 69 + 15 and costs.additions == 75 + 15
    assert costs.size_bits == 32 * (5 * 2 + (12 * 2 + 12 * 3 + 24) + (15 + 5))
    spn = CharLM(5, embed=2, hidden=3, budget=1.0)
    assert (spn.lstm.r, spn.head.r) == ((3,), 5)
    assert model_costs(spn, (1, 4), input_dtype=torch.long).multiplications > 0


def test_bits_per_char_of_a_uniform_model_is_log2_of_the_vocabulary():
    lm = CharLM(8, embed=3, hidden=4)
    with torch.no_grad():
        lm.head.weight.zero_()
        lm.head.bias.zero_()
    ids = torch.randint(0, 8, (500,), generator=torch.Generator().manual_seed(0))
    assert bits_per_char(lm, ids, streams=4, window=32) == pytest.approx(3.0, abs=1e-6)


def test_bits_per_char_carries_the_state_across_windows():
    torch.manual_seed(0)
    lm = CharLM(6, embed=3, hidden=5)
    ids = torch.randint(0, 6, (401,), generator=torch.Generator().manual_seed(1))
    one = bits_per_char(lm, ids, streams=4, window=1000)
    assert bits_per_char(lm, ids, streams=4, window=7) == pytest.approx(one, rel=1e-5)


@pytest.fixture(scope="module")
def tiny_data():
    corpus = load_pydoc_corpus()
    x, y = chunk(corpus.train[:20_000], 32)
    return CharLMData(x, y, corpus.valid[:2_000], corpus.test[:2_000], corpus)


def test_charlm_study_rows(tiny_data, tmp_path):
    from discovery.cli.plots import plot_charlm
    from discovery.cli.train_spn import format_charlm

    schedule = Schedule(full=1, quantized=1, a_only=1, lr=1e-2, batch_size=64, clip=1.0)
    events, models = [], []
    rows = charlm_study([0.5], schedule, undistilled=[0.5], embed=8, hidden=16, data=tiny_data,
                        callback=events.append, on_model=lambda row, model: models.append((row, model)))
    assert [row for row, _ in models] == rows and models[0][1].budget is None
    fp, distilled, plain = rows
    assert (fp.budget, distilled.distilled, plain.distilled) == (None, True, False)
    assert [e.done for e in events] == list(range(1, 1 + 1 + 2 * 3)) and events[-1].total == 7
    # SPN: r = 8 per product, 3 * 16 cell products, r = round(0.5 * 103) = 52 in the head
    assert distilled.multiplications == 8 + 8 + 48 + round(0.5 * tiny_data.corpus.vocab_size)
    assert distilled.reference_multiplications == fp.multiplications
    assert distilled.reduction > 90 and distilled.size_bytes < fp.size_bytes
    assert fp.additions_eliminated is None and distilled.additions_eliminated < distilled.additions
    for r in rows:
        assert 0 < r.bits_per_char < math.log2(tiny_data.corpus.vocab_size) + 1
        assert r.perplexity == pytest.approx(2 ** r.bits_per_char)
    dicts = json.loads(json.dumps(rows_as_dicts(rows)))
    for key in ("model", "budget", "bits_per_char", "multiplications", "additions", "size_bytes", "perplexity"):
        assert all(key in d for d in dicts)
    assert len(format_charlm(rows)) == 2 + len(rows)
    plot_charlm(rows, tmp_path / "ppl.png")
    assert (tmp_path / "ppl.png").stat().st_size > 1000


def test_charlm_study_is_reproducible(tiny_data):
    schedule = Schedule(full=1, quantized=1, a_only=0, lr=1e-2, batch_size=128, clip=1.0)
    runs = [charlm_study([1.0], schedule, undistilled=[], embed=4, hidden=8, data=tiny_data, seed=3)
            for _ in range(2)]
    assert [r.bits_per_char for r in runs[0]] == [r.bits_per_char for r in runs[1]]


def test_charlm_study_checks_budgets_before_training():
    events = []
    with pytest.raises(InvalidInputError):
        charlm_study([1.0, 0.0], callback=events.append)
    with pytest.raises(InvalidInputError):
        charlm_study([], undistilled=[])
    assert events == []


@pytest.mark.parametrize("argv, needle", [
    (["--task", "nope"], "--task"),
    (["--task", "charlm", "--budgets", "0"], "--budgets"),
    (["--task", "charlm", "--budgets", "-1"], "--budgets"),
    (["--task", "charlm", "--undistilled", "0"], "--undistilled"),
    (["--task", "charlm", "--budgets", "inf"], "--budgets"),
    (["--task", "digits", "--undistilled", "1"], "--undistilled"),
    (["--task", "charlm", "--no-distill"], "--no-distill"),
    (["--task", "charlm", "--epochs", "0"], "--epochs"),
])
def test_train_spn_bad_arguments_exit_2_with_one_line(capsys, argv, needle):
    from discovery.cli import main

    try:
        code = main(["train-spn", *argv, "--no-progress"])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and needle in err and "Traceback" not in err


def test_bits_per_char_refuses_bad_arguments():
    lm = CharLM(5, embed=2, hidden=3)
    ids = torch.zeros(50, dtype=torch.long)
    for kwargs in ({"streams": 0}, {"window": 0}, {"streams": 60}):
        with pytest.raises(InvalidInputError):
            bits_per_char(lm, ids, **kwargs)
    with pytest.raises(InvalidInputError):
        bits_per_char(lm, ids.reshape(5, 10))


def test_corpus_compares_by_identity():
    a = load_pydoc_corpus()
    assert a == a and a != load_pydoc_corpus() and len({a}) == 1


def test_train_spn_report_path_checked_before_training(capsys, tmp_path, monkeypatch):
    from discovery.cli import main
    from discovery.experiments import charlm

    def no_training(*args, **kwargs):
        raise AssertionError("trained before checking --report")

    monkeypatch.setattr(charlm, "charlm_study", no_training)
    assert main(["train-spn", "--task", "charlm", "--report", str(tmp_path), "--no-progress"]) == 2
    assert main(["train-spn", "--task", "charlm", "--report", str(tmp_path / "no" / "r.json"), "--no-progress"]) == 2
    assert main(["train-spn", "--task", "charlm", "--report", "", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("--report") == 3 and len(err.strip().splitlines()) == 3


def test_train_spn_huge_budget_exits_2_before_training(capsys, monkeypatch):
    from discovery.cli import main
    from discovery.experiments import charlm

    monkeypatch.setattr(charlm, "train_model", lambda *a, **k: pytest.fail("trained before checking budgets"))
    assert main(["train-spn", "--task", "charlm", "--budgets", "1e308", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "budget" in err


def test_cli_defaults_are_the_studys_defaults():
    import inspect

    from discovery.cli.train_spn import TASK_DEFAULTS
    from discovery.experiments.charlm import DEFAULT_SCHEDULE

    budgets, undistilled, epochs, a_only, lr, temperature = TASK_DEFAULTS["charlm"]
    s = DEFAULT_SCHEDULE
    assert (epochs, epochs, a_only, lr, temperature) == (s.full, s.quantized, s.a_only, s.lr, s.temperature)
    assert (s.batch_size, s.clip, s.lam) == (64, 1.0, 0.5)  # what the CLI builds
    params = inspect.signature(charlm_study).parameters
    assert tuple(budgets) == params["budgets"].default and tuple(undistilled) == params["undistilled"].default


@pytest.mark.slow
def test_train_spn_charlm_end_to_end(tmp_path, capsys):
    """The CLI as a user runs it, one epoch per phase: table, JSON report with the corpus, plot."""
    from discovery.cli import main

    report, plot = tmp_path / "lm.json", tmp_path / "lm.png"
    assert main(["train-spn", "--task", "charlm", "--budgets", "1", "--undistilled", "--epochs", "1",
                 "--a-only-epochs", "0", "--no-eliminate", "--report", str(report), "--plot", str(plot),
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "| SPN b=1 |" in out and "| full precision |" in out
    data = json.loads(report.read_text())
    assert data["task"] == "charlm" and data["corpus"]["sha256"] == load_pydoc_corpus().sha256
    assert [r["model"] for r in data["rows"]] == ["full precision", "SPN b=1"]
    for key in ("model", "budget", "bits_per_char", "multiplications", "additions", "size_bytes"):
        assert all(key in r for r in data["rows"])
    assert plot.stat().st_size > 1000
