"""functions.fresh_copy: a kept FunctionInfo's copy for one caller to fill in
(analysis/kept.py) equals the original field by field and shares no mutable
container with it (but the file's read-only ones, typed Mapping), whatever
fields FunctionInfo grows."""

from __future__ import annotations

from dataclasses import fields

from xenpatch.analysis.functions import FunctionInfo, fresh_copy


def _filled(info: FunctionInfo) -> FunctionInfo:
    """Every container field given a distinct item, so that a shifted or
    dropped field shows as an inequality, not as two empty sets."""
    for f in fields(info):
        v = getattr(info, f.name)
        if isinstance(v, set):
            v.add(f"{f.name}-item")
        elif isinstance(v, dict):
            v[f"{f.name}-key"] = []
        elif isinstance(v, list):
            v.append([f.name])
    return info


def test_a_copy_equals_and_shares_nothing_mutable():
    info = _filled(FunctionInfo("f", ["a"], {"a": "int"}, {}, set(), set()))
    copy = fresh_copy(info)
    for f in fields(info):
        a, b = getattr(info, f.name), getattr(copy, f.name)
        assert a == b, f.name
        # A Mapping-typed field is the file's, read-only: shared on purpose.
        if isinstance(a, (set, dict, list)) and not str(f.type).startswith("Mapping"):
            assert a is not b, f"{f.name} is shared"
