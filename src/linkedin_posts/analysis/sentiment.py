"""Tone: VADER's compound score and a label.

VADER is made for sentences: a text is scored sentence by sentence and the scores averaged, as
its authors advise for longer texts (and its cost grows with the square of the words it is given).

VADER's lexicon is English. On any other language its words score 0 and every text would read
"neutral", which is a wrong answer rather than no answer. So a non-English text is judged by its
emoji and emoticons alone (VADER scores those in any language), and gets no label without them.
"""

import threading
from dataclasses import dataclass
from typing import Literal

import regex
from vaderSentiment.vaderSentiment import (  # type: ignore[import-untyped]
    SentimentIntensityAnalyzer,
)

# VADER's authors' thresholds for its compound score.
POSITIVE = 0.05
NEGATIVE = -0.05
# After . ! ? … or a line break; VADER reads the punctuation, so it stays with its sentence.
SENTENCES = regex.compile(r"(?<=[.!?…])\s+|\n+")
EMOTICON = regex.compile(r"(?<!\S)(?:[:;=][\-o\*']?[\)\]\(\[dDpP/\\|@3]|<3|</3)(?!\S)")

Basis = Literal["text", "emoji", "none"]


@dataclass(frozen=True, slots=True)
class Sentiment:
    compound: float | None
    label: Literal["positive", "neutral", "negative"] | None
    basis: Basis


class SentimentAnalysis:
    """One VADER analyzer (it reads its lexicon files once), built on first use."""

    def __init__(self) -> None:
        self._analyzer: SentimentIntensityAnalyzer | None = None
        self._lock = threading.Lock()

    def load(self) -> SentimentIntensityAnalyzer:
        with self._lock:
            if self._analyzer is None:
                self._analyzer = SentimentIntensityAnalyzer()
            return self._analyzer

    def score(self, text: str, *, language: str | None, emoji: list[str]) -> Sentiment:
        if language == "en":
            return self._judge(SENTENCES.split(text), "text")
        signs = [*emoji, *EMOTICON.findall(text)]
        if not signs:
            return Sentiment(None, None, "none")
        return self._judge([" ".join(signs)], "emoji")

    def _judge(self, sentences: list[str], basis: Basis) -> Sentiment:
        analyzer = self._analyzer or self.load()
        scores = [
            float(analyzer.polarity_scores(sentence)["compound"])
            for sentence in sentences
            if not sentence.isspace() and sentence
        ]
        compound = round(sum(scores) / len(scores), 4) if scores else 0.0
        if compound >= POSITIVE:
            return Sentiment(compound, "positive", basis)
        if compound <= NEGATIVE:
            return Sentiment(compound, "negative", basis)
        return Sentiment(compound, "neutral", basis)
