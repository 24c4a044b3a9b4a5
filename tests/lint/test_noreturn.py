"""Functions that never return, found in the tree's text and code
(analysis/noreturn.py, c/noreturn.py) instead of a table."""

from __future__ import annotations

from pathlib import Path

from xenpatch.analysis.noreturn import inferred
from xenpatch.c.cfg import CfgConfig
from xenpatch.c.noreturn import declared
from xenpatch.c.source import parse_bytes
from xenpatch.lint.config import LintConfig


def test_declared_spellings() -> None:
    raw = b"""
#define noreturn __attribute__((__noreturn__))
void noreturn panic(const char *fmt, ...);
void old_panic(const char *format, ...) __attribute__ ((noreturn));
noreturn void machine_halt(void);
void __noreturn __printf(1, 2) fatal(const char *fmt, ...);
_Noreturn void c11_exit(int);
static inline void noreturn spin_forever(void) { for ( ;; ) ; }
/* void noreturn in_a_comment(void); */
typedef void (*handler_t)(void) __attribute__((noreturn));
struct ops { void noreturn (*tail)(void); };
void plain(void);
"""
    assert declared(raw) == {"panic", "old_panic", "machine_halt", "fatal", "c11_exit",
                             "spin_forever"}


def _inferred(code: bytes, known: frozenset[str]) -> frozenset[str]:
    src = parse_bytes("t.c", code, LintConfig.load().macros)
    return inferred(src, CfgConfig(noreturn=known))


def test_inferred_needs_every_path_and_every_definition() -> None:
    code = b"""
void dies(int x) { if ( x ) panic("a"); panic("b"); }
void dies_too(void) { log(); dies(1); }
void spins(void) { for ( ;; ) cpu_relax(); }
void sometimes(int x) { if ( x ) panic("a"); }
#ifdef DEBUG
void twice(void) { panic("debug"); }
#else
void twice(void) { }
#endif
"""
    assert _inferred(code, frozenset({"panic"})) == {"dies", "dies_too"}


def test_without_a_known_end_nothing_is_inferred(tmp_path: Path) -> None:
    # spins() has no call of a known name: a loop alone is not looked at
    # (only functions calling a noreturn name are candidates).
    assert _inferred(b"void f(void) { panic(); }", frozenset()) == frozenset()
