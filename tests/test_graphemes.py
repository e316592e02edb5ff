"""graphemes: the fast split and count give exactly what regex's \\X finds, on any text.

The characters drawn are the ones that decide cluster boundaries next to ASCII: combining marks,
joiners, variation selectors, keycaps, skin tones, regional indicators, a prepended mark, Hangul
jamo, and CR and LF.
"""

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from linkedin_posts import graphemes

CLUSTER = regex.compile(r"\X")
AROUND_ASCII = [
    "a", "Z", "1", "#", "*", " ", "\n", "\r", "\t", "\x00", "\x7f",
    "\u0301",  # combining acute accent (Extend)
    "\u200d",  # zero-width joiner
    "\ufe0f", "\ufe0e",  # variation selectors 16 and 15
    "\u20e3",  # combining enclosing keycap
    "\U0001f3fd",  # skin tone modifier
    "\U0001f1ea", "\U0001f1f8",  # regional indicators
    "\u0600",  # Arabic number sign (Prepend)
    "\u0903",  # Devanagari sign visarga (SpacingMark)
    "\u1100", "\u1161", "\u11a8",  # Hangul L, V and T jamo
    "\U0001f469", "\U0001f4bb", "\u2764",  # pictographs joined into ZWJ sequences
    "é", "ß", "\u2028",
]  # fmt: skip
TEXTS = st.text(alphabet=st.sampled_from(AROUND_ASCII), max_size=40) | st.text(max_size=40)


@settings(max_examples=1000, deadline=None)
@given(TEXTS)
def test_split_and_count_agree_with_regex_on_any_text(text: str) -> None:
    expected = CLUSTER.findall(text)
    assert graphemes.split(text) == expected
    assert graphemes.count(text) == len(expected)


def test_an_ascii_character_joins_the_marks_after_it() -> None:
    text = "ok 1\ufe0f\u20e3 cafe\u0301\r\nne\u0301e \U0001f44d\U0001f3fd!"
    assert graphemes.split(text) == [
        "o", "k", " ", "1\ufe0f\u20e3", " ", "c", "a", "f", "e\u0301", "\r\n",
        "n", "e\u0301", "e", " ", "\U0001f44d\U0001f3fd", "!",
    ]  # fmt: skip
    assert graphemes.count(text) == 16


def test_plain_ascii_is_one_cluster_per_character_but_crlf() -> None:
    assert graphemes.split("a\r\nb\rc\n") == ["a", "\r\n", "b", "\r", "c", "\n"]
    assert graphemes.count("a\r\nb\rc\n") == 6
    assert graphemes.split("") == []
    assert graphemes.count("") == 0
