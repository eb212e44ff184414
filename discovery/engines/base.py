"""The engine contract: declared options, candidates, and what a search returns.

Every search engine is an :class:`Engine`: a name, a one-line summary, an
options class and a generator function::

    run(problem, rank, options, *, seed, time_limit, callback) -> Iterator[item]

``options`` is an instance of the engine's :class:`EngineOptions` subclass: a
frozen dataclass whose fields are declared with :func:`option` (type, default,
help, allowed values or range).  Validation, ``repr``, the CLI flags and
``bilinear engines`` all follow from the declaration, and an unknown option is
refused the same way for every engine (:meth:`EngineOptions.from_mapping`).

The generator yields, in any order and as soon as it has them:

:class:`Candidate`
    a scheme the engine believes exact;
:class:`NearMiss`
    a rounded scheme wrong in a few tensor entries (for the exact solvers);
:class:`Tally`
    running totals (restarts done, best loss, engine statistics); the latest
    one counts;
:class:`Infeasible`
    a proof that no scheme of this rank exists in the searched domain.

Engines never write files, never print, and never verify for the caller:
:func:`discovery.search.search` verifies every candidate exactly and
symbolically, checks its field and coefficient domain, deduplicates by
canonical form, attaches provenance and saves to the catalog when asked.  A
caller may stop reading at any time (``close()``), so engines keep no state
that matters after a ``yield``.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence, Union

import numpy as np

from discovery.core.coefficients import COEFFICIENT_SETS, coefficient_values
from discovery.core.errors import InvalidInputError
from discovery.core.problems import Problem
from discovery.core.scheme import Scheme
from solvers.brent import Domain, as_domain

__all__ = [
    "option",
    "OptionSpec",
    "EngineOptions",
    "Engine",
    "Candidate",
    "NearMiss",
    "Tally",
    "Infeasible",
    "SearchResult",
    "coefficient_domain_check",
    "check_coefficients",
    "domain_of",
]


# ------------------------------------------------------------------ options
def option(
    default: Any,
    *,
    help: str,
    choices: Optional[Sequence[Any]] = None,
    minimum: Optional[float] = None,
    maximum: Optional[float] = None,
    exclusive_minimum: bool = False,
    check: Optional[Callable[[Any, str], Any]] = None,
    metavar: Optional[str] = None,
    cli: bool = True,
) -> Any:
    """Declare one engine option as a dataclass field.

    Parameters
    ----------
    default : object
        The default value (also shown by ``--help`` and ``bilinear engines``).
    help : str
        One line for the user.
    choices : sequence, optional
        The allowed values.
    minimum, maximum : float, optional
        Inclusive bounds for numbers (``exclusive_minimum`` makes the lower
        bound strict).
    check : callable, optional
        ``check(value, name) -> value``: a custom validation/normalisation
        (raises :class:`InvalidInputError`).
    metavar : str, optional
        Placeholder in ``--help``.
    cli : bool
        Whether the CLI offers a flag (False for Python-only options such as
        a start :class:`Scheme`).

    Examples
    --------
    >>> @dataclass(frozen=True)
    ... class Demo(EngineOptions):
    ...     restarts: int = option(8, help="random restarts", minimum=1)
    >>> Demo(restarts=3).restarts
    3
    >>> Demo(restarts=0)
    Traceback (most recent call last):
    ...
    discovery.core.errors.InvalidInputError: option restarts must be >= 1, got 0
    """
    meta = {
        "help": help,
        "choices": tuple(choices) if choices is not None else None,
        "minimum": minimum,
        "maximum": maximum,
        "exclusive_minimum": exclusive_minimum,
        "check": check,
        "metavar": metavar,
        "cli": cli,
    }
    return field(default=default, metadata={"option": meta})


@dataclass(frozen=True)
class OptionSpec:
    """One declared option, as the CLI and ``bilinear engines`` see it.

    ``kind`` is ``"int"``, ``"float"``, ``"str"``, ``"bool"`` or ``"any"``;
    ``optional`` says whether ``None`` is allowed.
    """

    name: str
    kind: str
    optional: bool
    default: Any
    help: str
    choices: Optional[tuple] = None
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    exclusive_minimum: bool = False
    metavar: Optional[str] = None
    cli: bool = True

    @property
    def flag(self) -> str:
        """The CLI flag, e.g. ``--max-steps``."""
        return "--" + self.name.replace("_", "-")

    def describe_default(self) -> str:
        """The default as the user would type it."""
        if self.default is None:
            return "none"
        if isinstance(self.default, bool):
            return "on" if self.default else "off"
        if isinstance(self.default, tuple):
            return ",".join(str(v) for v in self.default)
        return str(self.default)


_KINDS = {int: "int", float: "float", str: "str", bool: "bool"}


def _kind_of(hint: Any) -> tuple[str, bool]:
    """``(kind, optional)`` of a type hint such as ``Optional[int]``."""
    optional = False
    origin = typing.get_origin(hint)
    if origin is Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        hint = args[0] if len(args) == 1 else Any
    return _KINDS.get(hint, "any"), optional


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_number(value: Any) -> bool:
    return _is_int(value) or (isinstance(value, (float, np.floating)) and not isinstance(value, bool))


@dataclass(frozen=True)
class EngineOptions:
    """Base class of every engine's options (a frozen dataclass).

    Subclasses declare their fields with :func:`option`; instances validate
    themselves on construction, naming the option and the bad value, and may
    add cross-field checks in :meth:`validate`.  ``engine`` (a class
    attribute) names the engine in messages.
    """

    engine: typing.ClassVar[str] = "engine"

    def __post_init__(self) -> None:
        for spec in self.specs():
            value = getattr(self, spec.name)
            object.__setattr__(self, spec.name, self._check(spec, value))
        self.validate()

    # ------------------------------------------------------------- checks
    @classmethod
    def _check(cls, spec: OptionSpec, value: Any) -> Any:
        name = spec.name
        if value is None:
            if spec.optional:
                return None
            raise InvalidInputError(f"option {name} needs a value, got None")
        if spec.kind == "bool":
            if not isinstance(value, (bool, np.bool_)):
                raise InvalidInputError(f"option {name} must be true or false, got {value!r}")
            value = bool(value)
        elif spec.kind == "int":
            if not _is_int(value):
                raise InvalidInputError(f"option {name} must be an integer, got {value!r}")
            value = int(value)
        elif spec.kind == "float":
            if not _is_number(value):
                raise InvalidInputError(f"option {name} must be a number, got {value!r}")
            value = float(value)
            if math.isnan(value):
                raise InvalidInputError(f"option {name} must be a number, got nan")
        elif spec.kind == "str":
            if not isinstance(value, str):
                raise InvalidInputError(f"option {name} must be a string, got {value!r}")
        if spec.kind in ("int", "float"):
            if spec.minimum is not None:
                if spec.exclusive_minimum and not value > spec.minimum:
                    raise InvalidInputError(f"option {name} must be > {spec.minimum:g}, got {value!r}")
                if not spec.exclusive_minimum and value < spec.minimum:
                    raise InvalidInputError(f"option {name} must be >= {spec.minimum:g}, got {value!r}")
            if spec.maximum is not None and value > spec.maximum:
                raise InvalidInputError(f"option {name} must be <= {spec.maximum:g}, got {value!r}")
            if spec.kind == "float" and not math.isfinite(value):
                raise InvalidInputError(f"option {name} must be finite, got {value!r}")
        if spec.choices is not None and value not in spec.choices:
            allowed = ", ".join(str(c) for c in spec.choices)
            raise InvalidInputError(f"option {name} must be one of {allowed}, got {value!r}")
        check = cls._field_meta(name).get("check")
        if check is not None:
            value = check(value, name)
        return value

    def validate(self) -> None:
        """Cross-field checks of a subclass (raise :class:`InvalidInputError`)."""

    # ------------------------------------------------------- declarations
    @classmethod
    def _field_meta(cls, name: str) -> dict:
        for f in dataclasses.fields(cls):
            if f.name == name:
                return dict(f.metadata.get("option", {}))
        return {}

    @classmethod
    def specs(cls) -> list[OptionSpec]:
        """The declared options, in declaration order."""
        hints = typing.get_type_hints(cls)
        out = []
        for f in dataclasses.fields(cls):
            meta = f.metadata.get("option")
            if meta is None:
                continue
            kind, optional = _kind_of(hints.get(f.name, Any))
            default = f.default if f.default is not dataclasses.MISSING else None
            out.append(OptionSpec(
                name=f.name, kind=kind, optional=optional or default is None, default=default,
                help=meta["help"], choices=meta["choices"], minimum=meta["minimum"], maximum=meta["maximum"],
                exclusive_minimum=meta["exclusive_minimum"], metavar=meta["metavar"], cli=meta["cli"],
            ))
        return out

    @classmethod
    def names(cls) -> list[str]:
        """The option names, in declaration order."""
        return [s.name for s in cls.specs()]

    @classmethod
    def from_mapping(cls, values: Optional[Mapping[str, Any]] = None) -> "EngineOptions":
        """Options from a mapping; an unknown key is refused, naming the engine
        and the options it accepts.

        Examples
        --------
        >>> @dataclass(frozen=True)
        ... class Demo(EngineOptions):
        ...     engine = "demo"
        ...     walks: int = option(4, help="walks", minimum=1)
        >>> Demo.from_mapping({"walks": 2})
        Demo(walks=2)
        >>> Demo.from_mapping({"loss": "tensor"})
        Traceback (most recent call last):
        ...
        discovery.core.errors.InvalidInputError: engine 'demo' has no option 'loss'; its options are: walks
        """
        values = dict(values or {})
        known = cls.names()
        unknown = sorted(k for k in values if k not in known)
        if unknown:
            word = "option" if len(unknown) == 1 else "options"
            listed = ", ".join(repr(k) for k in unknown)
            raise InvalidInputError(
                f"engine {cls.engine!r} has no {word} {listed}; its options are: {', '.join(known) or 'none'}"
            )
        return cls(**values)

    @classmethod
    def parse_text(cls, name: str, text: str) -> Any:
        """Convert the CLI text of option ``name`` to its declared type.

        Examples
        --------
        >>> @dataclass(frozen=True)
        ... class Demo(EngineOptions):
        ...     plateau: Optional[int] = option(100, help="steps", minimum=1)
        >>> Demo.parse_text("plateau", "250"), Demo.parse_text("plateau", "none")
        (250, None)
        """
        spec = {s.name: s for s in cls.specs()}.get(name)
        if spec is None:
            cls.from_mapping({name: None})  # raises the standard unknown-option error
        if isinstance(text, bool) or not isinstance(text, str):
            return text
        if spec.optional and text.strip().lower() == "none":
            return None
        try:
            if spec.kind == "int":
                return int(text)
            if spec.kind == "float":
                return float(text)
        except ValueError:
            what = "an integer" if spec.kind == "int" else "a number"
            raise InvalidInputError(f"{spec.flag} must be {what}, got {text!r}") from None
        if spec.kind == "bool":
            low = text.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise InvalidInputError(f"{spec.flag} must be true or false, got {text!r}")
        return text

    @classmethod
    def from_strings(cls, values: Mapping[str, Any]) -> "EngineOptions":
        """Options from CLI texts (see :meth:`parse_text`)."""
        cls.from_mapping({k: None for k in values if k not in cls.names()})  # unknown keys first
        return cls.from_mapping({k: cls.parse_text(k, v) for k, v in values.items()})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values of every declared option (provenance, reports)."""
        out = {}
        for spec in self.specs():
            value = getattr(self, spec.name)
            if isinstance(value, Scheme):
                value = f"<{value.problem.spec} rank {value.rank} scheme>"
            elif isinstance(value, tuple):
                value = [str(v) if isinstance(v, Fraction) else v for v in value]
            elif not isinstance(value, (int, float, str, bool, type(None))):
                value = str(value)
            out[spec.name] = value
        return out

    def accepts(self, scheme: Scheme) -> Optional[str]:
        """Why ``scheme`` lies outside what these options asked for, or None.

        The front door drops candidates that are not accepted (a coefficient
        outside the requested domain, the wrong field).  The base class
        accepts everything.
        """
        return None

    def __repr__(self) -> str:
        body = ", ".join(f"{s.name}={getattr(self, s.name)!r}" for s in self.specs()
                         if getattr(self, s.name) != s.default)
        return f"{type(self).__name__}({body})"


