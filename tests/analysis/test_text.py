"""Counts, LinkedIn's length limit, links, the fold and readability, as a reader sees them."""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkedin_posts.analysis import readability
from linkedin_posts.analysis import text as texts
from linkedin_posts.analysis.engine import Analyzer

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # 👨‍👩‍👧: 5 code points, 1 grapheme
THUMB = "\U0001f44d\U0001f3fd"  # 👍🏽: 2 code points
FLAG = "\U0001f1ea\U0001f1f8"  # 🇪🇸: 2 code points
KEYCAP = "1\ufe0f\u20e3"  # 1️⃣: 3 code points
PROSE = (
    "Most teams do not fail because of a bad idea. They fail because nobody wrote down what was "
    "decided, who owns the next step, and when the team will look at the result again together "
    "with the customer."
)
FOLLOW_UP = (
    "Write down the decision in one line, share it the same day, and ask for a reply. It takes "
    "two minutes and saves a week."
)


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(
        languages=["en", "es", "fr", "de", "pt", "it", "nl"], high_accuracy=False, keywords=8
    )


def rules_of(result: dict[str, Any]) -> list[str]:
    return [finding["rule"] for finding in result["findings"]]


def test_emoji_sequences_are_one_character_each(analyzer: Analyzer) -> None:
    counts = analyzer.analyze(f"{FAMILY} {THUMB} {FLAG} {KEYCAP}", None)["counts"]

    assert counts["characters"] == 5 + 1 + 2 + 1 + 2 + 1 + 3
    assert counts["graphemes"] == 7
    assert counts["emojis"] == 4


def test_counts(analyzer: Analyzer) -> None:
    text = (
        "Big news today! \U0001f389\n"
        "We reached our first thousand users.\n"
        "\n"
        "Thanks to everyone who helped… more soon.\n"
        f"What's next? {FAMILY} {THUMB} {FLAG}"
    )

    assert analyzer.analyze(text, None)["counts"] == {
        "characters": 122,
        "graphemes": 116,  # the family is 5 code points, the thumb and the flag 2 each
        "words": 18,
        "sentences": 5,  # "… more" ends one; the emoji after "today!" and "next?" are none
        "lines": 5,
        "paragraphs": 2,
        "emojis": 4,
    }


def test_blank_lines_with_windows_line_ends_separate_paragraphs(analyzer: Analyzer) -> None:
    text = f"{PROSE}\r\n\r\n{FOLLOW_UP}\r\n\r\nWhat do you write down? #meetings"
    result = analyzer.analyze(text, None)

    assert result["counts"]["paragraphs"] == 3
    assert result["counts"]["lines"] == 5
    assert "wall_of_text" not in rules_of(result)


def emoji_text(graphemes: int) -> str:
    """`graphemes` characters of multi-code-point emoji: families, skin tones and flags."""
    units = [FAMILY, THUMB, FLAG]
    return "".join(units[i % 3] for i in range(graphemes))


def test_exactly_3000_characters_fit_linkedin(analyzer: Analyzer) -> None:
    text = emoji_text(3000)
    result = analyzer.analyze(text, None)

    assert len(text) == 9000
    assert result["counts"]["graphemes"] == 3000
    assert "over_limit" not in rules_of(result)
    assert result["fits_linkedin"] is True


def test_3001_characters_are_over_the_limit_from_the_3001st(analyzer: Analyzer) -> None:
    text = emoji_text(3001)
    result = analyzer.analyze(text, None)

    over = [f for f in result["findings"] if f["rule"] == "over_limit"]
    assert result["counts"]["graphemes"] == 3001
    assert over == [
        {
            "rule": "over_limit",
            "severity": "error",
            "message": "3001 characters: LinkedIn refuses posts over 3000; cut 1.",
            # 1000 of each of the three emoji (5 + 2 + 2 code points) come first.
            "start": 9000,
            "end": 9005,
        }
    ]
    assert text[9000:9005] == FAMILY
    assert result["fits_linkedin"] is False


