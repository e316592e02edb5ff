"""YAKE keywords (Campos et al., Information Sciences 2020), computed exactly as yake 0.7.x does.

yake needs numpy and networkx (about 40 MB per process) and spends ~18 ms on a 3000-character
post; this is its pipeline on plain dicts and lists: the same candidates, features, scores,
order among equal scores, deduplication and casing. Sentences and tokens are segtok 1.5.11's
(what yake uses), reproduced with its own patterns (segtok: MIT License, Copyright 2020 Florian
Leitner) but with far fewer regex calls per text. tests/analysis/test_keywords.py holds both to
the libraries.
"""

import functools
import html
import math
import re
import string
from collections.abc import Iterator
from typing import Any

import regex
from stop_words import StopWordError, get_stop_words  # type: ignore[import-untyped]

# --- Sentences and tokens: segtok's split_multi, web_tokenizer and split_contractions ---------

_TERMINALS = ".!?\u203c\u203d\u2047\u2048\u2049\u3002\ufe52\ufe57\uff01\uff0e\uff1f\uff61"
_TERMINAL_SET = frozenset(_TERMINALS)
_HYPHENS = "\u00ad\u058a\u05be\u0f0c\u1400\u1806\u2010-\u2012\u2e17\u30a0-"
_APOSTROPHES = "'\u00b4\u02b9\u02bc\u2019\u2032"
_APOSTROPHE = r"[\u00B4\u02B9\u02BC\u2019\u2032]"
_LETTER = r"[\p{Ll}\p{Lm}\p{Lt}\p{Lu}]"
_ALNUM = r"[\p{Ll}\p{Lm}\p{Lt}\p{Lu}\p{Nd}\p{Nl}]"
_HYPHEN = f"[{_HYPHENS}]"
_V = regex.UNICODE | regex.VERBOSE

# fmt: off
_ABBREVIATION_WORDS = [
    "approx", "Capt", "cf", "Col", "Dr", r"f\.?e", "figs?", "Gen", r"e\.?g", r"i\.?e", r"i\.?v",
    "Mag", "med", "Mr", "Mrs", "Mt", "nat", "No", "nr", r"p\.e", "phil", "prof", "rer",
    "sci", "Sgt", "Sr", "Sra", "Srta", "St", "univ", "vol", "vs", r"z\.B",
    "Jän", "Jan", "Ene", "Feb", "Mär", "Mar", "Apr", "Abr", "May", "Jun", "Jul", "Aug", "Sep",
    "Sept", "Oct", "Okt", "Nov", "Dic", "Dez", "Dec", r"E\.U", r"U\.K", r"U\.S",
]
# fmt: on
_ABBREVIATION_WORDS += [a.capitalize() for a in _ABBREVIATION_WORDS if a[0].islower()]
_ABBREVIATION = regex.compile(
    r"""
(?: \b(?:"""
    + "|".join(sorted(_ABBREVIATION_WORDS))
    + r""")
|   ^\S
|   ^\d+
|   (?: \b
        (?: [Bb]y
        |   [Cc](?:aptain|ommander)
        |   [Dd]o[ck]tor
        |   [Gg]eneral
        |   [Mm](?:ag)?is(?:ter|s)
        |   [Pp]rofessor
        |   [Ss]e\u00F1or(?:it)?a?
        ) \s
    |   (?: (?<! \b\p{Lu}\p{Lm}? ) , (?: \s and )?
        |   (?<! \b[\p{Lu},]\p{Lm}? ) \s and
        ) \s
    |   [\[\(]
    ) (?:
        [\p{Lu}\p{Lt}] \p{Lm}? \.
        ["""
    + _HYPHENS
    + r"""]?
    )? [\p{Lu}\p{Lt}] \p{Lm}?
) $""",
    _V,
)
# Searched backwards from the end: the same matches, found in a tenth of the time. A match other
# than the whole-string ones (^\S, ^\d+) is at most 16 characters long, plus a final newline for
# "$", so only the tail is searched; lookbehinds and \b still see the characters before it.
_ABBREVIATION_BACKWARDS = regex.compile(_ABBREVIATION.pattern, _ABBREVIATION.flags | regex.REVERSE)
_ABBREVIATION_TAIL = 20


def _spellings(word: str) -> list[str]:
    """The strings an entry of _ABBREVIATION_WORDS matches (it holds no other syntax than these)."""
    if r"\.?" in word:
        before, after = word.split(r"\.?", 1)
        return _spellings(before + after) + _spellings(before + r"\." + after)
    if word.endswith("s?"):
        return _spellings(word[:-2]) + _spellings(word[:-1])
    return [word.replace(r"\.", ".")]


