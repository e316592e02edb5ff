"""One analysis of one text: plain, synchronous CPU work, run off the event loop by the service."""

from collections.abc import Sequence
from typing import Any

import regex

from linkedin_posts.analysis import fold as folding
from linkedin_posts.analysis import rules
from linkedin_posts.analysis import text as texts
from linkedin_posts.analysis.keywords import extract_keywords, stopwords_for
from linkedin_posts.analysis.language import Detected, LanguageDetection
from linkedin_posts.analysis.readability import ReadabilityAnalysis
from linkedin_posts.analysis.sentiment import SentimentAnalysis
from linkedin_posts.linkedin import little_text

# Part of every cached result's key: change it when a rule, a weight or the output changes, so
# no process serves a result of the old shape.
VERSION = "1"
MAX_SUGGESTED_HASHTAGS = 3
# A line that ends without punctuation (a bullet, a heading) still ends a sentence for a reader.
UNPUNCTUATED_LINE_END = regex.compile(r"(?<=[\p{L}\p{N}])[ \t\r]*\n")
MAX_TAG_WORDS = 2
ELISION = regex.compile(r"^\p{L}{1,4}['\u2019](?=\p{L})")
NOT_TAG = regex.compile(r"[^\p{L}\p{M}\p{N}_]+")
SAMPLES = {
    "en": "We shipped the new release today. What would you build with it? #launch",
    "es": "Hoy lanzamos la nueva versión. ¿Qué construirías con ella? #lanzamiento",
}


class Analyzer:
    """Everything an analysis needs, with its models loaded on first use (or by `preload`)."""

    def __init__(self, *, languages: list[str], high_accuracy: bool, keywords: int) -> None:
        self.languages = languages
        self.keywords = keywords
        self.language = LanguageDetection(languages, high_accuracy=high_accuracy)
        self.sentiment = SentimentAnalysis()
        self.readability = ReadabilityAnalysis()

    def preload(self) -> None:
        """Load every model now, so the first request does not wait for them."""
        for code in self.languages:  # each language's syllables and stop words
            self.analyze(SAMPLES.get(code, SAMPLES["en"]), code)
        self.analyze(SAMPLES["en"], None)  # detection, which loads every language's model

    def analyze(self, text: str, language: str | None) -> dict[str, Any]:
        clusters = texts.graphemes(text)
        emoji = texts.emojis(text, clusters)
        counts = texts.count(text, clusters, emoji)
        hashtags = little_text.hashtag_spans(text)
        mentions = little_text.mentions(text)
        links = texts.links(text)
        # Language, tone, keywords and readability read what LinkedIn would publish: the first
        # 3000 characters. The counts and the rules read it all (over_limit says by how much),
        # and a 30,000-character text costs little more than a post.
        publishable = len("".join(clusters[: rules.MAX_GRAPHEMES]))
        cuts: list[texts.Span | little_text.Mention] = [*links, *mentions]
        prose = _prose(text[:publishable], [cut for cut in cuts if cut.end <= publishable])
        detected = self.language.detect(prose) if language is None else Detected(language, 1.0)
        code = detected.code
        hook = folding.hook_of(text)
        desktop = folding.desktop(clusters, hook)
        mobile = folding.mobile(clusters, hook)
        findings = rules.check(
            rules.Draft(
                text=text,
                publishable=publishable,
                counts=counts,
                hook=hook,
                mobile_fold=mobile,
                hashtags=hashtags,
                links=links,
                templates=[(t.start, t.end) for t in hashtags]
                + [(m.start, m.end) for m in mentions],
            )
        )
        keywords = (
            extract_keywords(prose, stopwords=stopwords_for(code or ""), top=self.keywords)
            if counts.words
            else []
        )
        sentiment = self.sentiment.score(text, language=code, emoji=emoji)
        readability = (
            self.readability.measure(prose, language=code) if texts.HAS_WORD.search(prose) else None
        )
        found = [f"#{tag.tag}" for tag in hashtags]
        return {
            "analyzer_version": VERSION,
            "counts": {
                "characters": counts.characters,
                "graphemes": counts.graphemes,
                "words": counts.words,
                "sentences": counts.sentences,
                "lines": counts.lines,
                "paragraphs": counts.paragraphs,
                "emojis": counts.emojis,
            },
            "fits_linkedin": not any(f.severity == "error" for f in findings),
            "language": {
                "code": code,
                "confidence": detected.confidence,
                "source": "detected" if language is None else "given",
            },
            "sentiment": {
                "compound": sentiment.compound,
                "label": sentiment.label,
                "basis": sentiment.basis,
            },
            "readability": None
            if readability is None
            else {
                "reading_ease": readability.reading_ease,
                "reading_ease_formula": readability.reading_ease_formula,
                "grade_level": readability.grade_level,
                "grade_level_formula": readability.grade_level_formula,
            },
            "keywords": [{"keyword": word, "score": round(score, 6)} for word, score in keywords],
            "hashtags": {
                "found": found,
                "count": len(found),
                "suggested": suggest_hashtags(keywords, found),
            },
            "mentions": [{"name": m.name, "urn": m.urn} for m in mentions],
            "links": [link.text for link in links],
            "fold": {
                "hook": hook,
                "desktop": _fold(desktop),
                "mobile": _fold(mobile),
            },
            "findings": [
                {
                    "rule": f.rule,
                    "severity": f.severity,
                    "message": f.message,
                    "start": f.start,
                    "end": f.end,
                }
                for f in findings
            ],
            "score": rules.score(findings),
        }


