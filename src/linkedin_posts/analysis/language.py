"""Which language a post is written in: lingua, restricted to the configured languages.

All of lingua's 75 languages cost over 1 GB in high accuracy; a few in low accuracy cost a few MB.
"""

import threading
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import regex

if TYPE_CHECKING:
    from lingua import Language, LanguageDetector

# Hashtags, handles and emoji are not prose in any language; they only confuse detection. (The
# analysis gives it the text without links and mentions already.)
NOT_PROSE = regex.compile(r"[#@]\S+|\p{Extended_Pictographic}")
# Below this many letters no detector is better than a guess.
MIN_LETTERS = 3
# Detection is as sure after a paragraph as after a page, and its cost grows with the length.
SAMPLE_CHARACTERS = 500


@dataclass(frozen=True, slots=True)
class Detected:
    code: str | None
    confidence: float


class LanguageDetection:
    """A lingua detector built on first use (or at start), shared by every thread.

    lingua itself is imported then too: a process that never analyses does not load it.
    """

    def __init__(self, codes: list[str], *, high_accuracy: bool) -> None:
        self.codes = codes
        self.high_accuracy = high_accuracy
        self._detector: LanguageDetector | None = None
        self._lock = threading.Lock()

    def load(self) -> "LanguageDetector":
        from lingua import IsoCode639_1, LanguageDetectorBuilder

        with self._lock:
            if self._detector is None:
                codes = [IsoCode639_1.from_str(code) for code in self.codes]
                builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
                if not self.high_accuracy:
                    builder = builder.with_low_accuracy_mode()
                self._detector = builder.build()
            return self._detector

    def detect(self, text: str) -> Detected:
        prose = NOT_PROSE.sub(" ", text[: SAMPLE_CHARACTERS * 2])[:SAMPLE_CHARACTERS]
        letters = 0
        for ch in prose:  # stops at the MIN_LETTERS-th letter, a few characters in as a rule
            if ch.isalpha():
                letters += 1
                if letters == MIN_LETTERS:
                    break
        else:
            return Detected(None, 0.0)
        if len(self.codes) == 1:  # lingua needs two candidates; one is always the answer
            return Detected(self.codes[0], 1.0)
        detector = self._detector or self.load()
        best = detector.compute_language_confidence_values(prose)[0]
        return Detected(code_of(best.language), round(best.value, 4))


@cache
def code_of(language: "Language") -> str:
    return language.iso_code_639_1.name.lower()
