"""The campaign spec: validated field by field, one line naming the bad field."""

import pytest

from discovery.campaign.spec import SpecError, load_spec, parse_spec
from discovery.campaign.units import unit_seed

GOOD = """
[campaign]
name = "rank-23"
catalog = "results"

[[job]]
problem = "3x3x3"
rank = 23
engine = "flip"
field = "F2"
units = 64
seconds = 30
seed = 1
[job.options]
walks = 256
"""


def test_the_issue_example_is_valid(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text(GOOD)
    spec = load_spec(p)
    (job,) = spec.jobs
    assert (spec.name, spec.catalog, spec.units) == ("rank-23", tmp_path / "results", 64)
    assert (job.problem.spec, job.rank, job.engine, job.seconds, job.engine_options.walks,
            job.engine_options.field) == ("3x3x3", 23, "flip", 30.0, 256, "F2")
    assert spec.journal_path == tmp_path / "results" / ".campaigns" / "rank-23.jsonl"


@pytest.mark.parametrize("change, message", [
    (("rank = 23", "rank = 0"), "job[1].rank: must be a positive integer, got 0"),
    (("rank = 23", 'rank = "23"'), "job[1].rank: must be a positive integer, got '23'"),
    (("units = 64", "units = -1"), "job[1].units: must be a positive integer, got -1"),
    (('problem = "3x3x3"', 'problem = "3x3"'), "job[1].problem: "),
    (('engine = "flip"', 'engine = "flop"'), "job[1].engine: unknown engine 'flop'"),
    (('field = "F2"', 'field = "R"'), "job[1].field: must be one of Z, Q, F2"),
    (("walks = 256", "walkz = 256"), "job[1].options: engine 'flip' has no option 'walkz'"),
    (("walks = 256", "walks = 0"), "job[1].options.walks: must be >= 1, got 0"),
    (("walks = 256", "split = 2.0"), "job[1].options.split: must be <= 1"),
    (("seconds = 30", "seconds = -3"), "job[1].seconds: must be a positive number of seconds"),
    (("seed = 1", "seed = 1.5"), "job[1].seed: must be a non-negative integer"),
    (("seed = 1", "sed = 1"), "job[1].sed: unknown key"),
    (('name = "rank-23"', 'name = "a b"'), "campaign.name: must be letters"),
    (('catalog = "results"', 'catalog = "results"\ncolour = 1'), "campaign.colour: unknown key"),
    (("[[job]]", "[jobs]\n[[job]]"), "jobs: unknown table"),
    (("walks = 256", "walks = 256\n[job.options.x]"), "job[1].options"),
])
def test_a_malformed_spec_names_the_bad_field(change, message):
    with pytest.raises(SpecError) as info:
        parse_spec(GOOD.replace(*change))
    text = str(info.value)
    assert text.startswith(message) or message in text
    assert "\n" not in text


def test_second_job_and_engine_specific_fields():
    two = GOOD + '\n[[job]]\nproblem = "2x2x2"\nrank = 7\nengine = "spn"\nunits = 2\nfield = "Z"\n'
    with pytest.raises(SpecError, match=r"^job\[2\].field: engine 'spn' has no field option"):
        parse_spec(two)
    with pytest.raises(SpecError, match=r"^job\[2\].rank: is required"):
        parse_spec(GOOD + '\n[[job]]\nproblem = "2x2x2"\nengine = "spn"\nunits = 2\n')
    with pytest.raises(SpecError, match=r"^job\[2\].start: engine 'spn' takes no start scheme"):
        parse_spec(GOOD + '\n[[job]]\nproblem = "2x2x2"\nrank = 7\nengine = "spn"\nunits = 2\nstart = "x"\n')
    with pytest.raises(SpecError, match=r"^job\[2\].name: 'job1' names two jobs"):
        parse_spec(GOOD.replace("[[job]]", '[[job]]\nname = "job1"') + '\n[[job]]\nname = "job1"\n'
                   'problem = "2x2x2"\nrank = 7\nengine = "spn"\nunits = 2\n')


def test_toml_errors_and_missing_files(tmp_path):
    with pytest.raises(SpecError, match="not valid TOML"):
        parse_spec("[campaign\n")
    with pytest.raises(SpecError, match="no such file"):
        load_spec(tmp_path / "none.toml")
    with pytest.raises(SpecError, match=r"^job: a campaign needs at least one \[\[job\]\]"):
        parse_spec("[campaign]\n")


def test_start_folders_and_job_keys(tmp_path):
    from discovery.io.community import write
    from discovery.algebra.literature import strassen

    (tmp_path / "starts").mkdir()
    write(strassen(), tmp_path / "starts" / "s.exp", "exp")
    text = ('[[job]]\nproblem = "2x2x2"\nrank = 7\nengine = "flip"\nunits = 3\nstart = "starts"\n'
            '[job.options]\nfield = "Z"\n')
    p = tmp_path / "c.toml"
    p.write_text(text)
    job = load_spec(p).jobs[0]
    assert len(job.starts) == 1 and job.start_for(2)["rank"] == 7
    p.write_text(text.replace("units = 3", "units = 30"))
    assert load_spec(p).jobs[0].key == job.key  # more units: the same units stay done
    p.write_text(text.replace('field = "Z"', 'field = "Z"\nwalks = 8'))
    assert load_spec(p).jobs[0].key != job.key
    p.write_text(text.replace('"starts"', '"nowhere"'))
    with pytest.raises(SpecError, match=r"^job\[1\].start: .*nowhere: no such file"):
        load_spec(p)


def test_unit_seeds_depend_on_job_seed_and_index_only():
    seeds = {unit_seed(s, i) for s in range(3) for i in range(100)}
    assert len(seeds) == 300
    assert unit_seed(7, 3) == unit_seed(7, 3)