# The abbreviations by their last letter, when it is a lower-case ASCII one: a text that ends with
# such a letter and none of these cannot match _ABBREVIATION, whose other branches end at a digit,
# an upper-case or modifier letter, or take one character only.
_ABBREVIATION_ENDINGS: dict[str, tuple[str, ...]] = {}
for _spelling in sorted({s for word in _ABBREVIATION_WORDS for s in _spellings(word)}):
    if "a" <= _spelling[-1] <= "z":
        _ABBREVIATION_ENDINGS[_spelling[-1]] = (
            *_ABBREVIATION_ENDINGS.get(_spelling[-1], ()),
            _spelling,
        )
_ALL_DIGITS = regex.compile(r"\d+$")
_ENDS_IN_DATE_DIGITS = regex.compile(r"\b[0123]?[0-9]$")
_MONTH = regex.compile(
    r"(J[äa]n|Ene|Feb|M[äa]r|A[pb]r|May|Jun|Jul|Aug|Sep|O[ck]t|Nov|D[ei][cz]|0?[1-9]|1[012])"
)
_CONTINUATIONS = regex.compile(
    r"""^
(?: a(?: nd|re )
|   b(?: etween|y )
|   from
|   has
|   i(?: nto|s )
|   o[fr]
|   t(?: han|hat|hrough )
|   via
|   w(?: as|ere|hether|ith )
)\b""",
    _V,
)
_CONTINUATION_STARTS = frozenset("abfhiotvw")
_BEFORE_LOWER = regex.compile(
    r""" .*?
(?: ["""
    + _TERMINALS
    + r"""]"[\)\]]*
|   ["""
    + _TERMINALS
    + r"""] [\)\]]+
|   \b spp \.
|   \b \p{L} \p{Ll}? \.
) \s+ $""",
    regex.DOTALL | _V,
)
_LOWER_WORD = regex.compile(r"^\p{Ll}+[" + _HYPHENS + r"]?\p{Ll}*\b", regex.UNICODE)
_MIDDLE_INITIAL_END = regex.compile(r"\b\p{Lu}\p{Ll}+\W+\p{Lu}$", regex.UNICODE)
_UPPER_END = regex.compile(r"\p{Lu}$", regex.UNICODE)
_UPPER_WORD_START = regex.compile(r"^\p{Lu}\p{Ll}+\b", regex.UNICODE)
_LONE_WORD = regex.compile(r"^\p{Ll}+[\p{Ll}\p{Nd}" + _HYPHENS + "]*$", regex.UNICODE)
_UPPER_CASE_END = regex.compile(r"\b[\p{Lu}\p{Lt}]\p{L}*\.\s+$", regex.UNICODE)
_UPPER_CASE_START = regex.compile(
    r"^(?:(?:\(\d{4}\)\s)?[\p{Lu}\p{Lt}]\p{L}*|\d+)[\.,:]\s+", regex.UNICODE
)
_SHORT_SENTENCE = 55
_SENTENCE_BREAK = regex.compile(
    r"""
(
    ["""
    + _TERMINALS
    + r"""]
    [\'\u2019\"\u201D]?
    [\]\)]*
    \s+
|
    \n{2,}
)""",
    _V,
)

_HYPHENATED_LINEBREAK = regex.compile(
    rf"({_ALNUM}{_HYPHEN})[\p{{Zs}}\t]*?(?:\r\n|\n|\r|\u2028)[\p{{Zs}}\t]*?({_ALNUM})",
    regex.UNICODE,
)
_CONTRACTION = regex.compile(
    r"{alnum}+(?:{hyphen}{alnum}+)*{apo}(?:d|ll|m|re|s|t|ve)$".format(
        alnum=_ALNUM, hyphen=_HYPHEN, apo="['" + _APOSTROPHE[1:]
    ),
    regex.UNICODE,
)
_APOSTROPHE_START = regex.compile(_APOSTROPHE, regex.UNICODE)
_APOSTROPHE_SET = frozenset(_APOSTROPHES)
_WORD = r"""((?:
    {alnum} \. (?!\.\.)
    | {alnum} , (?={alnum})
    | {number} : (?={number})
    | {alnum} {apo}? {hyphen} (?={alnum})
    | {apo} (?!{apo})
    | {alnum} ' (?={alnum})
    | s ' $
    | \b [yzafpn\u00B5mcdhkMGTPEZY]? {letter}{{1,3}} {power} $
    | \b (?:[A-Z][a-z]?|[\)\]])+ {subdigit}+ (?:[\u00B2\u00B3]?[\u207A\u207B])?
    | {alnum}
    )+)"""
