"""The speed-only rewrites give the answers of what they replaced, on any
text (hypothesis) and on every function of a real tree."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from xenpatch.analysis.summaries import _assigned, _assigned_slow

# C-ish fragments: the characters and words the patterns turn on.
_TOKENS = st.sampled_from([
    "x", "y", "x1", "xy", "_x", "1x", " ", "\n", "\t", "=", "==", "!=", "<=", ">=", "+=",
    "-=", "<<=", ">>=", "|=", "&=", "^=", "*=", "/=", "%=", "++", "--", "&", "&&", "(", ")",
    ",", ";", "->", ".", "*", "-", "+", "<", ">", "!", "[", "]", "{", "}", "é",
])


@settings(max_examples=2000, deadline=None)
@given(st.lists(_TOKENS, max_size=14), st.sampled_from(["x", "y", "x1", "xy", "_x"]))
def test_assigned_equals_the_per_name_pattern(tokens: list[str], var: str) -> None:
    body = "".join(tokens)
    assert _assigned(body, var) == _assigned_slow(body, var), (body, var)


def test_assigned_shapes() -> None:
    for body in ("x = 1", "x+=1", "x <<= 2", "x++", "++ x", "--x", "f(&x)", "a, &x",
                 "\n& x", "p->x = 1"):
        assert _assigned(body, "x"), body
    for body in ("x == 1", "x != 1", "x <= 1", "xx = 1", "f(x)", "a && x", "y = x",
                 "&xy", "++xy"):
        assert not _assigned(body, "x"), body