def test_links_are_found_without_the_punctuation_after_them(analyzer: Analyzer) -> None:
    text = (
        "Docs: https://example.com/docs, the mirror (www.example.org/path). Or try example.io! "
        "See https://example.com/a?b=1."
    )
    result = analyzer.analyze(text, None)

    assert result["links"] == [
        "https://example.com/docs",
        "www.example.org/path",
        "example.io",
        "https://example.com/a?b=1",
    ]
    spans = [(f["start"], f["end"]) for f in result["findings"] if f["rule"] == "link_in_body"]
    assert [text[start:end] for start, end in spans] == result["links"]


LINKISH = st.sampled_from(
    ["http", "https", "://", "www", "WwW", ".", ".com", ".uk", ".COM", "a", "Z", "9", "-", "/", " ",
     "\n", "@", "_", "é", "?", ")", "example", "io"]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(LINKISH, max_size=16).map("".join))
def test_a_text_the_link_prefilter_passes_over_has_no_link(text: str) -> None:
    everywhere = [match.group() for match in texts.LINK.finditer(text)]
    assert [link.text for link in texts.links(text)] == [
        link.rstrip(texts.LINK_TRAILING) for link in everywhere
    ]


def test_fold_cuts_at_the_last_space_before_the_limit(analyzer: Analyzer) -> None:
    text = f"{PROSE}\n\n{FOLLOW_UP}"
    fold = analyzer.analyze(text, None)["fold"]

    assert fold["hook"] == PROSE
    # Character 210 is inside "down", 140 inside "team": neither word is split.
    assert fold["desktop"] == {
        "visible": f"{PROSE}\n\nWrite",
        "truncated": True,
        "hook_fits": True,
    }
    assert fold["mobile"] == {
        "visible": (
            "Most teams do not fail because of a bad idea. They fail because nobody wrote down "
            "what was decided, who owns the next step, and when the"
        ),
        "truncated": True,
        "hook_fits": False,
    }


def test_mobile_fold_shows_three_lines(analyzer: Analyzer) -> None:
    fold = analyzer.analyze("Line one\nLine two\nLine three\nLine four", None)["fold"]

    assert fold["mobile"] == {
        "visible": "Line one\nLine two\nLine three",
        "truncated": True,
        "hook_fits": True,
    }
    assert fold["desktop"] == {
        "visible": "Line one\nLine two\nLine three\nLine four",
        "truncated": False,
        "hook_fits": True,
    }


def test_fold_never_splits_an_emoji_and_cuts_a_word_with_no_space(analyzer: Analyzer) -> None:
    fold = analyzer.analyze("a" * 139 + FAMILY + "b" * 10, None)["fold"]
    assert fold["mobile"]["visible"] == "a" * 139 + FAMILY

    fold = analyzer.analyze("x" * 300, None)["fold"]
    assert fold["desktop"]["visible"] == "x" * 210
    assert fold["mobile"]["visible"] == "x" * 140


def test_fold_of_leading_blank_lines_starts_at_the_text(analyzer: Analyzer) -> None:
    fold = analyzer.analyze("\n\n   Short hook.\nSecond line.", None)["fold"]

    assert fold["hook"] == "Short hook."
    assert fold["mobile"] == {
        "visible": "Short hook.\nSecond line.",
        "truncated": False,
        "hook_fits": True,
    }


READABLE = {
    "en": ("We shipped the new version today. The team worked hard for it.", "flesch"),
    "es": ("Hoy lanzamos la nueva versión. El equipo trabajó mucho.", "fernandez_huerta"),
    "fr": ("Nous avons lancé la nouvelle version. L'équipe a beaucoup travaillé.", "kandel_moles"),
    "de": ("Wir haben heute die neue Version veröffentlicht. Das Team war großartig.", "amstad"),
    "pt": ("Lançamos hoje a nova versão. A equipa trabalhou muito.", "flesch"),
    "it": ("Oggi abbiamo lanciato la nuova versione. Il team ha lavorato molto.", "flesch_vacca"),
    "nl": ("Vandaag hebben we de nieuwe versie uitgebracht. Het team werkte hard.", "flesch_douma"),
}
GRADE = {"en": "flesch_kincaid", "es": "crawford"}


@pytest.mark.parametrize("code", READABLE)
def test_readability_formula_per_language(analyzer: Analyzer, code: str) -> None:
    text, formula = READABLE[code]
    readability = analyzer.analyze(text, code)["readability"]

    assert readability["reading_ease_formula"] == formula
    assert 0 <= readability["reading_ease"] <= 100
    assert readability["grade_level_formula"] == GRADE.get(code)
    if code in GRADE:
        assert readability["grade_level"] >= 0
    else:
        assert readability["grade_level"] is None