_WORD_PARTS = dict(
    alnum=_ALNUM,
    apo=_APOSTROPHE,
    power=r"\u207B?[\u00B9\u00B2\u00B3]",
    subdigit=r"[\u2080-\u2089]",
    hyphen=_HYPHEN,
    letter=_LETTER,
    number=r"[\p{Nd}\p{Nl}]",
)
# segtok splits a sentence at spaces and each piece with this.
_WORD_IN_PIECE = regex.compile(_WORD.format(**_WORD_PARTS), _V)
# A piece that is a word (letters and digits, maybe joined by single hyphens or apostrophes, and
# maybe ending with a dot) with, before and after it, only characters that no alternative of _WORD
# starts a word with or extends one by: _WORD splits it into those three. (A dot after the word
# joins it, unless two more follow.) A piece without letters or digits stays whole. Not for
# pieces with the two apostrophes that are letters too (modifier letters prime and apostrophe).
# Possessive: any other split fails anyway, and backtracking into one is quadratic.
_INERT = rf"{_ALNUM[1:-1]}{_APOSTROPHES}\u2080-\u2089\u00B9\u00B2\u00B3\u207B\s"
_SIMPLE_PIECE = regex.compile(
    rf"(?!.*[\u02B9\u02BC])([^{_INERT}]*+)"
    rf"((?:{_ALNUM}++(?:[-'\u2019]{_ALNUM}++)*+(?:\.(?!\.\.))?+)?+)"
    rf"((?:[^{_INERT}.][^{_INERT}]*)?)",
    regex.UNICODE,
)
# _SIMPLE_PIECE on an ASCII piece, in which its classes hold only ASCII letters, digits and the
# apostrophe (no piece holds a space): `re` runs it in a fifth of regex's time.
_ASCII_INERT = "A-Za-z0-9'"
_SIMPLE_ASCII_PIECE = re.compile(
    rf"([^{_ASCII_INERT}]*+)"
    r"((?:[A-Za-z0-9]++(?:[-'][A-Za-z0-9]++)*+(?:\.(?!\.\.))?+)?+)"
    rf"((?:[^{_ASCII_INERT}.][^{_ASCII_INERT}]*)?)"
)
_SPACES = regex.compile(r"\s+", _V)
# The only characters str.split() takes for spaces and regex's \s does not.
_INFORMATION_SEPARATORS = regex.compile("[\x1c-\x1f]")
_WEB = regex.compile(
    r"""
    (?<=^|[\s<"'(\[{])
    (
        [A-z]+
        ://
        (?:[^@]+@)?
        (?:[\w-]+\.)+\w+
        (?::\d+)?
        (?:\/[^?\#\s'">)\]}]*)?
        (?:\?[^\#\s'">)\]}]+)?
        (?:\#[^\s'">)\]}]+)?
    |
        [\w.#$%&'*+/=!?^`{|}~-]+
        @
        (?:[\w-]+\.)+
        \w+
    )(?=[\s>"')\]}]|$)
    """,
    regex.VERBOSE,
)
# yake starts the text with a paragraph break when it starts with a capital (its pre_filter).
_CAPITAL_START = re.compile(r"^(\s*([A-Z]))")


def _sentences(text: str) -> list[list[str]]:
    """Return yake's tokens of each sentence (its pre_filter and tokenize_sentences)."""
    text = text.replace("\n", " ")
    text = ("\n\n" if _CAPITAL_START.match(text) else " ") + text.replace("\t", " ")
    # html.unescape() never makes these, so the text tells for every sentence.
    plain = _INFORMATION_SEPARATORS.search(text) is None
    sentences = []
    for sentence in _split_multi(text):
        if not sentence.strip():
            continue
        tokens = _web_tokens(sentence, plain)
        # Only an apostrophe (or an entity html.unescape() makes one of) splits a contraction
        # or starts a token that is dropped. (One `in` per character of _APOSTROPHES: a set's
        # isdisjoint() looks every character of the sentence up, eight times slower.)
        if (
            "'" in sentence
            or "&" in sentence
            or "\u2019" in sentence
            or "\u00b4" in sentence
            or "\u02b9" in sentence
            or "\u02bc" in sentence
            or "\u2032" in sentence
        ):
            tokens = _split_contractions(tokens)
            tokens = [w for w in tokens if w and not (w[0] == "'" and len(w) > 1)]
        sentences.append(tokens)
    return sentences


