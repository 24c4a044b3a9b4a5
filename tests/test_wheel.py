"""The package as users install it: the wheel, installed (not editable) into a
fresh virtual environment, runs the main job -- `rewrite --commit` with its
commit-message template, `series` with its mail templates, `lint` with the
packaged rules -- finding every template and rule through the package's data.

The wheel is built from a copy of the checkout with pip's build isolation
(its build requirements come from the same package sources setup.sh uses);
the fresh environment gets xenpatch's dependencies from the test
environment's site-packages through a .pth line (no download), which does
not bring the editable install along (.pth files there are not processed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from xensource import ROOT

pytestmark = pytest.mark.slow

ENV = {"GIT_AUTHOR_NAME": "Ann Dev", "GIT_AUTHOR_EMAIL": "ann@example.org",
       "GIT_COMMITTER_NAME": "Ann Dev", "GIT_COMMITTER_EMAIL": "ann@example.org",
       "GIT_AUTHOR_DATE": "1700000000 +0000", "GIT_COMMITTER_DATE": "1700000000 +0000"}
_SKIP = {".venv", ".git", "build", "dist", "__pycache__", ".pytest_cache", ".mypy_cache",
         ".ruff_cache", "xenpatch.egg-info"}


def run(cmd: list[str], cwd: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(ENV)
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          **kw)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bin/ of a fresh venv holding the wheel of this checkout."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=lambda d, names: [
        n for n in names if n in _SKIP])
    proc = run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                str(base / "dist"), str(src)], base)
    wheels = list((base / "dist").glob("xenpatch-*.whl"))
    assert proc.returncode == 0 and len(wheels) == 1, proc.stderr[-2000:]
    venv = base / "venv"
    proc = run([sys.executable, "-m", "venv", "--without-pip", str(venv)], base)
    assert proc.returncode == 0, proc.stderr
    py = venv / "bin" / "python"
    site = Path(run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                    base).stdout.strip())
    # the dependencies (and pip) of the test environment, not its xenpatch
    (site / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    proc = run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                str(wheels[0])], base)
    assert proc.returncode == 0, proc.stderr[-2000:]
    where = run([str(py), "-c", "import xenpatch, xenpatch.paths as p; "
                 "print(xenpatch.__file__); print(p.templates_dir()); print(p.rules_dir())"],
                base).stdout.split()
    assert len(where) == 3 and all(w.startswith(str(site)) for w in where), where
    assert not (site / "xenpatch" / "_data" / "templates").is_symlink()
    return venv / "bin"


def test_lint_with_the_packaged_rules(installed: Path, tmp_path: Path) -> None:
    tree = shutil.copytree(ROOT / "fixtures" / "xen", tmp_path / "tree")
    proc = run([str(installed / "xenpatch"), "lint", "--format", "json",
                str(tree / "xen" / "common")], tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    assert '"findings"' in proc.stdout or '"files"' in proc.stdout, proc.stdout[:500]


def test_rewrite_commit_and_series(installed: Path, tmp_path: Path) -> None:
    tree = Path(shutil.copytree(ROOT / "fixtures" / "xen", tmp_path / "tree"))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        assert run(["git", *args], tree).returncode == 0
    rule = ROOT / "rules" / "grant_table.toml"
    proc = run([str(installed / "xenpatch"), "rewrite", "--rule", str(rule), "--commit",
                str(tree)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    message = run(["git", "log", "-1", "--format=%B"], tree).stdout
    assert message.startswith("grant_table: ") and "Signed-off-by: Ann Dev" in message
    proc = run([str(installed / "xenpatch"), "series", "-C", str(tree), "HEAD~1..HEAD",
                "--no-maintainers", "--cover-letter", "-o", str(tmp_path / "out")], tmp_path)
    assert proc.returncode == 0, proc.stderr
    mails = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert mails[0] == "v1-0000-cover-letter.patch" and len(mails) == 2, mails
    patch = (tmp_path / "out" / mails[1]).read_text()
    assert patch.startswith("From ") and "Subject: [PATCH v1 1/1] grant_table: " in patch


def test_cost_table_json_and_plot(installed: Path, tmp_path: Path) -> None:
    """`xenpatch cost` from the wheel: the table, the JSON, and the plot
    through the [plot] extra's matplotlib."""
    exe = str(installed / "xenpatch")
    out = run([exe, "cost", "--cpus", "1,2,4"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "percpu_rwlock_t" in out.stdout
    png = tmp_path / "cost.png"
    out = run([exe, "cost", "--cpus", "1,2", "--json", "--plot", str(png)], tmp_path)
    assert out.returncode == 0, out.stderr
    assert '"per_operation"' in out.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
