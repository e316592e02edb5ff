"""Tone: VADER's compound score and a label.

VADER is made for sentences: a text is scored sentence by sentence and the scores averaged, as
its authors advise for longer texts (and its cost grows with the square of the words it is given).

VADER's lexicon is English. On any other language its words score 0 and every text would read
"neutral", which is a wrong answer rather than no answer. So a non-English text is judged by its
emoji and emoticons alone (VADER scores those in any language), and gets no label without them.
"""

import string
import threading
from dataclasses import dataclass
from typing import Any, Literal

import regex
from vaderSentiment.vaderSentiment import (  # type: ignore[import-untyped]
    BOOSTER_DICT,
    N_SCALAR,
    NEGATE,
    SentimentIntensityAnalyzer,
    SentiText,
    normalize,
)

# VADER's authors' thresholds for its compound score.
POSITIVE = 0.05
NEGATIVE = -0.05
# After . ! ? … or a line break; VADER reads the punctuation, so it stays with its sentence.
SENTENCES = regex.compile(r"(?<=[.!?…])\s+|\n+")
EMOTICON = regex.compile(r"(?<!\S)(?:[:;=][\-o\*']?[\)\]\(\[dDpP/\\|@3]|<3|</3)(?!\S)")

Basis = Literal["text", "emoji", "none"]
NEGATIONS = frozenset(NEGATE)


@dataclass(frozen=True, slots=True)
class Sentiment:
    compound: float | None
    label: Literal["positive", "neutral", "negative"] | None
    basis: Basis


class _Words(SentiText):  # type: ignore[misc]
    """What VADER's rules read of a sentence: its words, split as SentiText splits them."""

    def __init__(self, words: list[str]) -> None:
        self.words_and_emoticons = words
        capitals = sum(map(str.isupper, words))
        self.is_cap_diff = 0 < capitals < len(words)  # allcap_differential(words)


class Vader(SentimentIntensityAnalyzer):  # type: ignore[misc]
    """VADER 3.3.2, with `compound(text)` for `polarity_scores(text)["compound"]`: the same
    number, without the work the other scores need (tests/analysis/test_sentiment.py holds
    the two equal)."""

    def compound(self, text: str) -> float:
        # VADER copies the text character by character to describe its emoji; without any,
        # the copy is the text.
        if not self.emojis.keys().isdisjoint(text):
            text = self._described(text)
        text = text.strip()
        words = []
        for token in text.split():  # SentiText's words
            stripped = token.strip(string.punctuation)
            words.append(token if len(stripped) <= 2 else stripped)
        if not words:
            return 0.0
        lowered = [word.lower() for word in words]
        lexicon = self.lexicon
        # Only a lexicon word has a valence; with none, every word's is 0 (most sentences).
        if lexicon.keys().isdisjoint(lowered):
            return 0.0
        sentiments: list[float] = []
        sentence = _Words(words)
        last = len(words) - 1
        for i, lower in enumerate(lowered):
            # What polarity_scores and sentiment_valence give a booster, the "kind" of "kind
            # of", and a word outside the lexicon.
            if (
                lower not in lexicon
                or lower in BOOSTER_DICT
                or (lower == "kind" and i < last and lowered[i + 1] == "of")
            ):
                sentiments.append(0)
            else:
                self.sentiment_valence(0, sentence, words[i], i, sentiments)
        if "but" in lowered:
            sentiments = self._but_check(words, sentiments)
        # score_valence's compound.
        total = float(sum(sentiments))
        emphasis = self._punctuation_emphasis(text)
        if total > 0:
            total += emphasis
        elif total < 0:
            total -= emphasis
        return float(round(normalize(total), 4))

    @staticmethod
    def _negation_check(valence: float, words: list[str], start_i: int, i: int) -> float:
        """VADER's, which lower-cases the whole sentence and copies its negation list each time
        to read one to three words. sentiment_valence calls it for start_i < i only."""
        if start_i == 0:
            if _negated(words[i - 1]):
                valence = valence * N_SCALAR
        elif start_i == 1:
            before, last = words[i - 2].lower(), words[i - 1].lower()
            if before == "never" and (last == "so" or last == "this"):
                valence = valence * 1.25
            elif before == "without" and last == "doubt":
                pass
            elif _negated(before):
                valence = valence * N_SCALAR
        elif start_i == 2:
            first, before, last = words[i - 3].lower(), words[i - 2].lower(), words[i - 1].lower()
            if (first == "never" and (before == "so" or before == "this")) or (
                last == "so" or last == "this"
            ):
                valence = valence * 1.25
            elif first == "without" and (before == "doubt" or last == "doubt"):
                pass
            elif _negated(first):
                valence = valence * N_SCALAR
        return valence

    @staticmethod
    def _special_idioms_check(valence: float, words: list[str], i: int) -> Any:
        # VADER's reads words i - 3 to i + 2 (sentiment_valence calls it for i >= 3), but
        # lower-cases the whole sentence first: given only those, it gives the same.
        return SentimentIntensityAnalyzer._special_idioms_check(valence, words[i - 3 : i + 3], 3)

    def _described(self, text: str) -> str:
        """polarity_scores' text with each emoji replaced by its description."""
        emojis = self.emojis
        pieces = []
        prev_space = True
        for char in text:
            description = emojis.get(char)
            if description is not None:
                if not prev_space:
                    pieces.append(" ")
                pieces.append(description)
                prev_space = False
            else:
                pieces.append(char)
                prev_space = char == " "
        return "".join(pieces)


def _negated(word: str) -> bool:
    """VADER's negated([word])."""
    lower = word.lower()
    return lower in NEGATIONS or "n't" in lower


class SentimentAnalysis:
    """One VADER analyzer (it reads its lexicon files once), built on first use."""

    def __init__(self) -> None:
        self._analyzer: Vader | None = None
        self._lock = threading.Lock()

    def load(self) -> Vader:
        with self._lock:
            if self._analyzer is None:
                self._analyzer = Vader()
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
            analyzer.compound(sentence)
            for sentence in sentences
            if not sentence.isspace() and sentence
        ]
        compound = round(sum(scores) / len(scores), 4) if scores else 0.0
        if compound >= POSITIVE:
            return Sentiment(compound, "positive", basis)
        if compound <= NEGATIVE:
            return Sentiment(compound, "negative", basis)
        return Sentiment(compound, "neutral", basis)