def _fold(fold: folding.Fold) -> dict[str, Any]:
    return {"visible": fold.visible, "truncated": fold.truncated, "hook_fits": fold.hook_fits}


def _prose(text: str, cuts: Sequence[texts.Span | little_text.Mention]) -> str:
    """What keywords and readability read: the text without links and mentions, whose words
    are not the post's subject, and with every line a sentence."""
    pieces: list[str] = []
    done = 0
    for cut in sorted(cuts, key=lambda cut: cut.start):  # a link may sit in a mention name
        pieces += (text[done : cut.start], " ")
        done = max(done, cut.end)
    pieces.append(text[done:])
    return end_lines("".join(pieces))


def end_lines(text: str) -> str:
    """UNPUNCTUATED_LINE_END.sub(".\\n", text), line by line: the pattern, which starts with a
    lookbehind, is tried at every character of the text; this looks at each line's end."""
    if "\n" not in text:
        return text
    lines = text.split("\n")
    for index in range(len(lines) - 1):  # the last line has no line break after it
        line = lines[index].rstrip(" \t\r")
        last = line[-1:]
        if last and (last.isalnum() if last.isascii() else texts.HAS_WORD.match(last)):
            lines[index] = line + "."
    return "\n".join(lines)


def suggest_hashtags(keywords: list[tuple[str, float]], found: list[str]) -> list[str]:
    """Hashtags made of the best keywords that the post does not carry yet."""
    room = min(MAX_SUGGESTED_HASHTAGS, rules.MAX_HASHTAGS - len(found))
    have = {tag.lower() for tag in found}
    suggested: list[str] = []
    for keyword, _ in keywords:
        if len(suggested) >= room:
            break
        if keyword.count(" ") >= MAX_TAG_WORDS:  # a three-word tag is a sentence, not a topic
            continue
        # French and Italian elisions (l'année, dell'anno) tag the noun alone.
        words = [NOT_TAG.sub("", ELISION.sub("", word)) for word in keyword.split()]
        tag = "#" + "".join(word[:1].upper() + word[1:] for word in words if word)
        if (
            2 < len(tag) <= 51
            and not tag[1:].isdigit()
            and tag.lower() not in have
            and tag[1:].lower() not in rules.BAIT_HASHTAGS
        ):
            have.add(tag.lower())
            suggested.append(tag)
    return suggested
