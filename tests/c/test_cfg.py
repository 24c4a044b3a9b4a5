"""Control flow graphs of C functions (xenpatch/c/cfg.py)."""

from __future__ import annotations

from xenpatch.c.cfg import Cfg, CfgConfig, Kind, build_cfg, file_flow_macros
from xenpatch.c.masking import default_macro_table
from xenpatch.c.source import function_name, functions, parse_bytes

CONFIG = CfgConfig(noreturn=frozenset({"BUG", "panic"}), goto_macros={"PIN_FAIL": (0, False)})


def cfg_of(code: str, config: CfgConfig = CONFIG) -> tuple[Cfg, object]:
    src = parse_bytes("t.c", code.encode(), default_macro_table())
    fn = functions(src.root)[0]
    return build_cfg(src, fn, function_name(src, fn) or "?", config), src


def exit_lines(cfg: Cfg) -> list[int]:
    """Lines of RETURN nodes reachable from the entry."""
    seen, todo, out = set(), [cfg.entry], []
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        node = cfg.nodes[n]
        if node.kind is Kind.RETURN:
            out.append(node.line)
        todo.extend(node.succ)
    return sorted(out)


def reachable_kinds(cfg: Cfg) -> set[Kind]:
    seen, todo = set(), [cfg.entry]
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(cfg.nodes[n].succ)
    return {cfg.nodes[n].kind for n in seen}


def test_if_else_and_returns() -> None:
    cfg, _ = cfg_of("int f(int a)\n{\n    if ( a )\n        return 1;\n    else\n"
                    "        a++;\n    return 0;\n}\n")
    assert cfg.complete
    assert exit_lines(cfg) == [4, 7]


def test_fall_off_end_is_the_closing_brace() -> None:
    cfg, _ = cfg_of("void f(void)\n{\n    g();\n}\n")
    assert exit_lines(cfg) == [4]


def test_short_circuit_conditions_split() -> None:
    cfg, _ = cfg_of("void f(int a, int b)\n{\n    if ( a && !b )\n        g();\n}\n")
    conds = [n for n in cfg.nodes if n.kind is Kind.COND]
    assert len(conds) == 2


def test_constant_conditions_fold() -> None:
    cfg, _ = cfg_of("void f(void)\n{\n    do { g(); } while ( 0 );\n    for ( ;; )\n"
                    "        if ( h() ) return;\n}\n")
    assert exit_lines(cfg) == [5]  # the for(;;) never falls through


def test_switch_fall_through_and_default() -> None:
    code = ("int f(int x)\n{\n    switch ( x )\n    {\n    case 0:\n        g();\n"
            "    case 1:\n        return 1;\n    default:\n        break;\n    }\n"
            "    return 0;\n}\n")
    cfg, _ = cfg_of(code)
    sw = next(n for n in cfg.nodes if n.kind is Kind.SWITCH)
    assert len(sw.succ) == 3  # two cases and default, no implicit exit
    assert exit_lines(cfg) == [8, 12]


def test_switch_without_default_can_skip() -> None:
    cfg, _ = cfg_of("int f(int x)\n{\n    switch ( x )\n    {\n    case 0:\n"
                    "        return 1;\n    }\n    return 0;\n}\n")
    sw = next(n for n in cfg.nodes if n.kind is Kind.SWITCH)
    assert len(sw.succ) == 2


def test_loops_break_continue() -> None:
    code = ("int f(int n)\n{\n    while ( n-- )\n    {\n        if ( n == 3 )\n"
            "            break;\n        if ( n == 4 )\n            continue;\n        g();\n"
            "    }\n    return n;\n}\n")
    cfg, _ = cfg_of(code)
    assert cfg.complete and exit_lines(cfg) == [11]


def test_goto_and_labels() -> None:
    code = ("int f(int a)\n{\n    if ( a )\n        goto out;\n    g();\n out:\n"
            "    return a;\n}\n")
    cfg, _ = cfg_of(code)
    assert cfg.complete and exit_lines(cfg) == [7]


