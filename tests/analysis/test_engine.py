"""The text keywords and readability read: with every line a sentence."""

from hypothesis import given, settings
from hypothesis import strategies as st

from linkedin_posts.analysis.engine import UNPUNCTUATED_LINE_END, end_lines

LINES = st.lists(
    st.sampled_from([*"ab1 \t\r\n.!\u00e9\u00b2\u2167_-\u0301\x0b\u2028", "\r\n", " \n", "🚀"]),
    max_size=30,
).map("".join)


@settings(max_examples=1000, deadline=None)
@given(LINES)
def test_each_line_ends_a_sentence_as_the_pattern_ends_it(text: str) -> None:
    assert end_lines(text) == UNPUNCTUATED_LINE_END.sub(".\n", text)