def test_readability_is_kept_on_its_scale(analyzer: Analyzer) -> None:
    easy = analyzer.analyze("Go.", "en")["readability"]
    hard = analyzer.analyze(
        "Incomprehensibility characterizes institutionalized multidimensional "
        "interdisciplinary organizational internationalization considerations.",
        "en",
    )["readability"]

    assert (easy["reading_ease"], easy["grade_level"]) == (100.0, 0.0)
    assert hard["reading_ease"] == 0.0
    assert hard["grade_level"] > 12


@pytest.mark.parametrize(
    "text",
    [
        f"{FAMILY} {THUMB} {FLAG}",
        "https://example.com/launch",  # links and mentions are not prose to measure
        "@[Jane Doe](urn:li:person:abc123)",
    ],
)
def test_no_words_no_readability(analyzer: Analyzer, text: str) -> None:
    result = analyzer.analyze(text, None)

    assert result["readability"] is None
    assert result["keywords"] == []


def test_a_language_without_its_own_syllables_gets_no_grade(analyzer: Analyzer) -> None:
    text = "Bugün yeni sürümü yayınladık. Ekip çok çalıştı."  # noqa: RUF001  (Turkish)
    readability = analyzer.analyze(text, "tr")["readability"]

    assert readability["reading_ease_formula"] == "flesch"
    assert readability["grade_level"] is None


def test_numbers_with_separators_are_one_word(analyzer: Analyzer) -> None:
    assert analyzer.analyze("We hit 1,000 users and 3.5 stars", "en")["counts"]["words"] == 7


def test_beyond_linkedins_limit_only_counts_and_rules_read_the_text(analyzer: Analyzer) -> None:
    post = ("Our team shipped the release on time. " * 100)[:3000]
    tail = " Zanzibar" * 50

    result = analyzer.analyze(post + tail, None)

    assert result["counts"]["graphemes"] == 3000 + len(tail)
    assert "over_limit" in {finding["rule"] for finding in result["findings"]}
    assert all("zanzibar" not in k["keyword"].lower() for k in result["keywords"])


def test_readability_counts_syllables_as_textstat_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each word's syllables are kept from text to text (and forgotten past a bound): the
    figures stay textstat's own, word for word, including after the memo starts over."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        from textstat.textstat import textstatistics

    monkeypatch.setattr(readability, "KNOWN_WORDS", 40)
    ours = readability.ReadabilityAnalysis()
    texts = [text for text, _ in READABLE.values()] + [PROSE, FOLLOW_UP, "Don't stop. Ça va?"]
    for code in ("en", "es", "fr", "de"):
        plain = textstatistics()
        plain.set_lang(code)
        for text in texts * 2:
            measured = ours.measure(text, language=code)
            assert ours._for(code).syllable_count(text) == plain.syllable_count(text)
            assert measured.reading_ease == round(
                min(max(float(plain.flesch_reading_ease(text)), 0.0), 100.0), 1
            )
        assert 0 < len(ours._for(code).syllables) <= 40


WORDISH = st.sampled_from(
    [
        *"aZ09.,'\u2019_-!?#()\u00e9\u0301\u00b2\u2167 \n\t\xa0\x1c",
        "3.5",
        "1,000",
        "don't",
        "🚀",
        "東京",
    ]
)


@settings(max_examples=1000, deadline=None)
@given(st.lists(WORDISH, max_size=40).map("".join))
def test_words_are_counted_as_the_word_pattern_finds_them(text: str) -> None:
    assert texts.count_words(text) == len(texts.WORD.findall(text))


def test_every_emoji_holds_a_character_the_prefilter_finds() -> None:
    # A match is one emoji-presentation or regional indicator character, or holds U+FE0F or
    # U+20E3: none of the first two comes before U+20E3.
    assert texts.MAY_HOLD_EMOJI.pattern.startswith("[\u20e3-")
    assert not any(texts.EMOJI.match(chr(point)) for point in range(0x20E3))
    assert all(texts.MAY_HOLD_EMOJI.match(char) for char in "\u20e3\ufe0f\U0010ffff")
