"""Same-length masking of Xen C before tree-sitter sees it.

tree-sitter-c knows nothing of Xen's macros nor of its preprocessor
conditionals, and a single unknown attribute or an ``#ifdef`` splitting an
``if`` turns a whole function into an ERROR node.  Rewriting the text would
shift offsets, so every transformation here replaces bytes by bytes of the
same count and keeps every line break.

What to treat how, by name, is data (``rules/macros.toml``, one kind per
key), completed by what the code's own ``#define``s say (``derive.py``: the
tree's headers, cached per tree by ``tree.py``, and the file's own
definitions); the steps only know shapes.  They work on a *code view* of the file
(comments, the contents of string and character literals, and preprocessor
lines turned into blanks), so that its regular expressions only ever see
code, and writes its changes to a copy of the raw bytes.  In order:

1. ``#if`` groups and brackets (one pass).  A group between statements is
   left to the parser.  One that splits a statement, an expression, an
   initializer or a function head has its directive lines blanked, so the
   code of every branch stays; when the branches cannot follow each other
   (unbalanced brackets, two operands, two words or two asm operand lists
   meeting, two ``else``, two initializer lists with no comma, two statements where an
   ``if``/``else``/loop head takes one) the ``#else``/``#elif`` part is
   blanked too.  ``#define`` and
   other directives inside an expression or initializer are blanked.
2. ``#define`` bodies: comments (line continuations kept) and the ``...``
   of a named variadic (``args...``) are blanked.
3. Names from the table: attributes blanked with their arguments, loop
   macros turned into ``while``, type macros and ``typeof(...)`` fused into
   one identifier, declarator macros reduced to ``int name``, string macros
   reduced to a string literal, asm operand macros and operand macros made
   to read as asm operands, transparent macros reduced to their arguments,
   block macros made a block of statements, initializer macro pairs made a
   static initializer, keywords renamed (``alignof`` -> ``sizeof``,
   ``__volatile`` -> ``volatile``).
   Derived from the ``#define``s: a macro that expands to attributes or to
   nothing blanked (the name only), one of attributes with parameters
   blanked with its arguments, one that expands to ``asm`` and qualifiers
   written ``asm``, one that expands to a loop head turned into ``while``
   (``while(1)`` when called with no arguments), one that expands to its
   one parameter (or to nothing in another configuration) reduced to its
   arguments.
4. Names glued to string literals (``XENLOG_WARNING "..."``, ``"%"
   PRIx64``) blanked.
5. Shapes: a preprocessing number as a macro argument (``3dnow``) made a
   name; ``case A ... B`` and a range ``A ... B`` as a macro argument ->
   ``A || B``; an asm template that is no string made one; an asm operand's
   ``[name]`` as a macro argument blanked; a type or ``typedef *`` passed to a macro fused; an empty
   macro argument loses its comma; a run of prefix names as one argument
   (``dprintk(XENLOG_ERR VTDPREFIX, ...)``) keeps the first; ``r8 asm("r8")``
   -> ``r8 ["r8"]``; ``__attribute__(...)`` before ``=`` blanked;
   ``NAME(args) {`` in a function -> ``while(args) {``; ``NAME(args):`` -> a
   label; a statement macro without its semicolon gets one in the blank
   after it (or becomes a declaration ``NAME a, b;`` or a label); a
   function specifier between type words (``unsigned inline int``) moved
   ahead of them.

Comments, string literals and preprocessor lines are left as they are, with
these deliberate exceptions, each needed for the parser: the directive lines
and ``#else`` parts of step 1, the comments and ``...`` of step 2, and the
string arguments of a macro invocation blanked or reduced as a whole (an
attribute macro with a string argument, a string macro with several).
"""

from __future__ import annotations

from xenpatch.c.masking.conditionals import fix_defines, scan
from xenpatch.c.masking.names import identifiers, string_prefixes
from xenpatch.c.masking.shapes import shapes
from xenpatch.c.masking.table import (
    MacroTable,
    MacroTableError,
    default_macro_table,
    load_macro_table,
)
from xenpatch.c.masking.tree import find_xen_dir, table_for, tree_table
from xenpatch.c.masking.view import CodeView

__all__ = [
    "MacroTable",
    "MacroTableError",
    "default_macro_table",
    "find_xen_dir",
    "load_macro_table",
    "mask",
    "table_for",
    "tree_table",
]

# The steps of the docstring, in order; each reads and writes the code view.
STEPS = (scan, fix_defines, identifiers, string_prefixes, shapes)


def mask(raw: bytes, table: MacroTable) -> bytes:
    """Return ``raw`` with Xen's macros masked; same length, same line breaks."""
    view = CodeView(raw, table)
    for step in STEPS:
        step(view)
    return bytes(view.out)
