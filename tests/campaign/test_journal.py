"""The journal: append-only, fsynced lines, a torn tail tolerated and cut, one writer at a time."""

import json

import pytest

from discovery.campaign.journal import CampaignLockedError, Journal, is_locked, read_journal


def test_append_read_and_torn_tail(tmp_path):
    path = tmp_path / ".campaigns" / "c.jsonl"
    with Journal(path) as j:
        j.append({"job": 1, "unit": 0, "key": "k", "schemes": []})
        j.append({"job": 1, "unit": 1, "key": "k", "schemes": []})
    data = path.read_bytes()
    assert data.count(b"\n") == 2
    path.write_bytes(data + b'{"job": 1, "unit": 2, "ke')  # a kill in the middle of a write
    state = read_journal(path)
    assert [e["unit"] for e in state.entries] == [0, 1] and state.torn
    with Journal(path) as j:
        assert j.repaired and [e["unit"] for e in j.state.entries] == [0, 1]
        j.append({"job": 1, "unit": 2, "key": "k", "schemes": []})
    lines = path.read_text().splitlines()
    assert [json.loads(ln)["unit"] for ln in lines] == [0, 1, 2]  # the torn bytes are gone
    assert not read_journal(path).torn


def test_a_damaged_middle_line_is_skipped_and_counted(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"job": 1, "unit": 0}\nnot json\n{"job": 1, "unit": 1}\n')
    state = read_journal(path)
    assert [e["unit"] for e in state.entries] == [0, 1] and state.bad_lines == 1 and not state.torn


def test_one_coordinator_at_a_time(tmp_path):
    path = tmp_path / "c.jsonl"
    with Journal(path):
        assert is_locked(path)
        with pytest.raises(CampaignLockedError, match="already running"):
            Journal(path).open()
    assert not is_locked(path)
