"""Tone: VADER on English, sentence by sentence; other languages by their emoji and emoticons."""

import random

import pytest
from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
)

from linkedin_posts.analysis.engine import Analyzer
from linkedin_posts.analysis.sentiment import Vader


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(
        languages=["en", "es", "fr", "de", "pt", "it", "nl"], high_accuracy=False, keywords=8
    )


@pytest.mark.parametrize(
    ("text", "compound", "label"),
    [
        (
            "I love working with this amazing team. Proud of what we achieved this year!",
            0.6956,
            "positive",
        ),
        ("This was a terrible week. The launch failed and I feel awful.", -0.6099, "negative"),
        (
            "The quarterly review meeting is scheduled for Tuesday at ten in room four.",
            0.0,
            "neutral",
        ),
    ],
)
def test_english(analyzer: Analyzer, text: str, compound: float, label: str) -> None:
    result = analyzer.analyze(text, None)

    assert result["language"]["code"] == "en"
    assert result["sentiment"] == {"compound": compound, "label": label, "basis": "text"}


def test_spanish_with_happy_emoji_is_positive_by_its_emoji(analyzer: Analyzer) -> None:
    result = analyzer.analyze("Hoy lanzamos nuestro nuevo producto con todo el equipo 🎉😍", None)

    assert result["language"]["code"] == "es"
    assert result["sentiment"] == {"compound": 0.6908, "label": "positive", "basis": "emoji"}


@pytest.mark.parametrize(("sign", "compound"), [("😢", -0.4767), (":(", -0.4404)])
def test_spanish_with_a_sad_emoji_or_emoticon_is_negative(
    analyzer: Analyzer, sign: str, compound: float
) -> None:
    text = f"Hoy cerramos la oficina de Madrid después de diez años {sign}"
    result = analyzer.analyze(text, None)

    assert result["language"]["code"] == "es"
    assert result["sentiment"] == {"compound": compound, "label": "negative", "basis": "emoji"}


def test_spanish_without_emoji_has_no_tone_rather_than_neutral(analyzer: Analyzer) -> None:
    # VADER knows no Spanish word: it would score this 0.0, "neutral", whatever it said.
    result = analyzer.analyze("¡Qué desastre! Hoy cerramos la oficina y estoy muy triste.", None)

    assert result["language"]["code"] == "es"
    assert result["sentiment"] == {"compound": None, "label": None, "basis": "none"}


def test_given_language_decides_the_basis(analyzer: Analyzer) -> None:
    text = "I love this team 🎉"

    assert analyzer.analyze(text, "en")["sentiment"]["basis"] == "text"
    assert analyzer.analyze(text, "nl")["sentiment"] == {
        "compound": 0.4019,  # VADER reads 🎉 as "party popper"
        "label": "positive",
        "basis": "emoji",
    }


def test_english_paragraph_is_the_average_of_its_sentences(analyzer: Analyzer) -> None:
    sentences = [
        "I love this team and I am proud of every one of them.",
        "But this week was a disaster, the launch failed and customers were angry.",
        "We will fix it.",
    ]
    text = " ".join(sentences)
    vader = SentimentIntensityAnalyzer()
    scores = [vader.polarity_scores(sentence)["compound"] for sentence in sentences]

    sentiment = analyzer.analyze(text, None)["sentiment"]

    assert sentiment == {"compound": -0.0469, "label": "neutral", "basis": "text"}
    assert sentiment["compound"] == round(sum(scores) / 3, 4)
    # Read whole, VADER would call it strongly negative: the praise is drowned out.
    assert vader.polarity_scores(text)["compound"] < -0.9


def test_a_numbered_item_is_not_an_emoticon(analyzer: Analyzer) -> None:
    result = analyzer.analyze("Paso 1) abrir la puerta 8) cerrar la puerta de la casa", "es")

    assert result["sentiment"] == {"compound": None, "label": None, "basis": "none"}


def test_our_compound_is_vaders() -> None:
    """Sentences thick with what VADER's rules look for: boosters, negations, "but", "kind of",
    "least", idioms, capitals, emoji, emoticons and punctuation."""
    vader, ours = SentimentIntensityAnalyzer(), Vader()
    rng = random.Random(3)
    lexicon = sorted(vader.lexicon)
    rules = [
        *["but", "BUT", "kind", "of", "no", "not", "never", "so", "this", "without", "doubt"],
        *["least", "at", "very", "isn't", "or", "nor", "the", "!", "??", "?", "!!!!", ":)"],
        *[":-(", "<3", "\U0001f600", "\U0001f389", "\U0001f494", "great", "GREAT", "bad"],
        *list(BOOSTER_DICT)[:40],
        *NEGATE,
        *{word for idiom in SPECIAL_CASES for word in idiom.split()},
    ]
    sentences = ["", " ", "!!!", "\U0001f600", "good", "not good", "The food was kind of good"]
    for _ in range(5000):
        words = [
            rng.choice(rules) if rng.random() < 0.6 else rng.choice(lexicon)
            for _ in range(rng.randrange(0, 14))
        ]
        if rng.random() < 0.3:
            words = [word.upper() for word in words]
        if words and rng.random() < 0.3:
            words[rng.randrange(len(words))] += rng.choice(".,!?;:'\"")
        ending = rng.choice(["", ".", "!", "?", "!!", " \U0001f389", "\U0001f600"])
        sentences.append(rng.choice([" ", "  ", " \t", "\n"]).join(words) + ending)
    for sentence in sentences:
        assert ours.compound(sentence) == vader.polarity_scores(sentence)["compound"], sentence
