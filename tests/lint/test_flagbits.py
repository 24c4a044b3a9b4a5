"""A take's condition on one bit of a flags word (analysis/flagbits.py):
macro constants evaluated, the condition bound to a parameter's bit and
to a call's argument.  The fixture fixtures/lint/flagbit.c shows it end to
end (test_fixtures.py)."""

from __future__ import annotations

from xenpatch.analysis import flagbits
from xenpatch.analysis.flagbits import Masks
from xenpatch.c import fields as fid
from xenpatch.c.source import parse_bytes
from xenpatch.lint.config import LintConfig

RAW = b"""
#define F_A     (1U << 0)
#define F_B     (1U << 2)
#define F_NONE  (0U << 2)
#define F_AB    (F_A | F_B)
#define F_TWICE 1
#define F_TWICE 2
#define F_TYPE  unsigned int
#define F_SELF  F_SELF
"""


def masks() -> Masks:
    return Masks(None, None, RAW)


def test_macros_are_evaluated() -> None:
    m = masks()
    assert m.value("F_B") == 4
    assert m.value("F_AB") == 5
    assert m.value("(F_AB|F_NONE)&F_B") == 4
    assert m.value("~F_A & 0x7") == 6
    assert m.value("F_TWICE") is None  # two values: none
    assert m.value("F_TYPE") is None
    assert m.value("F_SELF") is None
    assert m.value("n & F_B") is None
    assert m.value("1 << 99") is None


def test_a_constant_arguments_bit() -> None:
    assert flagbits.truth("(F_A|F_NONE)&0x4", masks()) is False
    assert flagbits.truth("(F_A|F_B)&0x4", masks()) is True
    assert flagbits.truth("F_B&0x4", masks(), {"F_B"}) is None  # a variable of that name


def test_a_parameters_bit() -> None:
    params = ["s", "flags"]
    assert flagbits.param_bit("flags&F_B", params, masks()) == "$1&0x4"
    assert flagbits.param_bit("F_B&flags", params, masks()) == "$1&0x4"
    assert flagbits.param_bit("flags&F_B", params, masks(), {"flags"}) is None
    assert flagbits.param_bit("flags&&F_B", params, masks()) is None
    assert flagbits.param_bit("flags&F_B|F_A", params, masks()) is None
    assert flagbits.bind("$1&0x4", ["s", "F_A|F_B"]) == "(F_A|F_B)&0x4"
    assert flagbits.bind("$1", ["s", "x"]) is None


def test_a_local_word() -> None:
    text = RAW + b"""
int f(int w, int v)
{
    unsigned int zero = F_A;
    unsigned int one = F_B;
    unsigned int may = F_A;
    unsigned int any = F_A;
    zero |= w ? F_A : F_NONE;
    may |= w ? F_B : F_A;
    any += 1;
    return g(zero, one, may, any, v);
}
"""
    root = parse_bytes("word.c", text, LintConfig.load().macros).root
    fn = next(n for n in root.named_children if n.type == "function_definition")
    body = fn.child_by_field_id(fid.BODY)
    names = {"w", "v", "zero", "one", "may", "any"}
    local = {"zero", "one", "may", "any"}
    m = masks()
    assert flagbits.word_truth("zero&F_B", body, local, names, m) is False
    assert flagbits.word_truth("one&F_B", body, local, names, m) is True
    assert flagbits.word_truth("may&F_B", body, local, names, m) is None
    assert flagbits.word_truth("any&F_B", body, local, names, m) is None
    assert flagbits.word_truth("v&F_B", body, local, names, m) is None  # a parameter