def test_goto_undefined_label_is_reported() -> None:
    cfg, _ = cfg_of("void f(void)\n{\n    goto nowhere;\n}\n")
    assert not cfg.complete and "nowhere" in cfg.problems[0]


def test_noreturn_call_ends_the_path() -> None:
    cfg, _ = cfg_of("int f(int a)\n{\n    if ( a )\n        BUG();\n    return 0;\n}\n")
    assert Kind.ABORT in reachable_kinds(cfg)
    assert exit_lines(cfg) == [5]


def test_macro_hiding_goto_from_table() -> None:
    code = ("int f(int a)\n{\n    if ( a )\n        PIN_FAIL(out, -1, \"x\");\n"
            "    return 0;\n out:\n    return 1;\n}\n")
    cfg, _ = cfg_of(code)
    assert exit_lines(cfg) == [5, 7]
    label = next(n for n in cfg.nodes if n.line == 6)
    assert label.kind is Kind.NOP


def test_macros_hiding_flow_are_found_in_the_file() -> None:
    code = ("#define FAIL(_l) do { rc = 1; goto _l; } while ( 0 )\n"
            "#define OUT(x) if ( x ) return -1\n"
            "int f(int a)\n{\n    FAIL(out);\n out:\n    return 0;\n}\n")
    src = parse_bytes("t.c", code.encode(), default_macro_table())
    gotos, rets = file_flow_macros(src)
    assert gotos == {"FAIL": (0, False)}
    assert rets == {"OUT": True}
    cfg = build_cfg(src, functions(src.root)[0], "f", CONFIG.with_file_macros(src))
    assert exit_lines(cfg) == [7]


def test_error_nodes_mark_the_function_incomplete() -> None:
    cfg, _ = cfg_of("void f(void)\n{\n    g(;\n    h();\n}\n")
    assert not cfg.complete
    assert cfg.problems and "unparsed" in cfg.problems[0]


def test_preprocessor_branches_are_both_possible() -> None:
    code = ("int f(void)\n{\n#ifdef A\n    return 1;\n#else\n    g();\n#endif\n"
            "    return 0;\n}\n")
    cfg, _ = cfg_of(code)
    assert exit_lines(cfg) == [4, 8]


def test_deep_nesting_does_not_crash() -> None:
    body = "if ( a ) {" * 400 + "g();" + "}" * 400
    cfg, _ = cfg_of("void f(int a)\n{\n" + body + "\n}\n")
    assert cfg.nodes


def test_switch_jumps_to_a_case_label_nested_in_an_if() -> None:
    """do_domctl()'s "if ( ... ) { case X: d = NULL; break; }": the switch
    has an edge to X's statements, labelled X (it went to default)."""
    code = ("int f(int x, int y)\n{\n    switch ( x )\n    {\n    case 1:\n"
            "        if ( y )\n        {\n    case 2:\n            return 2;\n        }\n"
            "        /* fall through */\n    default:\n        return 3;\n    }\n}\n")
    cfg, src = cfg_of(code)
    sw = next(n for n in cfg.nodes if n.kind is Kind.SWITCH)
    labels = [None if v is None else src.text(v) for v in cfg.case_values[sw.id]]
    assert labels == ["1", None, "2"]
    target = cfg.nodes[sw.succ[2]]
    assert target.kind is Kind.RETURN and target.line == 9


def test_a_nested_switch_keeps_its_own_nested_labels() -> None:
    code = ("int f(int x, int y)\n{\n    switch ( x )\n    {\n    case 1:\n"
            "        switch ( y )\n        {\n        case 5:\n            if ( x )\n"
            "            {\n        case 6:\n                return 6;\n            }\n"
            "        }\n        return 1;\n    }\n    return 0;\n}\n")
    cfg, src = cfg_of(code)
    outer, inner = sorted((n for n in cfg.nodes if n.kind is Kind.SWITCH), key=lambda n: n.line)
    assert [None if v is None else src.text(v) for v in cfg.case_values[outer.id]] == ["1", None]
    assert [None if v is None else src.text(v) for v in cfg.case_values[inner.id]] == \
        ["5", "6", None]