def coefficient_domain_check(scheme: Scheme, values: Sequence[Fraction], fields: Sequence[str]) -> Optional[str]:
    """Why ``scheme`` is outside ``fields`` or the coefficient set ``values``, or None.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> coefficient_domain_check(strassen(), coefficient_values("ternary"), ("Z",)) is None
    True
    >>> coefficient_domain_check(strassen(), coefficient_values("0,1"), ("Z",))
    'coefficient -1 is outside the requested set {0, 1}'
    """
    if scheme.field not in fields:
        return f"field {scheme.field} is not the requested {' or '.join(fields)}"
    allowed = set(Fraction(v) for v in values)
    for v in scheme.coefficient_set:
        if Fraction(v) not in allowed:
            shown = ", ".join(str(a) for a in sorted(allowed))
            return f"coefficient {v} is outside the requested set {{{shown}}}"
    return None


def check_coefficients(value: Any, name: str = "coefficients") -> str:
    """Validate a coefficient-set option: a set name or a list of exact values.

    Returns the name, or the values as a canonical comma list.

    Examples
    --------
    >>> check_coefficients("ternary"), check_coefficients([1, 0, "-1/2"])
    ('ternary', '-1/2,0,1')
    """
    if isinstance(value, str) and value.strip() in COEFFICIENT_SETS:
        return value.strip()
    return ",".join(str(v) for v in coefficient_values(value, name))


