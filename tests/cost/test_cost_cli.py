"""`xenpatch cost`: the table, the JSON, the plot, --rule, and bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from xenpatch.cli import main

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "fixtures" / "xen"
RULE = ROOT / "rules" / "grant_table.toml"
TITLES = ("rwlock_t (2016 counter)", "rwlock_t (queued)", "spinlock_t", "percpu_rwlock_t")


def test_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--cpus", "1,2,8"]) == 0
    out = capsys.readouterr().out
    for title in TITLES:
        assert out.count(title) == 2, title  # counts and throughput
    ratio = next(line for line in out.splitlines() if line.startswith("ratio percpu/rwlock16"))
    values = [float(v.rstrip("x")) for v in ratio.split()[2:]]
    assert len(values) == 3 and values[0] == pytest.approx(1.0, abs=0.1) and values[2] > 10


def test_json_has_the_per_operation_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--cpus", "1,4", "--json", "--lock-model", "q417",
                 "--write-fraction", "0.01", "--sockets", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["lock_model"] == "q417" and data["cpus"] == [1, 4]
    assert data["params"]["write_fraction"] == 0.01 and data["params"]["sockets"] == 1
    locks = {lk["key"]: lk for lk in data["locks"]}
    assert set(locks) == {"rwlock16", "rwlock", "spinlock", "percpu"}
    assert locks["rwlock"]["model"] == "q417"
    ops = locks["rwlock"]["per_operation"]["uncontended"]
    assert ops["read_lock"]["rmw"] == 1 and ops["write_unlock"]["rmw"] == 1
    pc = locks["percpu"]
    assert pc["per_read_section"]["contended"]["rmw"] == 0
    assert pc["per_operation"]["contended"]["cpus"] == 4
    assert [t["cpus"] for t in pc["throughput"]] == [1, 4]
    assert data["ratio"]["percpu_over"] == "rwlock"
    assert len(data["ratio"]["values"]) == 2


def test_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "out.png"
    assert main(["cost", "--cpus", "1,2", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_how_to_install(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    png = tmp_path / "out.png"
    assert main(["cost", "--cpus", "1,2", "--plot", str(png)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'xenpatch[plot]'" in err[0]
    assert not png.exists()


@pytest.mark.parametrize(("argv", "said"), [
    (["--cpus", "0,2"], "--cpus"),
    (["--cpus", "two"], "--cpus"),
    (["--cpus", "1,500"], "--cpus"),
    (["--write-fraction", "1.5"], "--write-fraction"),
    (["--sockets", "0"], "--sockets"),
    (["--section-ns", "-3"], "--section-ns"),
    (["--cross-socket-ns", "-1"], "--cross-socket-ns"),
    (["--rule", str(RULE)], "TREE"),
    ([str(FIXTURE)], "--rule"),
    (["--weights", "w.txt"], "--weights"),
    (["--plot", "out.svg"], ".png"),
    (["--rule", str(RULE), str(FIXTURE), "--write-fraction", "0.1"], "--write-fraction"),
    (["--rule", "no-such-rule.toml", str(FIXTURE)], "no-such-rule"),
])
def test_bad_input_is_one_line_and_exit_2(argv: list[str], said: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and said in err[0], err


@pytest.mark.slow
def test_rule_mix_from_the_fixture_tree(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["cost", "--rule", str(RULE), str(FIXTURE), "--lock-model", "rw16",
                 "--cpus", "1,2", "--json", "--allow-incomplete"])
    assert code == 0
    mix = json.loads(capsys.readouterr().out)["mix"]
    names = {f["function"] for f in mix["functions"]}
    assert {"__acquire_grant_for_copy", "gnttab_setup_table"} <= names
    assert 0 < mix["write_fraction"] < 1
    assert mix["write_fraction"] == pytest.approx(mix["writes"] / (mix["reads"] + mix["writes"]),
                                                  abs=1e-4)


@pytest.mark.slow
def test_weights_change_the_mix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    w = tmp_path / "profile.txt"
    w.write_text("# copies only\n__acquire_grant_for_copy 100\n__release_grant_for_copy 100\n"
                 "gnttab_setup_table 1\nnot_a_function 5\n")
    code = main(["cost", "--rule", str(RULE), str(FIXTURE), "--lock-model", "rw16",
                 "--cpus", "1,2", "--json", "--weights", str(w), "--allow-incomplete"])
    assert code == 0
    captured = capsys.readouterr()
    mix = json.loads(captured.out)["mix"]
    # 100 * 4 + 100 * 1.5 reads, 1 write
    assert mix["reads"] == pytest.approx(550) and mix["writes"] == pytest.approx(1)
    assert "not_a_function is not a converted function" in captured.err


@pytest.mark.slow
def test_no_sites_is_not_success(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    w = tmp_path / "profile.txt"
    w.write_text("do_nothing_here 10\n")
    code = main(["cost", "--rule", str(RULE), str(FIXTURE), "--lock-model", "rw16",
                 "--weights", str(w)])
    assert code == 3
    err = capsys.readouterr().err
    assert "nothing to predict" in err


@pytest.mark.parametrize(("text", "said"), [
    ("gnttab_setup_table\n", ":1: expected 'function count'"),
    ("a 1\nb x\n", ":2: expected"),
    ("a 1\na 2\n", "a given twice"),
    ("# nothing\n", "no 'function count' lines"),
])
def test_bad_weights_file(tmp_path: Path, text: str, said: str,
                          capsys: pytest.CaptureFixture[str]) -> None:
    w = tmp_path / "w.txt"
    w.write_text(text)
    assert main(["cost", "--rule", str(RULE), str(FIXTURE), "--weights", str(w)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(w) in err[0] and said in err[0], err


def test_a_bundled_rule_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    """`--rule grant_table` is the bundled rule (an unknown name: exit 2)."""
    assert main(["cost", "--rule", "no_such_rule", str(FIXTURE)]) == 2
    assert "no_such_rule" in capsys.readouterr().err


@pytest.mark.slow
def test_cut_paths_count_only_for_functions_that_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The fixture's gnttab_transfer has paths cut for length: exit 3 when it
    is in the mix, 0 when the profile gives it no calls."""
    base = ["cost", "--rule", str(RULE), str(FIXTURE), "--lock-model", "rw16", "--cpus", "1,2"]
    assert main(base) == 3
    assert "gnttab_transfer" in capsys.readouterr().err
    w = tmp_path / "copies.txt"
    w.write_text("__acquire_grant_for_copy 1\n__release_grant_for_copy 1\n")
    assert main([*base, "--weights", str(w)]) == 0
    w.write_text("__acquire_grant_for_copy 1\ngnttab_transfer 1\n")
    assert main([*base, "--weights", str(w)]) == 3
