"""The cold single-file run's cuts of branch `cold6` (issue 10): the
callers' mention scan passing over each text once per family of names, and
tree-level derivations made before the children that would each make them
again are forked."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lint.trees import small_tree
from xenpatch.analysis import cbargs, collective, fnptrs, loopmacros
from xenpatch.analysis.headers import header_index
from xenpatch.c.source import identifier_set
from xenpatch.lint import upcallers
from xenpatch.lint.config import LintConfig


def _plain_scan(texts: dict[str, bytes], sources: list[str],
                names: list[str]) -> dict[str, list[str]]:
    """upcallers._scan() as it was: each name looked for in each text."""
    wanted = [n.encode() for n in names]
    out: dict[str, list[str]] = {}
    for rel in sources:
        if rel not in texts:
            continue
        raw = texts[rel]
        here = [n for n in wanted if n in raw]
        if not here:
            continue
        words = identifier_set(fnptrs.code_only(raw))
        for n in here:
            if n in words:
                out.setdefault(n.decode(), []).append(rel)
    return out


_NAMES = ["gnttab_map", "gnttab_map_frame", "gnttab", "grant_table_init", "grant_table_initx",
          "gr", "g", "status_entry", "do_op", "do_op2", "x"]
_PIECES = [*(n.encode() for n in _NAMES), b" ", b"(", b")", b";\n", b"_", b"1", b"/* gnttab_map */",
           b'"grant_table_init"', b"gnt", b"grant_", b"do_", b"#define ", b"\\\n"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_PIECES), max_size=12), min_size=1, max_size=6),
       st.lists(st.sampled_from(_NAMES), max_size=8))
def test_scan_by_families_is_the_scan_by_names(pieces: list[list[bytes]],
                                               names: list[str]) -> None:
    texts = {f"f{i}.c": b"".join(p) for i, p in enumerate(pieces)}
    sources = [*sorted(texts), "gone.c"]

    def read(path: str) -> bytes:
        rel = Path(path).name
        if rel not in texts:
            raise OSError(path)
        return texts[rel]

    with pytest.MonkeyPatch.context() as m:
        m.setattr(upcallers, "read_bytes", read)
        got = upcallers._scan(Path("/t"), sources, names)
    want = _plain_scan(texts, sources, names)
    # The same names, files and order (of the files, and of the names).
    assert list(got.items()) == list(want.items())


@given(st.lists(st.sampled_from([n.encode() for n in _NAMES]), max_size=10))
def test_every_name_is_under_a_prefix_of_it_once(wanted: list[bytes]) -> None:
    groups = upcallers._prefixed(wanted)
    assert sorted(n for _, ns in groups for n in ns) == sorted(wanted)
    assert all(n.startswith(p) for p, ns in groups for n in ns)


def _tree(tmp_path: Path) -> Path:
    tree = small_tree(tmp_path / "xen", {"common/user.c": "int user(void) { return 0; }\n"})
    (tree / "include/xen/list.h").write_text(
        "#define list_for_each(pos, head) \\\n"
        "    for ( (pos) = (head)->next; (pos) != (head); (pos) = (pos)->next )\n"
        "#define irq_to_desc(irq) (&irq_desc[irq])\n"
        "void tasklet_init(struct tasklet *t, void (*func)(void *), void *data);\n")
    return tree


def test_warm_derives_the_loop_macros_and_element_accessors(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After warm(), a child forked for the summaries finds both derived:
    it does not derive them again."""
    from xenpatch.lint.filelint import warm

    tree = _tree(tmp_path)
    loopmacros.tree_loops.cache_clear()
    collective.tree_elements.cache_clear()
    try:
        arch = warm(tree / "common/user.c", LintConfig.load(None))
        headers = header_index(tree / "common/user.c")

        def derived(*_: object) -> object:
            raise AssertionError("derived again")

        with monkeypatch.context() as m:
            m.setattr(loopmacros, "loop_definitions", derived)
            m.setattr(collective, "element_macros", derived)
            made_loops = loopmacros.tree_loops(headers.root, arch)
            made_elements = collective.tree_elements(headers.root, arch)
        assert made_elements == {"irq_to_desc": ("irq_desc", ".")}
        assert made_loops.definitions("list_for_each")
        # What is derived here without it.
        loopmacros.tree_loops.cache_clear()
        collective.tree_elements.cache_clear()
        assert loopmacros.tree_loops(headers.root, arch) == made_loops
        assert collective.tree_elements(headers.root, arch) == made_elements
    finally:
        loopmacros.tree_loops.cache_clear()
        collective.tree_elements.cache_clear()


def test_warm_callbacks_reads_what_the_lint_reads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After warm_callbacks(), the file's lint (and the callers' first
    passes in its directory, in the child forked next) read no header for
    the [irqcallback] APIs' declarations, and see the same ones."""
    from xenpatch.lint.filelint import warm_callbacks

    tree = _tree(tmp_path)
    config = LintConfig.load(None)
    assert config.irq.params, "the rules name an API's callback parameter"
    path = tree / "common/user.c"
    headers = header_index(path)
    where = path.parent
    raw = path.read_bytes()
    cbargs._dir_decls.cache_clear()
    try:
        plain = cbargs.callback_args(config.irq, headers.root, headers.arch, where, raw)
        cbargs._dir_decls.cache_clear()
        warm_callbacks(path, config)

        def read(*_: object) -> object:
            raise AssertionError("read again")

        monkeypatch.setattr(cbargs, "_header_decls", read)
        assert cbargs.callback_args(config.irq, headers.root, headers.arch, where, raw) == plain
        assert "tasklet_init" in cbargs._visible(headers.root, headers.arch, where,
                                                 frozenset(config.irq.params))[1]
    finally:
        cbargs._dir_decls.cache_clear()