def _is_abbreviation(prev: str) -> bool:
    last = prev[-1:]
    if "a" <= last <= "z" and len(prev) > 1:  # most sentences: a test of the end is enough
        endings = _ABBREVIATION_ENDINGS.get(last)
        return endings is not None and prev.endswith(endings) and _is_abbreviation_slow(prev)
    return _is_abbreviation_slow(prev)


def _is_abbreviation_slow(prev: str) -> bool:
    if len(prev) <= _ABBREVIATION_TAIL:
        return _ABBREVIATION_BACKWARDS.search(prev) is not None
    return (
        _ABBREVIATION_BACKWARDS.search(prev, len(prev) - _ABBREVIATION_TAIL) is not None
        or _ALL_DIGITS.match(prev) is not None
    )


def _joined_at_abbreviations(spans: list[str]) -> Iterator[str]:
    segment = 0
    total = len(spans)
    for pos in range(1, total, 2):
        prev, marker = spans[pos - 1], spans[pos]
        following = spans[pos + 1] if pos + 1 < total else None
        # segtok's tests, reordered so that the cheap anchored ones run first.
        if prev[-1:].isspace():
            continue
        # Before each pattern, a test of one character it must start or end with, when ASCII.
        last = prev[-1:]
        if marker[0] == "." and (
            _is_abbreviation(prev)
            or (
                following
                and (
                    (_may_be_lower(following[0]) and _LONE_WORD.match(following))
                    or (
                        "0" <= last <= "9"
                        and _MONTH.match(following)
                        and _ENDS_IN_DATE_DIGITS.search(prev, max(0, len(prev) - 8))
                    )
                    or (
                        (not last.isascii() or "A" <= last <= "Z")
                        and _UPPER_WORD_START.match(following)
                        and _UPPER_END.search(prev, max(0, len(prev) - 2))
                        and _MIDDLE_INITIAL_END.search(prev)
                    )
                )
            )
        ):
            continue
        yield "".join(spans[segment : pos + 1])
        segment = pos + 1
    if segment < total:
        yield "".join(spans[segment:])


def _may_be_lower(char: str) -> bool:
    """Whether `char` may be a lower-case letter (\\p{Ll}): any but ASCII other than a-z."""
    return not char.isascii() or "a" <= char <= "z"


def _is_open(span: str, brackets: str = "()") -> bool:
    offset = span.find(brackets[0])
    nesting = 0 if offset == -1 else 1
    while offset != -1:
        opener = span.find(brackets[0], offset + 1)
        closer = span.find(brackets[1], offset + 1)
        if opener == -1:
            if closer == -1:
                offset = -1
            else:
                offset = closer
                nesting -= 1
        elif closer == -1 or opener < closer:
            offset = opener
            nesting += 1
        else:
            offset = closer
            nesting -= 1
    return nesting > 0


def _is_not_opened(span: str, brackets: str = "()") -> bool:
    offset = span.rfind(brackets[1])
    nesting = 0 if offset == -1 else 1
    while offset != -1:
        opener = span.rfind(brackets[0], 0, offset)
        closer = span.rfind(brackets[1], 0, offset)
        if opener == -1:
            if closer == -1:
                offset = -1
            else:
                offset = closer
                nesting += 1
        elif closer == -1 or closer < opener:
            offset = opener
            nesting -= 1
        else:
            offset = closer
            nesting += 1
    return nesting > 0


def _joins_bracketed(last: str, current: str, brackets: str) -> bool:
    return _is_open(last, brackets) and bool(
        _is_not_opened(current, brackets)
        or last.endswith(" et al. ")
        or (_UPPER_CASE_END.search(last) and _UPPER_CASE_START.match(current))
    )


def _split_multi(text: str) -> Iterator[str]:
    last: str | None = None
    for current in _joined_at_abbreviations(_SENTENCE_BREAK.split(text)):
        if last is None:
            last = current
            continue
        short = len(current) < _SHORT_SENTENCE or len(last) < _SHORT_SENTENCE
        if (
            (
                _may_be_lower(current[:1])
                and _LOWER_WORD.match(current)
                and _BEFORE_LOWER.match(last)
            )
            or (short and _joins_bracketed(last, current, "()"))
            or (short and _joins_bracketed(last, current, "[]"))
            or (current[:1] in _CONTINUATION_STARTS and _CONTINUATIONS.match(current))
        ):
            last += current
        else:
            yield last.strip()
            last = current
    if last is not None:
        yield last.strip()


def _web_tokens(sentence: str, plain: bool) -> list[str]:
    if "://" not in sentence and "@" not in sentence:
        return _word_tokens(html.unescape(sentence), plain)
    tokens: list[str] = []
    for i, part in enumerate(_WEB.split(sentence)):
        if i % 2:
            tokens.append(part)
        else:
            tokens += _word_tokens(html.unescape(part), plain)
    return tokens


