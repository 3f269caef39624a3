"""Words of a text, the same for every search backend, and highlights.

The kit splits text into words itself (letters and digits, lower case), so
that Elasticsearch, PostgreSQL and SQLite agree on what a word is: a path
``/reports/Q3-budget.pdf`` is the words ``reports q3 budget pdf``, and the
query ``q3 budg`` finds it (every query word is a prefix of some word)::

    words("/reports/Q3-budget.pdf")          # ["reports", "q3", "budget", "pdf"]
    highlight("/reports/Q3-budget.pdf", ["q3", "budg"])
    # "/reports/<em>Q3</em>-<em>budget</em>.pdf"
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from html import escape

# A word: a run of letters and digits (any script); "_" separates words.
_WORD = re.compile(r"[^\W_]+")
# Query words beyond this are ignored (a query is a few words, not a document).
MAX_QUERY_WORDS = 16


def words(text: str) -> list[str]:
    """The words of ``text`` in order, lower case."""
    return [word.casefold() for word in _WORD.findall(text)]


def words_of(values: Iterable[object]) -> str:
    """The words of several values as one space-separated string (what is indexed)."""
    found: list[str] = []
    for value in values:
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            found.extend(words(" ".join(str(item) for item in value)))
        else:
            found.extend(words(str(value)))
    return " ".join(found)


def query_words(query: str) -> list[str]:
    """The distinct words of a query, in order, at most ``MAX_QUERY_WORDS``."""
    return list(dict.fromkeys(words(query)))[:MAX_QUERY_WORDS]


def highlight(text: str, query: Sequence[str]) -> str:
    """``text`` as HTML, each word that a query word begins in ``<em>``.

    The rest is escaped (a path may hold ``<``). Only the text given is
    marked: a caller highlights the fields of hits it may show, so a
    highlight never carries anything else.
    """
    parts: list[str] = []
    last = 0
    for match in _WORD.finditer(text):
        word = match.group().casefold()
        if any(word.startswith(prefix) for prefix in query):
            parts.append(escape(text[last : match.start()]))
            parts.append(f"<em>{escape(match.group())}</em>")
            last = match.end()
    parts.append(escape(text[last:]))
    return "".join(parts)