def domain_of(spec: str) -> Domain:
    """The :class:`solvers.brent.Domain` of a coefficient-set option.

    Examples
    --------
    >>> domain_of("int2").scaled, domain_of("0,1/2,1").scale
    ((-2, -1, 0, 1, 2), 2)
    """
    if spec in COEFFICIENT_SETS:
        return as_domain(spec)
    return as_domain(coefficient_values(spec))


# ------------------------------------------------------------ yielded items
@dataclass(frozen=True)
class Candidate:
    """A scheme an engine believes exact, found ``seconds`` after its start.

    ``info`` holds engine-specific provenance (restart or walk index, flips,
    route, lifting method, ...); it is merged into the scheme's provenance.
    """

    scheme: Scheme
    seconds: float
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NearMiss:
    """A rounded scheme that is wrong in ``wrong`` tensor entries.

    ``approx`` optionally holds the continuous factors it was rounded from
    (numpy float arrays U, V, W), which refinement can use as confidence.
    """

    scheme: Scheme
    wrong: int
    approx: Optional[tuple] = None
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Tally:
    """Running totals of an engine; the latest one yielded counts.

    Attributes
    ----------
    restarts : int
        Units of work done (restarts, walks, solver calls).
    best : float, optional
        Best loss, error or rank reached so far (lower is better).
    stats : mapping
        Engine statistics (flips, steps, flips per second, ...), copied into
        :attr:`SearchResult.stats` and the CLI's ``--report``.
    """

    restarts: int = 0
    best: Optional[float] = None
    stats: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Infeasible:
    """A proof that no scheme of the rank exists in the searched domain.

    ``proof`` says how it was proved (e.g. ``"flattening rank 4 > 3"``,
    ``"CP-SAT, mod 2"``).
    """

    proof: str