def _word_tokens(text: str, plain: bool) -> list[str]:
    """Return segtok's word_tokenizer(text); `plain`: str.split() splits text as \\s+ does."""
    if "\n" in text or "\r" in text or "\u2028" in text:
        text = _HYPHENATED_LINEBREAK.sub(r"\1\2", text)
    pieces = text.split() if plain else [p for p in _SPACES.split(text) if p]
    tokens: list[str] = []
    for piece in pieces:
        if piece.isascii():
            if piece.isalnum():
                tokens.append(piece)
            elif simple_ascii := _SIMPLE_ASCII_PIECE.fullmatch(piece):
                tokens += filter(None, simple_ascii.groups())
            else:
                tokens += [t for t in _WORD_IN_PIECE.split(piece) if t]
        elif simple := _SIMPLE_PIECE.fullmatch(piece):
            tokens += filter(None, simple.groups())
        else:
            tokens += [t for t in _WORD_IN_PIECE.split(piece) if t]
    # segtok: splice the sentence terminal off the last word (looking at the last three).
    for idx, word in enumerate(reversed(tokens[-3:]), 1):
        if (
            (word[0].isascii() and word[0].isalnum())  # a start _WORD matches, no apostrophe
            or (_WORD_IN_PIECE.match(word) and not _APOSTROPHE_START.match(word))
            or not _TERMINAL_SET.isdisjoint(word)
        ):
            # Each terminal is one character: segtok's rfind(t) == last and find(t) == 0 tests.
            if len(word) == 1 or word == "...":
                pass
            elif word[-1] in _TERMINAL_SET:
                tokens[-idx] = word[:-1]
                tokens.insert(len(tokens) - idx + 1, word[-1])
            elif word[0] in _TERMINAL_SET:
                tokens[-idx] = word[0]
                tokens.insert(len(tokens) - idx + 1, word[1:])
            break
    # segtok: split dangling commas, semicolons and colons off (but never a token to nothing).
    if ("," in text or ";" in text or ":" in text) and any(
        len(t) > 1 and t[-1] in ",;:" for t in tokens
    ):
        spliced: list[str] = []
        for t in tokens:
            end = len(t)
            while end > 1 and t[end - 1] in ",;:":
                end -= 1
            spliced.append(t[:end])
            spliced += t[end:]
        tokens = spliced
    return tokens


def _split_contractions(tokens: list[str]) -> list[str]:
    idx = -1
    for token in list(tokens):
        idx += 1
        if _APOSTROPHE_SET.isdisjoint(token) or _CONTRACTION.match(token) is None:
            continue
        length = len(token)
        for pos in range(length - 1, -1, -1):
            if token[pos] in _APOSTROPHES:
                cut = pos
                if length > 2 and pos + 2 == length and token[-1] == "t" and token[pos - 1] == "n":
                    cut -= 1
                tokens.insert(idx, token[:cut])
                idx += 1
                tokens[idx] = token[cut:]
    return tokens


# --- YAKE ------------------------------------------------------------------------------------

_PUNCTUATION = string.punctuation
_WITHOUT_PUNCTUATION = str.maketrans("", "", string.punctuation)
# A token of punctuation only ends a block of words: no candidate or co-occurrence spans it.
_SEPARATOR = (-1, "", False, False, False, True)


def _tag(word: str) -> str:
    """Return yake's tag for a word that does not start its sentence (at the start, n is p)."""
    if word.isascii() and word.isalpha():
        if word.isupper():
            return "a"
        return "n" if len(word) > 1 and word[0].isupper() and word[1:].islower() else "p"
    no_commas = word.replace(",", "")
    if no_commas.isdigit() or no_commas.replace(".", "", 1).isdigit():
        return "d"
    digits = letters = punctuation = 0
    for c in word:
        if c.isdigit():
            digits += 1
        if c.isalpha():
            letters += 1
        if c in _PUNCTUATION:
            punctuation += 1
    if (digits > 0 and letters > 0) or (digits == 0 and letters == 0) or punctuation > 1:
        return "u"
    if word.isupper():
        return "a"
    if len(word) > 1 and word[0].isupper() and sum(c.isupper() for c in word) == 1:
        return "n"
    return "p"


