"""Versions that survive rewording: patch identity by `git patch-id --stable`
(subject as the fallback), Message-IDs kept when a version is regenerated,
b4's change-id kept from version to version."""

from __future__ import annotations

import re
from pathlib import Path

from _seriesutil import commit, run_git, series_inproc

from xenpatch.series import versions


def _redo(repo: Path, base: str, subjects: list[str], contents: list[str]) -> None:
    """The branch rebuilt from ``base``: one commit per (subject, content)."""
    run_git(repo, "reset", "-q", "--hard", base)
    for i, (subject, content) in enumerate(zip(subjects, contents, strict=True)):
        commit(repo, {f"f{i}.c": content}, subject)


def _ids(folder: Path, version: int) -> dict[str, str]:
    out = {}
    for p in sorted(folder.glob(f"v{version}-*.patch")):
        out[p.name] = re.search(r"^Message-ID: <(.*)>$", p.read_text(), re.M).group(1)
    return out


def test_reworded_subject_keeps_the_patch_changelog(make_repo, tmp_path):
    repo = make_repo()
    base = commit(repo, {"README": "r\n"}, "base")
    _redo(repo, base, ["x86: first try", "common: second"], ["int a;\n", "int b;\n"])
    out = tmp_path / "out"
    args = [f"{base}..HEAD", "-o", str(out), "--no-maintainers", "--name", "topic"]
    assert series_inproc(repo, *args) == 0
    # v2: patch 1 reworded, same diff: its v1 is found by patch-id
    _redo(repo, base, ["x86/mm: first, reworded", "common: second"], ["int a;\n", "int b;\n"])
    assert series_inproc(repo, *args, "-v", "2") == 0
    p1 = next(out.glob("v2-0001-*.patch"))
    text = p1.read_text()
    assert f"Changes since v1:\n - {versions.PLACEHOLDER}\n" in text
    p1.write_text(text.replace(f" - {versions.PLACEHOLDER}", " - Reworded the subject"))
    # v3: reworded again and its diff changed too: followed back by subject, then patch-id
    _redo(repo, base, ["x86/mm: first, reworded", "common: second"],
          ["int a = 1;\n", "int b;\n"])
    assert series_inproc(repo, *args, "-v", "3") == 0
    text = next(out.glob("v3-0001-*.patch")).read_text()
    assert (f"Changes since v2:\n - {versions.PLACEHOLDER}\nChanges since v1:\n"
            " - Reworded the subject\n") in text


def test_regenerated_version_keeps_its_message_ids(make_repo, tmp_path):
    repo = make_repo()
    base = commit(repo, {"README": "r\n"}, "base")
    _redo(repo, base, ["a: one", "b: two"], ["1\n", "2\n"])
    out = tmp_path / "out"
    args = [f"{base}..HEAD", "-o", str(out), "--no-maintainers", "--name", "t"]
    assert series_inproc(repo, *args, "-v", "2") == 0
    first = _ids(out, 2)
    cover_v2 = (out / "v2-0000-cover-letter.patch").read_text()
    change_id = re.search(r"^change-id: (\S+)$", cover_v2, re.M).group(1)
    assert re.fullmatch(r"\d{8}-t-[0-9a-f]{12}", change_id)
    # reword patch b: regenerated v2 keeps every id (b found by patch-id)
    _redo(repo, base, ["a: one", "b: two, better said"], ["1\n", "2\n"])
    assert series_inproc(repo, *args, "-v", "2") == 0
    again = _ids(out, 2)
    assert sorted(again.values()) == sorted(first.values())
    assert series_inproc(repo, *args, "-v", "2", "--new-message-ids") == 0
    fresh = _ids(out, 2)
    assert not set(fresh.values()) & set(first.values())
    # v3 keeps the series' change-id
    assert series_inproc(repo, *args, "-v", "3") == 0
    assert f"change-id: {change_id}\n" in (out / "v3-0000-cover-letter.patch").read_text()


def test_previous_of_a_lone_patch_is_that_patch(make_repo, tmp_path):
    repo = make_repo()
    base = commit(repo, {"README": "r\n"}, "base")
    commit(repo, {"f": "1\n"}, "f: lone")
    out = tmp_path / "out"
    args = [f"{base}..HEAD", "-o", str(out), "--no-maintainers", "--name", "t"]
    assert series_inproc(repo, *args) == 0
    (v1_id,) = _ids(out, 1).values()
    assert series_inproc(repo, *args, "-v", "2", "--in-reply-to", "previous") == 0
    (v2,) = out.glob("v2-*.patch")
    assert f"In-Reply-To: <{v1_id}>\nReferences: <{v1_id}>\n" in v2.read_text()


def test_patch_ids_ignore_the_users_diff_settings(make_repo):
    from xenpatch import git

    repo = make_repo()
    commit(repo, {"README": "r\n", "old.c": "".join(f"{i}\n" for i in range(40))}, "base")
    run_git(repo, "mv", "old.c", "new.c")
    sha = commit(repo, {"new.c": "".join(f"{i}\n" for i in range(41))}, "rename and edit")
    plain = git.patch_ids(repo, [sha])
    for key, value in (("diff.noprefix", "true"), ("diff.renames", "false"),
                       ("diff.algorithm", "histogram"), ("color.ui", "always")):
        run_git(repo, "config", key, value)
    assert git.patch_ids(repo, [sha]) == plain



def test_versions_made_in_one_second_never_share_a_message_id(make_repo, tmp_path):
    from xenpatch.series import series as series_mod

    repo = make_repo()
    base = commit(repo, {"README": "r\n"}, "base")
    _redo(repo, base, ["a: one", "b: two"], ["1\n", "2\n"])
    out = tmp_path / "out"
    seen: list[set[str]] = []
    for version, new_ids in ((1, False), (2, False), (2, True)):
        opts = series_mod.Options(spec=f"{base}..HEAD", version=version, maintainers=False,
                                  name="t", now=1_700_000_000, new_message_ids=new_ids)
        built = series_mod.build(repo, opts)
        series_mod.write(repo, built, out)
        seen.append({m.message_id for m in built.mails})
    assert all(len(s) == 3 for s in seen)
    assert not seen[0] & seen[1] and not seen[1] & seen[2] and not seen[0] & seen[2]
