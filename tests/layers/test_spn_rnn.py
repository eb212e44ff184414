"""SPN LSTM layers: nn.LSTM conventions, fitting, ternary weights and hand-counted costs."""

import pytest
import torch
from torch import nn

from discovery.core.errors import InvalidInputError
from discovery.layers.costs import model_costs, spn_lstm_additions_eliminated
from discovery.layers.spn import set_phase
from discovery.layers.spn_rnn import SPNLSTM, SPNLSTMCell, lstm_operation_counts


def _step_cells(lstm: SPNLSTM, x: torch.Tensor):
    """Reference: run the cells step by step (time-first input)."""
    hs, cs = [], []
    for cell in lstm.cells:
        state, outputs = None, []
        for t in range(x.shape[0]):
            state = cell(x[t], state)
            outputs.append(state[0])
        x = torch.stack(outputs)
        hs.append(state[0])
        cs.append(state[1])
    return x, torch.stack(hs), torch.stack(cs)


@pytest.mark.parametrize("phase", ["full", "quantized"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_spn_lstm_is_its_cells_stepped(phase, batch_first):
    torch.manual_seed(0)
    lstm = set_phase(SPNLSTM(5, 7, r=(6, 9), num_layers=2, batch_first=batch_first), phase)
    x = torch.randn(4, 3, 5)  # (L, N, H_in)
    out, (h, c) = lstm(x.transpose(0, 1) if batch_first else x)
    ref, h_ref, c_ref = _step_cells(lstm, x)
    assert torch.allclose(out.transpose(0, 1) if batch_first else out, ref, atol=1e-6)
    assert torch.allclose(h, h_ref, atol=1e-6) and torch.allclose(c, c_ref, atol=1e-6)


def test_spn_lstm_carries_state_and_takes_unbatched_input():
    torch.manual_seed(0)
    lstm = SPNLSTM(3, 4, r=5)
    x = torch.randn(6, 2, 3)
    whole, (h, c) = lstm(x)
    first, state = lstm(x[:2])
    rest, (h2, c2) = lstm(x[2:], state)
    assert torch.allclose(torch.cat([first, rest]), whole, atol=1e-6)
    assert torch.allclose(h2, h, atol=1e-6) and torch.allclose(c2, c, atol=1e-6)
    single, (hs, _) = lstm(x[:, 0])
    assert single.shape == (6, 4) and hs.shape == (1, 4)
    assert torch.allclose(single, whole[:, 0], atol=1e-6)


def test_spn_lstm_gradients_reach_every_parameter():
    lstm = set_phase(SPNLSTM(3, 4, r=5, num_layers=2), "quantized")
    lstm(torch.randn(5, 2, 3))[0].pow(2).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in lstm.parameters())
    assert [name for name, _ in lstm.named_children()] == ["cells"]  # the nn.LSTM template is not a submodule


def _fit(student, teacher, steps, lr):
    """Fit ``student`` to ``teacher``'s (h, c) on random inputs and states; return the test error."""
    gen = torch.Generator().manual_seed(1)
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        x, h, c = (torch.randn(64, n, generator=gen) for n in (3, 4, 4))
        with torch.no_grad():
            want = torch.cat(teacher(x, (h, c)), dim=1)
        loss = (torch.cat(student(x, (h, c)), dim=1) - want).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    x, h, c = (torch.randn(256, n, generator=gen) for n in (3, 4, 4))
    with torch.no_grad():
        return float((torch.cat(student(x, (h, c)), 1) - torch.cat(teacher(x, (h, c)), 1)).abs().max())


def test_spn_lstm_cell_at_a_generous_budget_matches_lstm_cell():
    """r = 16 = 4 * hidden products can represent both 16 x 3 and 16 x 4 gate matrices exactly."""
    torch.manual_seed(0)
    teacher = nn.LSTMCell(3, 4)
    student = SPNLSTMCell(3, 4, r=16)
    before = _fit(SPNLSTMCell(3, 4, r=16), teacher, steps=0, lr=1e-2)
    after = _fit(student, teacher, steps=1500, lr=1e-2)
    assert after < 0.01 and before > 0.1


def test_spn_lstm_cell_quantized_fit_beats_its_start():
    """Ternary W_b, W_c (straight-through) with a generous budget still fit the cell closely."""
    torch.manual_seed(0)
    teacher = nn.LSTMCell(3, 4)
    student = SPNLSTMCell(3, 4, r=64)
    _fit(student, teacher, steps=300, lr=1e-2)
    set_phase(student, "quantized")
    error = _fit(student, teacher, steps=600, lr=1e-2)
    assert error < 0.1
    for spn in (student.ih, student.hh):
        folded = spn.folded()
        assert set(folded["weight_b"].unique().tolist()) <= {-1, 0, 1}
        assert set(folded["weight_c"].unique().tolist()) <= {-1, 0, 1}


def test_folded_ternary_form_computes_the_cell():
    torch.manual_seed(0)
    cell = set_phase(SPNLSTMCell(3, 4, r=6), "quantized")
    x, h, c = torch.randn(2, 3), torch.randn(2, 4), torch.randn(2, 4)
    gates = 0
    for spn, v in ((cell.ih, x), (cell.hh, h)):
        f = spn.folded()
        assert f["weight_b"].dtype == torch.int8 and set(f["weight_b"].unique().tolist()) <= {-1, 0, 1}
        assert set(f["weight_c"].unique().tolist()) <= {-1, 0, 1}
        gates = gates + (f["a_tilde"] * (v @ f["weight_b"].float().T)) @ f["weight_c"].float().T + f["bias"]
    i, fg, g, o = gates.chunk(4, dim=1)
    c_want = torch.sigmoid(fg) * c + torch.sigmoid(i) * torch.tanh(g)
    h_want = torch.sigmoid(o) * torch.tanh(c_want)
    h_got, c_got = cell(x, (h, c))
    assert torch.allclose(h_got, h_want, atol=1e-5) and torch.allclose(c_got, c_want, atol=1e-5)


def test_dense_lstm_costs_equal_a_hand_count():
    lstm = nn.LSTM(2, 3)
    # per step: products 4*3*2 + 4*3*3 = 60 mults, cell update 3*3 = 9
    # adds: 4*3*(2-1) + 4*3*(3-1) = 36 in the products, 12 to add them, 24 biases, 3 in the cell
    counts = lstm_operation_counts(lstm, (5, 1, 2))
    assert counts == {"multiplications": 5 * 69, "additions": 5 * 75, "size_bits": 32 * (12 * 2 + 12 * 3 + 24)}
    assert model_costs(lstm, (5, 1, 2)).multiplications == 5 * 69


def _set(spn, wb, wc):
    with torch.no_grad():
        spn.weight_b.copy_(torch.tensor(wb, dtype=torch.float32))
        spn.weight_c.copy_(torch.tensor(wc, dtype=torch.float32))


def test_spn_lstm_costs_equal_a_hand_count():
    # input 2, hidden 1 (4 gate rows), r = 2 products per SPN
    lstm = set_phase(SPNLSTM(2, 1, r=2), "quantized")
    cell = lstm.cells[0]
    _set(cell.ih, [[1, -1], [0, 1]], [[1, 0], [1, 1], [0, -1], [1, -1]])  # W_b: 1 + 0 adds; W_c: 0+1+0+1
    _set(cell.hh, [[1], [-1]], [[1, 1], [0, 1], [1, 1], [1, 0]])  # W_b: 0; W_c: 1+0+1+0
    counts = lstm.operation_counts((3, 1, 2))  # three steps
    mults = 2 + 2 + 3 * 1  # r per product + the cell update's three products
    adds = (1 + 2 + 4) + (0 + 2 + 4) + 4 + 1  # W_b, W_c, biases per SPN; sum of the two; cell update
    assert counts["multiplications"] == 3 * mults
    assert counts["additions"] == 3 * adds
    # size: 2 bits per ternary entry, fp32 a~, bias and two scales per SPN
    assert counts["size_bits"] == 2 * (4 + 8) + 32 * (2 + 4 + 2) + 2 * (2 + 8) + 32 * (2 + 4 + 2)
    assert spn_lstm_additions_eliminated(lstm, (3, 1, 2)) <= counts["additions"]


def test_spn_lstm_rejects_bad_arguments():
    with pytest.raises(InvalidInputError):
        SPNLSTM(3, 4, r=0)
    with pytest.raises(InvalidInputError):
        SPNLSTM(3, 4, r=(2, 3), num_layers=1)
    with pytest.raises(InvalidInputError):
        SPNLSTM(3, 4, r=2, dropout=1.0)
    lstm = SPNLSTM(3, 4, r=2)
    with pytest.raises(InvalidInputError):
        lstm(torch.randn(5, 2, 4))
    with pytest.raises(InvalidInputError):
        lstm(torch.randn(5, 2, 3), (torch.zeros(1, 2, 4), torch.zeros(1, 3, 4)))