def _pairwise_sum(values: list[float], start: int, n: int) -> float:
    """Add up values[start:start + n] in numpy's order, so that a std is numpy's to the last bit."""
    if n < 8:
        total = 0.0
        for i in range(start, start + n):
            total += values[i]
        return total
    if n <= 128:
        r = values[start : start + 8]
        i = 8
        while i < n - n % 8:
            for j in range(8):
                r[j] += values[start + i + j]
            i += 8
        total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for k in range(start + i, start + n):
            total += values[k]
        return total
    half = n // 2
    half -= half % 8
    return _pairwise_sum(values, start, half) + _pairwise_sum(values, start + half, n - half)


def _similarity(a: str, b: str) -> float:
    """Return yake 0.7's "seqm" (length, character, word and trigram overlap, and its filter)."""
    len_a, len_b = len(a), len(b)
    longest = max(len_a, len_b)
    if abs(len_a - len_b) > longest * 0.6:
        return 0.0
    if longest > 3:
        if a[0] != b[0] or a[-1] != b[-1]:
            return 0.0
        if min(len_a, len_b) >= 3 and a[:2].lower() != b[:2].lower():
            return 0.0
    if abs(a.count(" ") - b.count(" ")) > 1:
        return 0.0
    if a == b:
        return 1.0
    len_ratio = min(len_a, len_b) / longest
    if len_ratio < 0.3:
        return 0.0
    a, b = a.lower(), b.lower()
    chars_a, chars_b = set(a), set(b)
    chars_union = chars_a | chars_b
    if not chars_union:
        return 0.0
    char_overlap = len(chars_a & chars_b) / len(chars_union)
    if char_overlap < 0.2:
        return 0.0
    if longest <= 4:
        return char_overlap * len_ratio
    words_a, words_b = a.split(), b.split()
    if len(words_a) > 1 or len(words_b) > 1:
        word_union = set(words_a) | set(words_b)
        if word_union:
            word_overlap = len(set(words_a) & set(words_b)) / len(word_union)
            if word_overlap > 0.4:
                return word_overlap
    trigrams_a = {a[i : i + 3] for i in range(len(a) - 2)}
    trigrams_b = {b[i : i + 3] for i in range(len(b) - 2)}
    trigram_union = trigrams_a | trigrams_b
    trigram_overlap = len(trigrams_a & trigrams_b) / len(trigram_union) if trigram_union else 0
    return min(0.3 * len_ratio + 0.2 * char_overlap + 0.5 * trigram_overlap, 1.0)


# What a word's token holds that no text changes, kept per stop word list from call to call, since
# words recur from post to post; at most this many words per list (about 1.4 MB), then the list
# starts over.
_KNOWN_WORDS = 1 << 13
_KNOWN_LISTS = 16
_known: dict[frozenset[str], dict[str, tuple[str, str, bool, bool, bool, bool] | tuple[()]]] = {}


def _known_words(
    stopwords: frozenset[str],
) -> dict[str, tuple[str, str, bool, bool, bool, bool] | tuple[()]]:
    known = _known.get(stopwords)
    if known is None:
        if len(_known) >= _KNOWN_LISTS:
            _known.clear()
        known = _known[stopwords] = {}
    return known


def _describe(
    word: str, stopwords: frozenset[str]
) -> tuple[str, str, bool, bool, bool, bool] | tuple[()]:
    """Return a word's lower case, its term, whether it is tagged neither "u" nor "d", is an
    acronym, is a proper noun (when not first in its sentence), and is a stop word (when it is the
    first word of its term in the text); nothing for a token of punctuation only."""
    if not word.strip(_PUNCTUATION):
        return ()
    tag = _tag(word)
    lower = word.lower()
    unique = lower[:-1] if lower.endswith("s") and len(lower) > 3 else lower
    stop_word = (
        lower in stopwords or unique in stopwords or len(unique.translate(_WITHOUT_PUNCTUATION)) < 3
    )
    return (lower, unique, tag not in "ud", tag == "a", tag == "n", stop_word)


# An n-gram: [its occurrences, whether one had no "u"/"d" word, its first casing, its terms]. A
# list rather than an object: a text makes hundreds, and a list costs a third of an instance.
_Candidate = list[Any]


