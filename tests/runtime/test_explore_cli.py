"""`xenpatch explore` through its own register/handler."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from xenpatch.runtime import cli

BAD_LINE = """\
# L6: nested read with a writer arriving in between
lock A percpu grant_rwlock
cpu0: percpu_read_lock(A, grant_rwlock) percpu_read_lock(A, grant_rwlock)
cpu0_: cs
"""


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="xenpatch")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.handler(args))


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "prog.txt"
    p.write_text(text)
    return p


NESTED = """\
lock A percpu grant_rwlock
cpu0: percpu_read_lock(A, grant_rwlock); percpu_read_lock(A, grant_rwlock); \
percpu_read_unlock(A, grant_rwlock); percpu_read_unlock(A, grant_rwlock)
cpu1: percpu_write_lock(A, grant_rwlock) cs percpu_write_unlock(A, grant_rwlock)
"""


def test_hazard_exit_1_and_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _write(tmp_path, NESTED)
    assert _main(["explore", str(p), "--replay"]) == 1
    out = capsys.readouterr().out
    assert "deadlock: no CPU can move" in out
    assert "  1. cpu0: begin percpu_read_lock(A, grant_rwlock)" in out
    assert "poll grant_rwlock[cpu0] = A" in out


def test_debug_build_reports_assert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _write(tmp_path, NESTED)
    assert _main(["explore", str(p), "--build", "debug", "--lock-model", "rw16"]) == 1
    out = capsys.readouterr().out
    assert "assert: cpu0: ASSERT(this_cpu_ptr(per_cpudata) != percpu_rwlock)" in out


def test_clean_program_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _write(tmp_path, "cpu0: read_lock(A) cs read_unlock(A)\ncpu1: write_lock(A) wu(A)\n"
               .replace("wu(A)", "write_unlock(A)"))
    for extra in ([], ["--no-reduce"], ["--random", "20", "--seed", "7"]):
        assert _main(["explore", str(p), *extra]) == 0
    assert "0 hazards" in capsys.readouterr().out


def test_random_mode_is_deterministic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _write(tmp_path, NESTED)
    outs = []
    for _ in range(2):
        assert _main(["explore", str(p), "--random", "30", "--seed", "5"]) == 1
        outs.append(capsys.readouterr().out.split("\n", 1)[1])
    assert outs[0] == outs[1]


@pytest.mark.parametrize("text,reason", [
    ("cpu0: read_lock(A) bogus(A)\n", "prog.txt:1: unknown op kind 'bogus'"),
    ("cpu1: read_lock(A)\n", "prog.txt:1: expected cpu0, got cpu1"),
    ("cpu0: spin_lock(A) read_lock(A)\n", "prog.txt: read_lock(A) used on spinlock A"),
    ("lock A percpu\ncpu0: read_lock(A)\n", "prog.txt:1: percpu lock needs an owner class or '-'"),
    ("# nothing\n", "prog.txt: no cpu lines"),
    (BAD_LINE, "prog.txt:4: expected 'lock NAME TYPE [OWNER]' or 'cpuN: ops'"),
])
def test_bad_input_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                          reason: str) -> None:
    p = _write(tmp_path, text)
    assert _main(["explore", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.strip().endswith(reason)


def test_missing_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["explore", str(tmp_path / "nope.txt")]) == 2
    assert capsys.readouterr().err.strip() == f"{tmp_path / 'nope.txt'}: No such file or directory"


def test_a_program_not_in_utf8_is_one_line_exit_2(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "prog.txt"
    p.write_bytes(b"lock A spinlock\ncpu0: lock(A) \xff\n")
    assert _main(["explore", str(p)]) == 2
    assert capsys.readouterr().err.strip() == f"{p}: not UTF-8 (byte 30)"


def test_no_lock_tracking_is_xen_417(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _write(tmp_path, "cpu0: write_lock(A) read_lock(A) read_unlock(A) write_unlock(A)\n")
    assert _main(["explore", str(p), "--build", "debug"]) == 1  # HEAD: taken recursively
    assert "BUG: A taken recursively" in capsys.readouterr().out
    assert _main(["explore", str(p), "--build", "debug", "--no-lock-tracking"]) == 0


def test_bounded_search_that_stops_early_exits_3(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    p = _write(tmp_path, "cpu0: read_lock(A) cs read_unlock(A)\n"
               "cpu1: write_lock(A) cs write_unlock(A)\n"
               "cpu2: read_lock(A) cs read_unlock(A)\n")
    assert _main(["explore", str(p)]) == 0
    full = capsys.readouterr().out
    assert "INCOMPLETE" not in full and "0 hazards" in full
    assert _main(["explore", str(p), "--max-states", "20"]) == 3
    cap = capsys.readouterr()
    assert "INCOMPLETE: stopped by --max-states 20" in cap.out
    assert "incomplete" in cap.err and cap.err.count("\n") == 1
    # A hazard found before the bound is still a finding: exit 1.
    q = _write(tmp_path, NESTED)
    assert _main(["explore", str(q), "--max-states", "1000000"]) == 1
    capsys.readouterr()
    # A memory bound below what the process already uses stops at once.
    assert _main(["explore", str(p), "--max-memory", "1"]) == 3
    cap = capsys.readouterr()
    assert "INCOMPLETE: stopped by --max-memory 1" in cap.out
    assert "incomplete" in cap.err


def test_summary_names_the_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _write(tmp_path, "cpu0: read_lock(A) read_unlock(A)\n")
    for model, words in (("rw16", "2016 counter"), ("q417", "4.17 queued"),
                         ("qrw", "4.19+ queued")):
        assert _main(["explore", str(p), "--lock-model", model]) == 0
        assert words in capsys.readouterr().out


def test_deadlock_names_each_blocked_operation_once(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # A critical section before the blocking op: the CPU is blocked in the
    # op after it, not "at" the cs; and one deadlock is one hazard however
    # many spin points the schedules reach it through.
    p = _write(tmp_path, "lock A percpu C\n"
               "cpu0: percpu_read_lock(A, C) cs percpu_read_lock(A, C) cs\n"
               "+ percpu_read_unlock(A, C) percpu_read_unlock(A, C)\n"
               "cpu1: cs percpu_write_lock(A, C) cs percpu_write_unlock(A, C)\n")
    assert _main(["explore", str(p)]) == 1
    out = capsys.readouterr().out
    dl = [line for line in out.splitlines() if line.startswith("deadlock:")]
    assert dl == ["deadlock: no CPU can move: cpu0 blocked in op 2 percpu_read_lock(A, C); "
                  "cpu1 blocked in op 1 percpu_write_lock(A, C)"]
