"""The locks a function takes during its run, whether or not it still
holds them at its exits (issue 9, item 5): on every path, on a parameter's
say (``when``), or on some paths (may-takes, named by their ``origin``).
A caller holding one of them meets it at the call (XL010, XL005-XL007,
XL016).  The summary of a function that holds no lock itself is made of
these alone (takes_summary); summaries.py adds them to a helper's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from tree_sitter import Node

from xenpatch.analysis import collective, flagbits, pathconds
from xenpatch.analysis.events import OpAct
from xenpatch.analysis.locktable import Effect, Summary
from xenpatch.analysis.pathstate import Result
from xenpatch.analysis.templates import accessed_template, template
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.analysis.values import arg_truth
from xenpatch.c import fields as fid
from xenpatch.c.cfg import Cfg, Kind, predecessors
from xenpatch.c.source import SourceFile
from xenpatch.graphs import reachable


def takes_summary(f: FunctionUnit) -> Summary | None:
    """The summary of a function that holds no lock itself: the locks its
    callees take on every path of its run (or on its argument's say)."""
    takes = lock_takes(f, None, set())
    return Summary(tuple(takes), None) if takes else None


def lock_takes(f: FunctionUnit, res: Result | None, summarised: set[str]) -> list[Effect]:
    """Locks taken during the run (and dropped before returning, or kept):
    a caller holding one of them meets it at the call (issue 9, item 5).
    On every path, or on a parameter's say (``when``); or on some paths
    only (``origin``: put_page() frees the page on its last reference only,
    and a caller holding the heap lock deadlocks then).  A take on some
    paths is left out where its function tests whether a lock is held
    (``if ( !p2m_locked_by_me(p2m) ) p2m_lock(p2m)``): its paths are then
    chosen by the caller's holding, which no summary states."""
    assert f.info is not None and f.cfg is not None
    takes: dict[str, Effect] = {}
    tested: set[str] | None = None
    held_test: bool | None = None
    value_tests: list[tuple[int, str | None]] | None = None
    cfg, src, info = f.cfg, f.src, f.info
    deciders: list[pathconds.Deciders] = []
    at: dict[int, list[pathconds.Cond]] = {}

    def conds_at(node: int) -> list[pathconds.Cond]:
        if node not in at:
            if not deciders:
                deciders.append(pathconds.Deciders(cfg))
            at[node] = pathconds.decided_conds(src, cfg, node, deciders[0])
        return at[node]

    hid: list[set[str]] = []
    # The nodes on every path (on_every_path() of each), found once.
    every: list[frozenset[int]] = []

    def hidden() -> set[str]:
        if not hid:
            body = src.text(f.node)
            hid.append((info.locals - set(info.params))
                       | {p for p in info.params if _assigned(body, p)})
        return hid[0]

    for nid, acts in enumerate(f.info.acts):
        if not any(isinstance(a, OpAct) and a.effect.action in ("acquire", "take")
                   for a in acts):
            continue
        when: str | None = None
        some = False
        if not every:
            every.append(every_path_nodes(f.cfg))
        if nid not in every[0]:
            # Taken on every path once a parameter's truth is known: the
            # call's argument says whether (``if ( !locked ) spin_lock(l)``).
            # Assuming a parameter no branch tests changes no path: only
            # the tested ones are tried (the body's scan for assignments,
            # _assigned(), is then rarely needed).
            if tested is None:
                tested = _tested_names(f.src, f.cfg)
            body = f.src.text(f.node)
            params = [(i, p) for i, p in enumerate(f.info.params)
                      if p in tested and not _assigned(body, p)]
            when = next((("" if truth else "!") + f"${i}" for i, p in params
                         for truth in (True, False)
                         if on_every_path(f.cfg, nid, (f.src, p, truth))), None)
            if when is None:
                if held_test is None:
                    held_test = _tests_held(f.src, f.cfg, f.node, f.info.params)
                if held_test:
                    continue
                some = True
                # On some paths, and only where a parameter says so: the
                # call's argument must say so too.
                when = next((("" if truth else "!") + f"${i}" for i, p in params
                             for truth in (True, False)
                             if not _reaches(f.cfg, nid, (f.src, p, not truth))), None)
                if value_tests is None:
                    value_tests = _value_tests(f.src, f.cfg, f.info.params)
                bound = f.info.params[int(when.lstrip("!")[1:])] if when else None
                if _decided_by(f.cfg, nid, [c for c, p in value_tests if p is None or p != bound]):
                    # The path to the take needs a parameter's value that
                    # no summary states (vlapic_set_irq() reports a vector
                    # below 16 under its lock, and its caller passes one
                    # only when it is not): the call's argument decides.
                    continue
        for a in acts:
            if not isinstance(a, OpAct) or a.effect.action not in ("acquire", "take"):
                continue
            e = a.effect
            # The lock of every element of a collection, taken in turn by
            # a loop of f's or by a callee (analysis/collective.py).
            each = e.key if collective.is_every(e) else collective.every_element(
                f.src, f.cfg, f.info, nid, e.key) if e.action == "acquire" else None
            if each is None and ((res is not None and e.key in res.entry_keys)
                                 or "[*]" in e.key or e.key.endswith("'")
                                 or collective.restated(e, acts)):
                continue
            t = template(each or e.key, f.info)
            if t is None and each is None:
                t = accessed_template(e.key, f.info)
            if t is None or t in summarised:
                continue
            if some and e.action == "take" and e.origin is not None and (
                    e.conds is None or pathconds.may_exclude(conds_at(nid),
                                                             pathconds.decode(e.conds))):
                # Some paths of some paths, whose two conditions may exclude
                # each other (do_tmem_get() delists only a pool that is not
                # persistent, pgp_delist_free() locks the persistent
                # lists only for one that is): nothing here relates them.
                # Independent ones compose (put_page() frees on the last
                # reference, free_domheap_pages() takes the heap lock for
                # a page that is not a Xen heap page).
                continue
            w = when
            if e.action == "take" and e.when is not None:
                # The callee's own condition, bound to this call's argument:
                # one of f's parameters carries on to f's callers.
                arg, neg = e.when.lstrip("!"), e.when.startswith("!")
                known = arg_truth(arg, None)
                if known is None:
                    # A constant expression of the tree's macros
                    # ("(COPY_to_guest|COPY_ipa)&0x4"): its value says.
                    known = flagbits.truth(arg, f.info.masks, _names(f))
                if known is None:
                    # A bit of a local word built from constants.
                    known = flagbits.word_truth(arg, f.node, f.info.locals - set(f.info.params),
                                                _names(f), f.info.masks)
                bit = None if known is not None or arg in f.info.params else \
                    flagbits.param_bit(arg, f.info.params, f.info.masks, hidden())
                if known is not None:
                    if known is neg:
                        continue  # the argument says no
                elif arg in f.info.params or bit is not None:
                    # The parameter itself, or one bit of it ("flags &
                    # COPY_linear"): its caller's argument says.
                    inner = ("!" if neg else "") + (
                        bit or f"${f.info.params.index(arg)}")
                    if w is not None and w != inner:
                        continue  # two conditions: a summary states one
                    w = inner
                elif e.origin is not None or some or flagbits.split_and(arg) is not None:
                    # Some paths, or a bit of a word nobody here can say:
                    # on a condition nobody can bind.
                    continue
            origin = e.origin if e.action == "take" else None
            conds = None
            if origin is not None or some or each is not None:
                # What the path to the take tests, in f's callers' terms.
                mine = conds_at(nid) if some else []
                theirs = pathconds.decode(e.conds) if origin is not None else []
                conds = pathconds.encode(pathconds.template_conds(
                    [*mine, *theirs], f.info.params, hidden()))
            if each is not None and origin is None:
                # Marked (collective.EVERY): a caller holding one element's
                # lock meets it, whichever element it holds.
                where = f.src.path.rsplit("/", 1)[-1]
                origin = (f"{f.name}() in {where}, {collective.EVERY} "
                          f"'{each[:each.index('[*]')]}'")
            if origin is None and some:
                # The file, not the line: a summary computed from an
                # excerpt of the file (lint/excerpt.py) must equal the
                # whole file's.
                where = f.src.path.rsplit("/", 1)[-1]
                origin = f"{f.name}() in {where}" if e.action != "take" else (
                    f"{e.via}(), called by {f.name}() in {where}")
            new = Effect("take", e.kind, e.mode, e.flavour, t,
                         template(e.owner, f.info) if e.owner else None, f.name,
                         inferred=True, when=w, origin=origin, conds=conds)
            had = takes.get(t)
            takes[t] = new if had is None else _weaker(had, new)
    return [takes[t] for t in sorted(takes)]


def _names(f: FunctionUnit) -> frozenset[str]:
    """f's parameters and locals: a name of the tree's macros they hide."""
    assert f.info is not None
    return frozenset(f.info.locals) | frozenset(f.info.params)


def callers_accessors(accessed: dict[str, str], params: list[str], body: str) -> dict[str, str]:
    """Of the accessor locals (call text -> local, the actions prelude's),
    those whose arguments are the caller's: local -> call text, none of
    its parameters assigned by the body (FunctionInfo.accessed)."""
    return {local: call for call, local in accessed.items()
            if not any(v in params and _assigned(body, v)
                       for v in re.findall(r"(?<![.>\w])[A-Za-z_]\w*", call))}


def hidden_names(f: FunctionUnit) -> frozenset[str]:
    """The names of f no caller can see: its locals, and the parameters
    its body may assign."""
    assert f.info is not None
    body = f.src.text(f.node)
    return frozenset((f.info.locals - set(f.info.params))
                     | {p for p in f.info.params if _assigned(body, p)})


def hidden_at(g: FunctionUnit, hidden: frozenset[str], at: Sequence[int],
               memo: dict[tuple[FunctionUnit, str], frozenset[int]] | None = None
               ) -> frozenset[str]:
    """``hidden`` (takes.hidden_names(): locals, parameters the body may
    assign) without the parameters no assignment reaches the branches
    ``at`` after: tested there, a parameter holds its argument (xfree()
    tests its pointer's alignment before it strips the padding from it:
    the caller's pointer decides, not the callee's state)."""
    assert g.info is not None and g.cfg is not None
    cfg = g.cfg
    params = [p for p in g.info.params if p in hidden]
    if not params or not at:
        return hidden
    drop: set[str] = set()
    for p in params:
        seen = memo.get((g, p)) if memo is not None else None
        if seen is None:
            writes = [n.id for n in cfg.nodes
                      if n.ast is not None and _assigned(g.src.text(n.ast), p)]
            after = reachable([s for w in writes for s in cfg.nodes[w].succ],
                              lambda i: cfg.nodes[i].succ)
            # A branch assigning it itself (``if ( (p = next(p)) )``) keeps it.
            seen = frozenset(after) | frozenset(writes)
            if memo is not None:
                memo[(g, p)] = seen
        if not any(c in seen for c in at):
            drop.add(p)
    return hidden - drop


def _weaker(a: Effect, b: Effect) -> Effect:
    """One take of a lock the function takes at two nodes: the one under
    the weaker condition, whichever node comes first (b() taking the lock
    at its top and again through a() under "if ( n )" takes it on every
    path).  Under a parameter and under its negation is on every path;
    under either of two parameters is under each, so one is kept."""
    if a.when is not None and b.when is not None and a.origin is None and b.origin is None \
            and a.when != b.when and a.when.lstrip("!") == b.when.lstrip("!"):
        return replace(a, when=None)
    # Every path before some paths, unconditional before conditional.
    return min(a, b, key=lambda e: (e.origin is not None, e.when is not None,
                                    e.when or "", e.origin or "", e.mode, e.flavour))


# A condition asking whether a lock is held (spin_is_locked(),
# p2m_locked_by_me(), a "locked" flag, mm_lock()'s "locker" test), and a
# call asking it whose answer a local keeps for a later test ("do_locking =
# !shadow_locked_by_me(d); if ( do_locking ) shadow_lock(d);").
_HELD_TEST = re.compile(r"locke[dr]", re.I)
_HELD_CALL = re.compile(rb"locked\w*\s*\(", re.I)


def _tests_held(src: SourceFile, cfg: Cfg, f: Node, params: list[str]) -> bool:
    """Does the function ask whether a lock is held?  A parameter's plain
    test is not asking: the call's argument binds it."""
    body = f.child_by_field_id(fid.BODY)
    if body is not None and _HELD_CALL.search(body.text or b"") is not None:
        return True
    return any(n.kind is Kind.COND and n.ast is not None
               and _HELD_TEST.search(src.text(n.ast)) is not None
               and _tested_name(src, n.ast) not in params for n in cfg.nodes)


# What reads an object's state, not a value its caller passed.
_NOT_VALUE = ("field_expression", "subscript_expression", "pointer_expression")
_CONST = re.compile(r"[A-Z_][A-Z0-9_]*|true|false")
# Branch-prediction hints: their argument is the condition itself.
_HINTS = frozenset(("likely", "unlikely"))


def _call_name(src: SourceFile, call: Node | None) -> str | None:
    fn = call.child_by_field_id(fid.FUNCTION) if call is not None else None
    return src.text(fn) if fn is not None else None


def _value_tests(src: SourceFile, cfg: Cfg, params: list[str]) -> list[tuple[int, str | None]]:
    """The branches (COND, and a C switch) that a call's arguments decide:
    they read parameters' own values and constants only (``vec < 16``,
    ``flags & F``, ``switch ( op )``; not ``toks >= ms``, which a static
    local decides as much).  Each as (node, the parameter when the test is
    its plain truth, which ``when`` may bind)."""
    out: list[tuple[int, str | None]] = []
    ps = set(params)
    for n in cfg.nodes:
        if n.ast is None or len(n.succ) < 2 or n.kind not in (Kind.COND, Kind.SWITCH):
            continue
        stack, reads, other = [n.ast], False, False
        while stack and not other:
            x = stack.pop()
            if x.type in _NOT_VALUE:
                other = True  # an object's state: not the argument's to say
            elif x.type == "identifier":
                name = src.text(x)
                if name in ps and x.parent is not None and x.parent.type == "argument_list" \
                        and _call_name(src, x.parent.parent) not in _HINTS:
                    other = True  # is_xen_heap_page(pg): the callee reads the object
                elif name in ps:
                    reads = True
                elif not _CONST.fullmatch(name) and not (
                        x.parent is not None and x.parent.type == "call_expression"
                        and x.parent.child_by_field_id(fid.FUNCTION) == x):
                    other = True
            stack.extend(x.named_children)
        if reads and not other:
            plain = _tested_name(src, n.ast) if n.kind is Kind.COND else None
            out.append((n.id, plain if plain in ps else None))
    return out


def _decided_by(cfg: Cfg, node: int, tests: list[int]) -> bool:
    """Does one of these branches decide whether ``node`` is reached (it
    is reached from one successor and not from another)?"""
    if not tests:
        return False
    preds = predecessors(cfg)
    reach = reachable([node], lambda i: preds.get(i, ()))
    return any(c in reach and any(x not in reach for x in cfg.nodes[c].succ) for c in tests)


def _reaches(cfg: Cfg, node: int, assume: tuple[SourceFile, str, bool]) -> bool:
    """Can ``node`` be reached from the entry with the parameter assumed
    (see on_every_path)?"""
    succ = _assumed_succ(cfg, assume)
    seen, todo = {cfg.entry}, [cfg.entry]
    while todo:
        i = todo.pop()
        if i == node:
            return True
        for x in succ(i):
            if x not in seen:
                seen.add(x)
                todo.append(x)
    return False


def _assigned(body: str, var: str) -> bool:
    """May ``var`` change in this text (assigned, incremented, address taken)?"""
    if _IDENT_RE.fullmatch(var) is None:
        return _assigned_slow(body, var)
    return var in _assigned_names(body)


# Speed only: the names _assigned_slow() says may change, all at once.  A
# regex per (body, name) was compiled thousands of times a tree (more
# patterns than re's cache keeps); these three scans find, per shape, the
# whole identifier each such pattern would have to spell out.
_IDENT_RE = re.compile(r"[A-Za-z_]\w*")
_ASSIGNED_SCANS = (
    # Possessive: a shorter prefix of a name is followed by a word
    # character, never by the operator, so backtracking into it is waste.
    re.compile(r"\b([A-Za-z_]\w*+)(?=\s*(?:[-+*/%|&^]|<<|>>)?=(?!=)|\s*(?:\+\+|--))"),
    re.compile(r"(?:\+\+|--)\s*([A-Za-z_]\w*)\b"),
    re.compile(r"(?:^|[(,=])\s*&\s*([A-Za-z_]\w*)\b", re.M),
)
_ASSIGNED_MEMO: dict[str, frozenset[str]] = {}


def _assigned_names(body: str) -> frozenset[str]:
    got = _ASSIGNED_MEMO.get(body)
    if got is None:
        if len(_ASSIGNED_MEMO) > 256:
            _ASSIGNED_MEMO.clear()
        got = _ASSIGNED_MEMO[body] = frozenset(
            m.group(1) for scan in _ASSIGNED_SCANS for m in scan.finditer(body))
    return got


def _assigned_slow(body: str, var: str) -> bool:
    v = re.escape(var)
    return re.search(rf"(?:\b{v}\s*(?:[-+*/%|&^]|<<|>>)?=(?!=)|\b{v}\s*(?:\+\+|--)|"
                     rf"(?:\+\+|--)\s*{v}\b|(?:^|[(,=])\s*&\s*{v}\b)", body, re.M) is not None


def _tested_names(src: SourceFile, cfg: Cfg) -> set[str]:
    """The names on_every_path() may follow: each two-way branch's plain
    test of one identifier (``p``, ``!p``)."""
    out: set[str] = set()
    for n in cfg.nodes:
        if n.kind is Kind.COND and len(n.succ) == 2:
            name = _tested_name(src, n.ast)
            if name is not None:
                out.add(name)
    return out


def _tested_name(src: SourceFile, ast: Node | None) -> str | None:
    """The identifier a condition tests as itself or negated, else None:
    ``_param_test(src, ast, p) is not None`` iff this is p."""
    while ast is not None:
        if ast.type == "parenthesized_expression" and ast.named_child_count == 1:
            ast = ast.named_children[0]
        elif ast.type == "unary_expression" and src.text(ast).lstrip().startswith("!"):
            ast = ast.child_by_field_id(fid.ARGUMENT)
        else:
            break
    return src.text(ast) if ast is not None and ast.type == "identifier" else None


def _param_test(src: SourceFile, ast: Node | None, param: str) -> bool | None:
    """Is this condition ``param`` (True) or ``!param`` (False)?  None if it
    is anything else."""
    neg = False
    while ast is not None:
        if ast.type == "parenthesized_expression" and ast.named_child_count == 1:
            ast = ast.named_children[0]
        elif ast.type == "unary_expression" and src.text(ast).lstrip().startswith("!"):
            neg = not neg
            ast = ast.child_by_field_id(fid.ARGUMENT)
        else:
            break
    if ast is None or ast.type != "identifier" or src.text(ast) != param:
        return None
    return not neg


def on_every_path(cfg: Cfg, node: int,
                  assume: tuple[SourceFile, str, bool] | None = None) -> bool:
    """Does every path from the entry to a return pass through ``node``?
    With ``assume`` (a parameter and its truth), the branches that test that
    parameter itself follow its value (the parameter is assumed unchanged:
    only plain tests of it are followed)."""
    if node == cfg.entry:
        return True
    succ = _assumed_succ(cfg, assume)
    seen, todo = {cfg.entry}, [cfg.entry]
    while todo:
        i = todo.pop()
        if cfg.nodes[i].kind is Kind.RETURN:
            return False
        for x in succ(i):
            if x != node and x not in seen:
                seen.add(x)
                todo.append(x)
    return True


def every_path_nodes(cfg: Cfg) -> frozenset[int]:
    """The nodes for which on_every_path(cfg, node) holds, found at once
    (in time linear in the CFG, not one walk per node asked): those every
    path from the entry to a return passes, or every node where no return
    is reached.  Such a node lies on any one path to a return; walking that
    path, a node of it is on every path when nothing reached from the
    nodes before it (the path's nodes not passed through) reaches a node
    of the path after it."""
    nodes = cfg.nodes
    entry = cfg.entry
    # One path from the entry to a return, by the first found (a return's
    # successors lead to no other return that it did not reach first).
    parent: dict[int, int] = {entry: -1}
    todo = [entry]
    end = -1
    while todo and end < 0:
        i = todo.pop()
        if nodes[i].kind is Kind.RETURN:
            end = i
            break
        for x in nodes[i].succ:
            if x not in parent:
                parent[x] = i
                todo.append(x)
    if end < 0:
        return frozenset(range(len(nodes)))
    path = [end]
    while path[-1] != entry:
        path.append(parent[path[-1]])
    path.reverse()
    at = {x: k for k, x in enumerate(path)}
    out = {entry}
    seen: set[int] = set()
    far = 0  # the furthest node of the path reached so far
    for k, p in enumerate(path):
        if k and far == k:
            out.add(p)
        if nodes[p].kind is Kind.RETURN:
            # A return ends every path through it.  Reached before the
            # path's end: that return is reached avoiding what follows.
            if k < len(path) - 1:
                far = len(path)
            continue
        stack = [p]
        while stack:
            i = stack.pop()
            for x in nodes[i].succ:
                j = at.get(x)
                if j is not None:
                    if j > far:
                        far = j
                elif x not in seen:
                    seen.add(x)
                    if nodes[x].kind is Kind.RETURN:
                        far = len(path)  # a return reached off the path
                    else:
                        stack.append(x)
    return frozenset(out)


def _assumed_succ(cfg: Cfg, assume: tuple[SourceFile, str, bool] | None,
                  ) -> Callable[[int], list[int]]:
    """A node's successors, a branch that plainly tests the ``assume``d
    parameter following its assumed truth."""

    def succ(i: int) -> list[int]:
        n = cfg.nodes[i]
        if assume is not None and n.kind is Kind.COND and len(n.succ) == 2:
            src, p, truth = assume
            t = _param_test(src, n.ast, p)
            if t is not None:
                return [n.succ[0] if t == truth else n.succ[1]]
        return n.succ

    return succ