def extract_keywords(
    text: str,
    *,
    stopwords: frozenset[str],
    top: int = 8,
    max_ngram: int = 3,
    window: int = 1,
    dedup_threshold: float = 0.9,
) -> list[tuple[str, float]]:
    """Return the `top` YAKE keywords of `text`, most relevant (lowest score) first.

    The same keywords, casing, scores and order as yake 0.7's KeywordExtractor(n=max_ngram,
    dedup_lim=dedup_threshold, dedup_func="seqm", window_size=window, top=top,
    stopwords=stopwords); `stopwords` must be lower-case, as stopwords_for() gives them.
    """
    if not text or top < 1:
        return []
    sentences = _sentences(text)
    longest = max(max_ngram, 1) - 1

    # Terms: a word lower-cased, without a final "s" when longer than three characters.
    term_ids: dict[str, int] = {}
    stop: list[bool] = []
    # The co-occurrence graph (yake's networkx DiGraph): edge (left, right) at left*stride+right.
    # No text has more terms than tokens: the per-term counts are made that long at once.
    stride = sum(map(len, sentences)) + 1
    tf = [0] * stride
    tf_acronym = [0] * stride
    tf_proper = [0] * stride
    term_sentences: list[list[int]] = []  # the sentences a term is in
    edges: dict[int, int] = {}
    out_degree = [0] * stride
    out_weight = [0] * stride
    in_degree = [0] * stride
    in_weight = [0] * stride
    # An n-gram that starts or ends with a stop word is never a keyword, so is not kept.
    candidates: dict[str, _Candidate] = {}
    # A token: its term (-1 for punctuation), lower case, whether it is tagged neither "u" nor
    # "d", is an acronym, is a proper noun (when not first in its sentence), is a stop word.
    tokens: dict[str, tuple[int, str, bool, bool, bool, bool]] = {}
    known = _known_words(stopwords)

    for sentence_id, sentence in enumerate(sentences):
        block_terms: list[int] = []
        block_lower: list[str] = []
        block_words: list[str] = []
        block_ok: list[bool] = []
        block_stop: list[bool] = []
        for position, word in enumerate(sentence):
            token = tokens.get(word)
            if token is None:
                described = known.get(word)
                if described is None:
                    described = _describe(word, stopwords)
                    if len(known) >= _KNOWN_WORDS:
                        known.clear()
                    known[word] = described
                if not described:
                    token = _SEPARATOR
                else:
                    lower, unique, ok, acronym, proper, stop_word = described
                    term = term_ids.get(unique)
                    if term is None:
                        term = term_ids[unique] = len(stop)
                        stop.append(stop_word)
                        term_sentences.append([])
                    token = (term, lower, ok, acronym, proper, stop[term])
                tokens[word] = token
            term, lower, ok, acronym, proper, is_stop = token
            if term < 0:
                if block_terms:
                    block_terms, block_lower, block_words, block_ok, block_stop = [], [], [], [], []
                continue

            tf[term] += 1
            if acronym:
                tf_acronym[term] += 1
            elif proper and position:
                tf_proper[term] += 1
            seen_in = term_sentences[term]
            if not seen_in or seen_in[-1] != sentence_id:
                seen_in.append(sentence_id)

            # `while` rather than `for` over a range in both loops below: they run for most
            # tokens, and making a range costs more than the one or two steps each takes.
            size = len(block_terms)
            if ok:
                j = size - window if size > window else 0
                while j < size:
                    if block_ok[j]:
                        left = block_terms[j]
                        edge = left * stride + term
                        count = edges.get(edge)
                        if count is None:
                            edges[edge] = 1
                            out_degree[left] += 1
                            in_degree[term] += 1
                        else:
                            edges[edge] = count + 1
                        out_weight[left] += 1
                        in_weight[term] += 1
                    j += 1

            if not is_stop:
                found = candidates.get(lower)
                if found is None:
                    candidates[lower] = [1, ok, word, (term,)]
                else:
                    found[0] += 1
                    if ok:
                        found[1] = True
                # The n-grams that end here, but only those that start with no stop word.
                key = lower
                all_ok = ok
                first = size - 1
                end = size - 1 - longest if size > longest else -1
                while first > end:
                    key = f"{block_lower[first]} {key}"
                    all_ok = all_ok and block_ok[first]
                    if not block_stop[first]:
                        found = candidates.get(key)
                        if found is None:
                            candidates[key] = [
                                1,
                                all_ok,
                                " ".join([*block_words[first:], word]),
                                (*block_terms[first:], term),
                            ]
                        else:
                            found[0] += 1
                            if all_ok:
                                found[1] = True
                    first -= 1

            block_terms.append(term)
            block_lower.append(lower)
            block_words.append(word)
            block_ok.append(ok)
            block_stop.append(is_stop)

    terms = len(stop)
    del tf[terms:]
    return _ranked(
        candidates,
        stop=stop,
        tf=tf,
        tf_case=(tf_acronym, tf_proper),
        term_sentences=term_sentences,
        degrees=(in_degree, in_weight, out_degree, out_weight),
        edges=edges,
        stride=stride,
        sentences=len(sentences),
        top=top,
        dedup_threshold=dedup_threshold,
    )


