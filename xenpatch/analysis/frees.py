"""Which argument a call frees: a deallocator of the rules, or a function
of the file or an inline of its headers whose body, before any branch or
return, hands one of its parameters to one (free_pdev(): list_del(), then
xfree(pdev)).  analysis/actions.py asks it of each call no lock rule
resolves: the freed object's locks are gone with it (a FreeAct), so a
lock held in it is neither released nor leaked past the call."""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Collection, Mapping

from xenpatch.analysis.functions import parameters
from xenpatch.analysis.headers import HeaderIndex, inline_ids
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c import fields as fid
from xenpatch.c.cfg import call_args, call_name

# Statements before which a parameter is freed on every path of the body.
_STOPS = ("return_statement", "if_statement", "goto_statement", "switch_statement",
          "labeled_statement", "while_statement", "for_statement", "do_statement")
# How deep through helpers a free is followed.
_DEPTH = 3


class Frees:
    """frees() of one file's calls, memoised per name."""

    def __init__(self, deallocators: Collection[str], fns: Mapping[str, FunctionUnit],
                 headers: HeaderIndex,
                 header_fn: Callable[[str], FunctionUnit | None]) -> None:
        self.deallocators = deallocators
        self.fns = fns
        self.headers = headers
        # Weakly: ``header_fn`` is the file analysis' method, and a cycle
        # back to the analysis keeps it alive past its lint until the
        # cyclic collector runs, rarely in a tree's workers
        # (lint/collector.py; tests/lint/test_no_cycles.py).
        self._header_fn = weakref.WeakMethod(header_fn)  # type: ignore[arg-type]
        self.memo: dict[str, int | None] = {}

    def __call__(self, name: str, depth: int = 0) -> int | None:
        """The argument a call of ``name`` frees on every path (module doc)."""
        if name in self.deallocators:
            return 0
        if name in self.memo:
            return self.memo[name]
        self.memo[name] = None  # recursion
        f = self.fns.get(name)
        if f is None and name in self.headers.inlines:
            if depth >= _DEPTH or not self._may_free(name):
                return None
            header_fn = self._header_fn()
            f = header_fn(name) if header_fn is not None else None
        got = None
        body = f.node.child_by_field_id(fid.BODY) if f is not None and depth < _DEPTH else None
        params: list[str] = []
        text_of_body = ""
        if f is not None and body is not None:
            # collect()'s params, without its walk of the body.
            params = parameters(f.src, f.node)[0]
            text_of_body = f.src.text(body)
        for n in body.named_children if body is not None else ():
            if n.type in _STOPS:
                break
            call = n.named_children[0] if n.type == "expression_statement" and \
                n.named_child_count else None
            if call is None or call.type != "call_expression":
                continue
            callee = call_name(f.src, call) if f is not None else None
            i = self(callee, depth + 1) if callee else None
            args = call_args(call)
            if i is not None and i < len(args) and f is not None:
                text = f.src.text(args[i]).strip()
                if text in params and not param_assigned(text_of_body, text):
                    got = params.index(text)
                    break
        self.memo[name] = got
        return got

    def _may_free(self, name: str) -> bool:
        """Does the header inline ``name`` name something frees() may find
        freeing (a deallocator, a function of the file, another inline)?
        If not, none of its calls does, and it frees nothing: no need to
        parse it to know (most inlines a file calls are never parsed)."""
        ids, _ = inline_ids(self.headers, name)
        return any((d := i.decode()) in self.deallocators or d in self.fns
                   or d in self.headers.inlines for i in ids)


def param_assigned(body: str, p: str) -> bool:
    """May the parameter ``p`` itself change in ``body`` (assigned, or its
    address handed on; ``&p->f`` is a member's address, not p's)?"""
    v = re.escape(p)
    return re.search(rf"\b{v}\s*(?:[-+*/%|&^]|<<|>>)?=(?!=)|&\s*{v}\b(?!\s*(?:->|\.|\[))",
                     body) is not None


__all__ = ["Frees", "param_assigned"]