Item = Union[Candidate, NearMiss, Tally, Infeasible]


@dataclass(frozen=True)
class Engine:
    """A search engine: its name, options class and generator function.

    Attributes
    ----------
    name : str
        The registry key (``--engine NAME``).
    summary : str
        One line for ``bilinear engines``.
    options : type
        The engine's :class:`EngineOptions` subclass.
    run : callable
        ``run(problem, rank, options, *, seed, time_limit, callback)``, a
        generator of :class:`Candidate`, :class:`NearMiss`, :class:`Tally` and
        :class:`Infeasible` items.
    max_schemes : int, optional
        How many distinct schemes the front door collects before it stops
        the engine by default (None: until the engine ends).
    """

    name: str
    summary: str
    options: type
    run: Callable[..., Iterator[Item]]
    max_schemes: Optional[int] = None


# ------------------------------------------------------------------- result
@dataclass
class SearchResult:
    """Outcome of one search through :func:`discovery.search.search`.

    Attributes
    ----------
    status : {"found", "not_found", "infeasible"}
        ``infeasible`` only when an engine *proved* it (``proof`` says how).
    schemes : list of Scheme
        Exact schemes, verified exactly and symbolically, distinct by
        canonical form, with provenance, in the order found.
    near_misses : list of NearMiss
        Sorted by number of wrong entries.
    restarts : int
        Units of work the engine reported (:class:`Tally`).
    exact : int
        Candidates that verified (duplicates included).
    rejected : dict
        Candidates dropped, by reason (``"not exact"``, ``"outside domain"``).
    stats : dict
        The engine's statistics.
    saved : list of str
        Catalog paths, when saving was asked for.
    """

    problem: Problem
    rank: int
    engine: str
    status: str = "not_found"
    schemes: list = field(default_factory=list)
    near_misses: list = field(default_factory=list)
    restarts: int = 0
    exact: int = 0
    rejected: dict = field(default_factory=dict)
    wall_seconds: float = 0.0
    first_exact_seconds: Optional[float] = None
    best_loss: Optional[float] = None
    proof: Optional[str] = None
    options: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)
    saved: list = field(default_factory=list)

    @property
    def found(self) -> bool:
        """Whether at least one exact scheme was found."""
        return bool(self.schemes)

    @property
    def distinct(self) -> int:
        """Distinct schemes (by canonical form)."""
        return len(self.schemes)
