"""The result type shared by every verification level."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verification:
    """Outcome of one verification.

    Attributes
    ----------
    ok : bool
        True when the scheme computes its problem exactly (or, for the
        numeric level, within tolerance).
    level : str
        ``"exact"``, ``"mod2"``, ``"symbolic"`` or ``"numeric"``.
    reason : str
        One line: empty when ok, otherwise where it is wrong.
    wrong : int
        Number of wrong tensor entries (exact level) or outputs (symbolic).
    """

    ok: bool
    level: str
    reason: str = ""
    wrong: int = 0

    def __bool__(self) -> bool:
        return self.ok
