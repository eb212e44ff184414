"""A character-level corpus that ships with Python: ``pydoc_data.topics``.

CPython's ``pydoc_data.topics.topics`` holds the text of the language
reference's help topics (``help("if")`` and the like): about 465,000
characters of English documentation prose with code examples, in 79 topics.
No download is needed, so the character language-model experiment
(:mod:`discovery.experiments.charlm`) runs offline.

The split is by topic and fixed: a topic goes to the test part when the
SHA-256 of its name, read as an integer, is 0 modulo 10, to validation when
it is 1, and to training otherwise (on Python 3.11.7: 64 topics and 390,793
characters for training, 5 and 29,083 for validation, 10 and 45,246 for
test, separators included; 103 token ids).  Within a part, topics are joined in sorted
order, separated by a blank line.  The vocabulary is the training part's
characters (sorted) after index 0, ``<unk>``, which stands for characters
seen only in validation or test.  :attr:`CharCorpus.sha256` fingerprints the
text, so a report can name exactly what it was measured on (the topics'
text changes between Python releases).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch

from discovery.core.checks import positive_int
from discovery.core.errors import BilinearError, InvalidInputError

__all__ = ["CharCorpus", "load_pydoc_corpus", "split_of", "chunk", "UNKNOWN"]

#: Token 0: a character that the training part does not contain.
UNKNOWN = "<unk>"

#: Parts of the split, by ``int(sha256(topic name)) % 10``.
_PARTS = {0: "test", 1: "valid"}


def split_of(name: str) -> str:
    """The part (``"train"``, ``"valid"`` or ``"test"``) that topic ``name`` belongs to.

    Examples
    --------
    >>> split_of("if"), split_of("dict"), split_of("objects")
    ('train', 'test', 'valid')
    """
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()
    return _PARTS.get(int(digest, 16) % 10, "train")


@dataclass(frozen=True, eq=False)
class CharCorpus:
    """Encoded train, validation and test text with their vocabulary.

    Attributes
    ----------
    train, valid, test : torch.Tensor
        1-D ``torch.long`` tensors of token ids.
    vocabulary : tuple of str
        ``vocabulary[i]`` is the character of id ``i`` (``vocabulary[0]`` is
        :data:`UNKNOWN`).
    topics : dict
        Part name -> sorted topic names.
    sha256 : str
        SHA-256 of the three parts' text (UTF-8, joined by NUL bytes).
    """

    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    vocabulary: tuple[str, ...]
    topics: dict
    sha256: str

    @property
    def vocab_size(self) -> int:
        """Number of token ids (characters + ``<unk>``)."""
        return len(self.vocabulary)

    def encode(self, text: str) -> torch.Tensor:
        """Token ids of ``text`` (unknown characters become 0).

        Examples
        --------
        >>> c = load_pydoc_corpus()
        >>> c.decode(c.encode("for x in y:"))
        'for x in y:'
        """
        index = {ch: i for i, ch in enumerate(self.vocabulary)}
        return torch.tensor([index.get(ch, 0) for ch in text], dtype=torch.long)

    def decode(self, ids) -> str:
        """The text of token ids (``<unk>`` for id 0)."""
        return "".join(self.vocabulary[int(i)] for i in ids)


def load_pydoc_corpus() -> CharCorpus:
    """The ``pydoc_data.topics`` corpus, split by topic (see the module doc).

    Examples
    --------
    >>> c = load_pydoc_corpus()
    >>> c.vocabulary[0], c.vocab_size > 90
    ('<unk>', True)
    >>> len(c.train) > 5 * len(c.test) > 0
    True
    """
    try:
        from pydoc_data.topics import topics
    except ImportError:  # pragma: no cover - some distributions strip pydoc_data
        raise BilinearError("this Python has no pydoc_data.topics (the corpus of the charlm experiment)") from None
    parts: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    for name in sorted(topics):
        parts[split_of(name)].append(name)
    text = {part: "\n\n".join(topics[name] for name in names) for part, names in parts.items()}
    if not all(text.values()):
        raise BilinearError("pydoc_data.topics is too small to split into train, validation and test")
    vocabulary = (UNKNOWN,) + tuple(sorted(set(text["train"])))
    index = {ch: i for i, ch in enumerate(vocabulary)}

    def encode(s: str) -> torch.Tensor:
        return torch.tensor([index.get(ch, 0) for ch in s], dtype=torch.long)

    digest = hashlib.sha256("\0".join(text[p] for p in ("train", "valid", "test")).encode("utf-8")).hexdigest()
    return CharCorpus(encode(text["train"]), encode(text["valid"]), encode(text["test"]), vocabulary,
                      {part: tuple(names) for part, names in parts.items()}, digest)


def chunk(ids: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-overlapping training sequences: inputs ``ids[s:s+length]``, targets shifted by one.

    Parameters
    ----------
    ids : torch.Tensor
        1-D token ids.
    length : int
        Characters per sequence.

    Returns
    -------
    x, y : torch.Tensor
        Each ``(n, length)`` with ``n = (len(ids) - 1) // length``; ``y`` is
        ``x`` shifted by one character.  The tail that does not fill a
        sequence is dropped.

    Raises
    ------
    InvalidInputError
        When ``length`` is not a positive integer or ``ids`` do not fill one sequence.

    Examples
    --------
    >>> x, y = chunk(torch.arange(10), 4)
    >>> x.tolist(), y.tolist()
    ([[0, 1, 2, 3], [4, 5, 6, 7]], [[1, 2, 3, 4], [5, 6, 7, 8]])
    """
    length = positive_int(length, "sequence length")
    n = (len(ids) - 1) // length
    if n < 1:
        raise InvalidInputError(f"{len(ids)} tokens do not fill one sequence of length {length}")
    x = ids[: n * length].reshape(n, length)
    y = ids[1 : n * length + 1].reshape(n, length)
    return x, y
