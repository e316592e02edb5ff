"""Readability: Flesch reading ease with each language's own constants, and a grade level.

textstat 0.7.3 (later versions fetch an NLTK corpus at run time). Its language is state on an
instance, so each language gets its own instance rather than sharing the module's global one
between threads.
"""

import functools
import threading
import warnings
from dataclasses import dataclass
from typing import Any, cast

# Languages for which textstat has Flesch constants of their own (Amstad, Fernández Huerta, ...);
# any other language is measured with the English ones, and says so.
OWN_CONSTANTS = frozenset({"en", "de", "es", "fr", "it", "nl", "ru"})
# Syllables come from pyphen's hyphenation dictionaries, which cover these (and more).
HYPHENATION = frozenset(
    {"en", "de", "es", "fr", "it", "nl", "ru", "pt", "pl", "sv", "da", "nb", "cs", "hu", "ro"}
)


@dataclass(frozen=True, slots=True)
class Readability:
    reading_ease: float
    reading_ease_formula: str
    grade_level: float | None
    grade_level_formula: str | None


FORMULAS = {
    "en": "flesch",
    "de": "amstad",
    "es": "fernandez_huerta",
    "fr": "kandel_moles",
    "it": "flesch_vacca",
    "nl": "flesch_douma",
    "ru": "flesch_oborneva",
}


class ReadabilityAnalysis:
    def __init__(self) -> None:
        self._by_language: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _for(self, language: str) -> Any:
        stats = self._by_language.get(language)
        if stats is None:
            with self._lock:
                stats = self._by_language.get(language)
                if stats is None:
                    stats = self._by_language[language] = _textstat(language)
        return stats

    def measure(self, text: str, *, language: str | None) -> Readability:
        # Syllables of a language pyphen cannot hyphenate (or of an unknown one) are counted
        # as English ones; its grade would then mean nothing, so it gets none.
        stats = self._for(language if language in HYPHENATION else "en")
        ease = float(stats.flesch_reading_ease(text))
        if language == "en":
            grade: float | None = float(stats.flesch_kincaid_grade(text))
            grade_formula: str | None = "flesch_kincaid"
        elif language == "es":
            grade, grade_formula = float(stats.crawford(text)), "crawford"
        else:  # the Flesch-Kincaid grade is fitted to English school years only
            grade, grade_formula = None, None
        return Readability(
            # The formulas run past both ends on one-line or one-word texts; the scale is 0-100.
            reading_ease=round(min(max(ease, 0.0), 100.0), 1),
            reading_ease_formula=FORMULAS.get(language or "", "flesch"),
            grade_level=None if grade is None else round(max(grade, 0.0), 1),
            grade_level_formula=grade_formula,
        )


# Words whose syllables are kept, per language; then the count starts over, and so does pyphen's
# own memo of each word's hyphenation, which would otherwise grow with every new word it sees
# (the two hold about 4.8 MB at the bound).
KNOWN_WORDS = 1 << 13


def _textstat(language: str) -> Any:
    with warnings.catch_warnings():
        # textstat 0.7.3 imports pkg_resources, which warns that it is deprecated.
        warnings.simplefilter("ignore", UserWarning)
        from textstat.textstat import textstatistics  # type: ignore[import-untyped]

    class Statistics(textstatistics):  # type: ignore[misc]
        """textstat's syllable count, with each word's count kept: words recur from post to post,
        and pyphen spends more on a word's lookup than the rest of the count does."""

        def __init__(self) -> None:
            super().__init__()
            self.syllables: dict[str, int] = {}

        # Cached per text as textstat caches it: the Flesch-Kincaid grade asks for the same
        # text's count again (through avg_syllables_per_word(text), which it calls with other
        # arguments than the reading ease does, so textstat's own cache of that misses).
        @functools.lru_cache(maxsize=128)  # noqa: B019 (one instance per language, kept for good)
        def syllable_count(self, text: str, lang: str | None = None) -> int:
            if lang is not None or not isinstance(text, str):  # textstat's own warning or decoding
                return int(super().syllable_count(text, lang))
            words = self.remove_punctuation(text.lower()).split()
            known = self.syllables
            counts = list(map(known.get, words))
            if None in counts:
                for index, word in enumerate(words):
                    if counts[index] is None:
                        syllables = known.get(word)  # a new word met twice is counted once
                        if syllables is None:
                            if len(known) >= KNOWN_WORDS:
                                known.clear()
                                self.pyphen.hd.cache.clear()
                            syllables = known[word] = len(self.pyphen.positions(word)) + 1
                        counts[index] = syllables
            return sum(cast(list[int], counts))

    stats = Statistics()
    stats.set_lang(language)
    return stats
