"""The campaign spec: a TOML file of jobs, validated once, field by field.

::

    [campaign]
    name = "rank-23"              # default: the file name without .toml
    catalog = "results"           # where found schemes go (relative to the spec file)
    community = ["community/"]    # optional: files or folders of published schemes to compare with
    symbolic = true               # verify every new scheme symbolically too (default)

    [[job]]
    name = "f2-walks"             # optional (default "job1", "job2", ...)
    problem = "3x3x3"
    rank = 23
    engine = "flip"
    field = "F2"                  # sets the engine's `field` option (engines that declare one)
    units = 64                    # work units; unit i has a seed derived from (seed, i)
    seconds = 30                  # budget per unit (optional; a step budget is reproducible, a time one is not)
    seed = 1
    max_schemes = 1000            # optional: stop a unit after this many distinct schemes
    start = "community/"          # optional: "standard", "catalog", a scheme file, or a folder
    [job.options]                 # engine options, checked against the engine's declared options
    walks = 256
    stop_after = 100000

A bad spec raises :class:`SpecError` (an :class:`InvalidInputError`) whose
one-line message names the field: ``job[2].rank: must be a positive
integer, got 0``.  Jobs are numbered from 1, in file order.  Relative paths
are relative to the spec file's folder.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any, Mapping, Optional

from discovery.core.errors import InvalidInputError, SchemeFormatError
from discovery.core.problems import Problem, parse_problem
from discovery.core.scheme import FIELDS, Scheme
from discovery.engines.base import EngineOptions
from discovery.io import community
from discovery.io.formats import scheme_to_dict
from discovery.core import limits
from discovery.search import ENGINES

__all__ = ["SpecError", "JobSpec", "CampaignSpec", "load_spec", "parse_spec"]

_CAMPAIGN_KEYS = ("name", "catalog", "community", "symbolic")
_JOB_KEYS = ("name", "problem", "rank", "engine", "field", "units", "seconds", "seed", "max_schemes", "start",
             "options")
_MAX_UNITS = 10_000_000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class SpecError(InvalidInputError):
    """A campaign spec that cannot be run; the message names the field."""


@dataclass(frozen=True)
class JobSpec:
    """One validated job.

    ``options`` holds the engine options as given (plain values; the start
    scheme is not among them), ``engine_options`` the validated options
    object, ``starts`` the start schemes (one per unit, cycled) or the
    strings ``"standard"``/``"catalog"``.
    """

    index: int
    name: str
    problem: Problem
    rank: int
    engine: str
    units: int
    seed: int
    field: Optional[str] = None
    seconds: Optional[float] = None
    max_schemes: Optional[int] = None
    start: Optional[str] = None
    starts: tuple = ()
    options: Mapping[str, Any] = dc_field(default_factory=dict)
    engine_options: Optional[EngineOptions] = None

    @property
    def label(self) -> str:
        return f"job[{self.index}]"

    @property
    def key(self) -> str:
        """A hash of everything that decides what a unit computes (not ``units``).

        Journal entries of a job whose definition changed no longer count.
        """
        starts = [s.fingerprint() if isinstance(s, Scheme) else s for s in self.starts]
        payload = json.dumps({"problem": self.problem.to_dict(), "rank": self.rank, "engine": self.engine,
                              "field": self.field, "seconds": self.seconds, "seed": self.seed,
                              "max_schemes": self.max_schemes, "starts": starts,
                              "options": {k: _jsonable(v) for k, v in sorted(self.options.items())}},
                             sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def start_for(self, unit: int) -> Any:
        """The start of unit ``unit``: a scheme dict, ``"standard"``, ``"catalog"`` or None."""
        if not self.starts:
            return None
        s = self.starts[unit % len(self.starts)]
        return scheme_to_dict(s) if isinstance(s, Scheme) else s


def _jsonable(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


@dataclass(frozen=True)
class CampaignSpec:
    """A validated campaign: its name, catalog folder, community references and jobs."""

    name: str
    path: Optional[Path]
    catalog: Path
    jobs: tuple
    community: tuple = ()
    symbolic: bool = True

    @property
    def units(self) -> int:
        return sum(j.units for j in self.jobs)

    @property
    def journal_path(self) -> Path:
        """The journal of finished units, next to the catalog."""
        return self.catalog / ".campaigns" / f"{self.name}.jsonl"


# ----------------------------------------------------------------- checks
def _fail(where: str, message: str) -> SpecError:
    return SpecError(f"{where}: {message}")


def _positive_int(value: Any, where: str, maximum: Optional[int] = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(where, f"must be a positive integer, got {value!r}")
    if maximum is not None and value > maximum:
        raise _fail(where, f"must be at most {maximum}, got {value}")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"must be a non-empty string, got {value!r}")
    return value.strip()


def _resolve(base: Path, text: str) -> Path:
    p = Path(text).expanduser()
    return p if p.is_absolute() else (base / p)


def _load_starts(path: Path, problem: Problem, where: str) -> tuple:
    if not path.exists():
        raise _fail(where, f"{path}: no such file or folder")
    found = []
    for f in community.iter_scheme_files(path):
        try:
            items = community.read(f)
        except (SchemeFormatError, InvalidInputError) as exc:
            raise _fail(where, str(exc)) from None
        found += [i.scheme for i in items if i.scheme.problem == problem]
    if not found:
        raise _fail(where, f"{path} holds no scheme for {problem.spec}")
    return tuple(sorted({s.fingerprint(): s for s in found}.values(), key=lambda s: s.fingerprint()))


def _job(raw: Any, index: int, base: Path) -> JobSpec:
    where = f"job[{index}]"
    if not isinstance(raw, dict):
        raise _fail(where, "must be a table ([[job]])")
    unknown = [k for k in raw if k not in _JOB_KEYS]
    if unknown:
        raise _fail(f"{where}.{unknown[0]}", f"unknown key (a job has {', '.join(_JOB_KEYS)})")
    for key in ("problem", "rank", "engine", "units"):
        if key not in raw:
            raise _fail(f"{where}.{key}", "is required")
    try:
        problem = parse_problem(_string(raw["problem"], f"{where}.problem"))
    except SpecError:
        raise
    except InvalidInputError as exc:
        raise _fail(f"{where}.problem", str(exc)) from None
    rank = _positive_int(raw["rank"], f"{where}.rank", limits.get("rank"))
    engine = raw["engine"]
    if engine not in ENGINES:
        raise _fail(f"{where}.engine", f"unknown engine {engine!r}: expected one of {', '.join(ENGINES)}")
    eng = ENGINES[engine]
    units = _positive_int(raw["units"], f"{where}.units", _MAX_UNITS)
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise _fail(f"{where}.seed", f"must be a non-negative integer, got {seed!r}")
    seconds = raw.get("seconds")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                or not math.isfinite(seconds) or seconds <= 0):
        raise _fail(f"{where}.seconds", f"must be a positive number of seconds, got {seconds!r}")
    max_schemes = raw.get("max_schemes")
    if max_schemes is not None:
        max_schemes = _positive_int(max_schemes, f"{where}.max_schemes")
    name = raw.get("name", f"job{index}")
    if not isinstance(name, str) or not _NAME.match(name):
        raise _fail(f"{where}.name", f"must be letters, digits, '.', '_' or '-', got {name!r}")
    options = raw.get("options", {})
    if not isinstance(options, dict):
        raise _fail(f"{where}.options", "must be a table ([job.options])")
    options = dict(options)
    declared = set(eng.options.names())
    fieldv = raw.get("field")
    if fieldv is not None:
        if fieldv not in FIELDS:
            raise _fail(f"{where}.field", f"must be one of {', '.join(FIELDS)}, got {fieldv!r}")
        if "field" not in declared:
            raise _fail(f"{where}.field", f"engine {engine!r} has no field option (its coefficients option "
                                          "sets the domain)")
        if "field" in options and options["field"] != fieldv:
            raise _fail(f"{where}.field", f"is {fieldv!r} but options.field is {options['field']!r}")
        options["field"] = fieldv
    if "start" in options:
        raise _fail(f"{where}.options.start", "give the start as the job's `start` key")
    start = raw.get("start")
    starts: tuple = ()
    if start is not None:
        start = _string(start, f"{where}.start")
        if "start" not in declared:
            raise _fail(f"{where}.start", f"engine {engine!r} takes no start scheme")
        if start in ("standard", "catalog"):
            starts = (start,)
        else:
            starts = _load_starts(_resolve(base, start), problem, f"{where}.start")
    try:
        probe = dict(options)
        if starts:
            probe["start"] = starts[0]
        engine_options = eng.options.from_mapping(probe)
    except InvalidInputError as exc:
        raise _option_error(where, str(exc)) from None
    return JobSpec(index=index, name=name, problem=problem, rank=rank, engine=engine, units=units, seed=seed,
                   field=fieldv, seconds=None if seconds is None else float(seconds), max_schemes=max_schemes,
                   start=start, starts=starts, options=options, engine_options=engine_options)


def _option_error(where: str, message: str) -> SpecError:
    m = re.match(r"^option (\w+) (.*)$", message)
    if m:
        return _fail(f"{where}.options.{m.group(1)}", m.group(2))
    return _fail(f"{where}.options", message)


def parse_spec(text: str, path: Optional[Path] = None) -> CampaignSpec:
    """Validate a campaign spec given as TOML text.

    Examples
    --------
    >>> spec = parse_spec('''
    ... [campaign]
    ... name = "demo"
    ... catalog = "/tmp/demo-results"
    ... [[job]]
    ... problem = "2x2x2"
    ... rank = 7
    ... engine = "flip"
    ... field = "F2"
    ... units = 4
    ... [job.options]
    ... walks = 16
    ... max_steps = 500
    ... ''')
    >>> spec.name, spec.units, spec.jobs[0].engine_options.walks
    ('demo', 4, 16)
    >>> parse_spec('[[job]]\\nproblem = "2x2x2"\\nrank = 0\\nengine = "flip"\\nunits = 1\\n')
    Traceback (most recent call last):
    ...
    discovery.campaign.spec.SpecError: job[1].rank: must be a positive integer, got 0
    """
    where = str(path) if path is not None else "spec"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{where}: not valid TOML ({exc})") from None
    base = path.parent if path is not None else Path.cwd()
    unknown = [k for k in data if k not in ("campaign", "job")]
    if unknown:
        raise _fail(unknown[0], "unknown table (a spec has [campaign] and [[job]])")
    camp = data.get("campaign", {})
    if not isinstance(camp, dict):
        raise _fail("campaign", "must be a table ([campaign])")
    bad = [k for k in camp if k not in _CAMPAIGN_KEYS]
    if bad:
        raise _fail(f"campaign.{bad[0]}", f"unknown key (the campaign table has {', '.join(_CAMPAIGN_KEYS)})")
    name = camp.get("name", path.stem if path is not None else "campaign")
    if not isinstance(name, str) or not _NAME.match(name):
        raise _fail("campaign.name", f"must be letters, digits, '.', '_' or '-' (it names the journal), got {name!r}")
    catalog = _resolve(base, _string(camp.get("catalog", "results"), "campaign.catalog"))
    if catalog.exists() and not catalog.is_dir():
        raise _fail("campaign.catalog", f"{catalog} is not a folder")
    refs = camp.get("community", [])
    if isinstance(refs, str):
        refs = [refs]
    if not isinstance(refs, list):
        raise _fail("campaign.community", "must be a path or a list of paths")
    paths = []
    for i, r in enumerate(refs):
        p = _resolve(base, _string(r, f"campaign.community[{i}]"))
        if not p.exists():
            raise _fail(f"campaign.community[{i}]", f"{p}: no such file or folder")
        paths.append(p)
    symbolic = camp.get("symbolic", True)
    if not isinstance(symbolic, bool):
        raise _fail("campaign.symbolic", f"must be true or false, got {symbolic!r}")
    jobs_raw = data.get("job")
    if jobs_raw is None:
        raise _fail("job", "a campaign needs at least one [[job]]")
    if not isinstance(jobs_raw, list):
        raise _fail("job", "must be an array of tables ([[job]])")
    jobs = tuple(_job(raw, i + 1, base) for i, raw in enumerate(jobs_raw))
    seen: set[str] = set()
    for j in jobs:
        if j.name in seen:
            raise _fail(f"{j.label}.name", f"{j.name!r} names two jobs")
        seen.add(j.name)
    return CampaignSpec(name=name, path=path, catalog=catalog, jobs=jobs, community=tuple(paths), symbolic=symbolic)


def load_spec(path: str | Path) -> CampaignSpec:
    """Read and validate a campaign spec file.

    Raises
    ------
    SpecError
        Missing file, invalid TOML, or a bad field (named in the message).
    """
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"{p}: no such file" if not p.exists() else f"{p}: is not a file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{p}: cannot read ({exc})") from None
    return parse_spec(text, p.resolve())