def _ranked(
    candidates: dict[str, _Candidate],
    *,
    stop: list[bool],
    tf: list[int],
    tf_case: tuple[list[int], list[int]],
    term_sentences: list[list[int]],
    degrees: tuple[list[int], list[int], list[int], list[int]],
    edges: dict[int, int],
    stride: int,
    sentences: int,
    top: int,
    dedup_threshold: float,
) -> list[tuple[str, float]]:
    counted = [n for n, is_stop in zip(tf, stop, strict=True) if not is_stop]
    if not counted:
        return []
    # Term scores, operation for operation as yake computes them (with numpy's mean and std).
    max_tf = max(tf)
    mean = sum(counted) / len(counted)
    squares = [(n - mean) * (n - mean) for n in counted]
    spread = mean + math.sqrt(_pairwise_sum(squares, 0, len(squares)) / len(squares))
    in_degree, in_weight, out_degree, out_weight = degrees
    tf_acronym, tf_proper = tf_case
    log = math.log
    h = [0.0] * len(tf)
    for t, is_stop in enumerate(stop):
        if is_stop:
            continue  # yake scores these too, but never uses the score
        n = tf[t]
        left = 0 if in_weight[t] == 0 else in_degree[t] / in_weight[t]
        right = 0 if out_weight[t] == 0 else out_degree[t] / out_weight[t]
        relatedness = (0.5 + (left * (n / max_tf))) + (0.5 + (right * (n / max_tf)))
        frequency = n / spread
        ids = term_sentences[t]
        middle = len(ids) // 2
        median = ids[middle] if len(ids) % 2 else (ids[middle - 1] + ids[middle]) / 2
        position = log(log(3.0 + median))
        acronym, proper = tf_acronym[t], tf_proper[t]
        casing = (acronym if acronym >= proper else proper) / (1.0 + log(n))
        h[t] = (position * relatedness) / (
            casing + (frequency / relatedness) + (len(ids) / sentences / relatedness)
        )

    # Candidate scores: stop words inside an n-gram count by how strongly they bind their
    # neighbours (yake's "bi" weighting).
    keys: list[str] = []
    scores: list[float] = []
    for key, (occurrences, ok, _, terms) in candidates.items():
        if not ok or stop[terms[0]] or stop[terms[-1]]:
            continue
        if len(terms) == 1:  # what the loop below computes for one word
            one = h[terms[0]]
            scores.append(one / ((one + 1) * occurrences))
            keys.append(key)
            continue
        sum_h = 0.0
        prod_h = 1.0
        last = len(terms) - 1
        for i, t in enumerate(terms):
            if not stop[t]:
                sum_h += h[t]
                prod_h *= h[t]
                continue
            before = after = 0.0
            if i > 0:
                count = edges.get(terms[i - 1] * stride + t)
                if count is not None:
                    before = count / tf[terms[i - 1]]
            if i < last:
                count = edges.get(t * stride + terms[i + 1])
                if count is not None:
                    after = count / tf[terms[i + 1]]
            bond = before * after
            prod_h *= 1 + (1 - bond)
            sum_h -= 1 - bond
        divisor = (sum_h + 1) * occurrences
        # yake divides numpy floats: a zero divisor (stop words can bring sum_h to -1) gives inf.
        scores.append(prod_h / divisor if divisor else math.inf)
        keys.append(key)

    order = sorted(range(len(keys)), key=scores.__getitem__)
    if dedup_threshold >= 1.0:
        return [(keys[i], scores[i]) for i in order[:top]]  # yake returns these lower-cased
    kept: list[int] = []
    for i in order:
        key = keys[i]
        if all(_similarity(key, keys[j]) <= dedup_threshold for j in kept):
            kept.append(i)
            if len(kept) == top:
                break
    return [(candidates[keys[i]][2], scores[i]) for i in kept]


@functools.lru_cache(maxsize=256)
def stopwords_for(language: str) -> frozenset[str]:
    """Return the lower-cased stop words of an ISO 639-1 code (or a name stop-words knows).

    For a language it has no list for, yake reads stopwords_noLang.txt, which is empty: only its
    rule that words shorter than three characters are stop words applies. So does it here.
    """
    code = language.strip().lower()
    for name in (code, code.replace("_", "-").split("-")[0], _ALIASES.get(code, "")):
        try:
            return frozenset(word.lower() for word in get_stop_words(name))
        except StopWordError:
            continue
    return frozenset()


# ISO 639-1 codes that stop-words knows under another code.
_ALIASES = {"no": "nb", "nn": "nb"}
