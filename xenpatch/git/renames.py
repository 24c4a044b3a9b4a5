"""Rename detection and scores as git's diffcore-rename computes them.
"""

from __future__ import annotations

import pygit2

from xenpatch.git.repo import EXEC_MODE, REG_MODE

MAX_SCORE = 60000  # git's diffcore.h
MIN_SCORE = 30000  # -M default: 50%
_HASHBASE = 107927
_M32 = 0xFFFFFFFF


def _span_counts(data: bytes) -> dict[int, int]:
    """git's diffcore-delta fingerprint of a blob: bytes per chunk hash.

    A chunk ends at a newline or after 64 bytes; a final chunk without either
    is not counted (as in git).  CR of CRLF is skipped in text blobs.
    """
    counts: dict[int, int] = {}
    is_text = b"\0" not in data[:8000]
    acc1 = acc2 = 0
    n = 0
    size = len(data)
    for i, c in enumerate(data):
        if is_text and c == 0x0D and i + 1 < size and data[i + 1] == 0x0A:
            continue
        old1 = acc1
        acc1 = (((acc1 << 7) & _M32) ^ (acc2 >> 25)) & _M32
        acc2 = (((acc2 << 7) & _M32) ^ (old1 >> 25)) & _M32
        acc1 = (acc1 + c) & _M32
        n += 1
        if n < 64 and c != 0x0A:
            continue
        h = ((acc1 + ((acc2 * 0x61) & _M32)) & _M32) % _HASHBASE
        counts[h] = counts.get(h, 0) + n
        n = 0
        acc1 = acc2 = 0
    return counts


def _rename_score(old: bytes, new: bytes) -> int:
    """git's estimate_similarity(): 0..60000, 0 when sizes alone rule it out.

    libgit2 scores renames with its own signatures, so its percentages drift
    from git's; the "similarity index" and "rename ... (N%)" lines must match
    git to the byte, so pairing and scoring follow diffcore-rename instead.
    """
    max_size, base_size = max(len(old), len(new)), min(len(old), len(new))
    if max_size * (MAX_SCORE - MIN_SCORE) < (max_size - base_size) * MAX_SCORE:
        return 0
    if not new:
        return 0
    src, dst = _span_counts(old), _span_counts(new)
    copied = sum(min(cnt, dst.get(h, 0)) for h, cnt in src.items())
    return copied * MAX_SCORE // max_size


def _basename_same(a: bytes, b: bytes) -> bool:
    return a.rsplit(b"/", 1)[-1] == b.rsplit(b"/", 1)[-1]


def pair_renames(
    repo: pygit2.Repository, deleted: list[pygit2.DiffDelta], added: list[pygit2.DiffDelta]
) -> list[tuple[pygit2.DiffDelta, pygit2.DiffDelta, int]]:
    """(source, destination, score) pairs as git's diffcore-rename picks them:
    exact content matches first (same basename preferred), then files whose
    basename is unique on both sides at 75%, then the best-scoring rest."""
    pairs: list[tuple[pygit2.DiffDelta, pygit2.DiffDelta, int]] = []
    used_src: set[int] = set()
    used_dst: set[int] = set()
    # exact
    for di, d in enumerate(added):
        same = [
            si for si, s in enumerate(deleted)
            if si not in used_src and s.old_file.id == d.new_file.id
        ]
        if not same:
            continue
        best = next((si for si in same if _basename_same(deleted[si].old_file.raw_path,
                                                          d.new_file.raw_path)), same[0])
        pairs.append((deleted[best], d, MAX_SCORE))
        used_src.add(best)
        used_dst.add(di)
    blobs: dict[str, bytes] = {}

    def data(oid: pygit2.Oid) -> bytes:
        key = str(oid)
        if key not in blobs:
            blob = repo[oid]
            assert isinstance(blob, pygit2.Blob)  # a file's id in a diff names a blob
            blobs[key] = blob.data
        return blobs[key]

    def regular(mode: int) -> bool:
        return mode in (REG_MODE, EXEC_MODE)

    # basename matches (git >= 2.33)
    def base(p: bytes) -> bytes:
        return p.rsplit(b"/", 1)[-1]

    src_names: dict[bytes, list[int]] = {}
    for si, s in enumerate(deleted):
        if si not in used_src:
            src_names.setdefault(base(s.old_file.raw_path), []).append(si)
    dst_names: dict[bytes, list[int]] = {}
    for di, d in enumerate(added):
        if di not in used_dst:
            dst_names.setdefault(base(d.new_file.raw_path), []).append(di)
    min_basename = MIN_SCORE + (MAX_SCORE - MIN_SCORE) // 2
    for name, sis in src_names.items():
        dis = dst_names.get(name, [])
        if len(sis) != 1 or len(dis) != 1:
            continue
        s, d = deleted[sis[0]], added[dis[0]]
        if not (regular(s.old_file.mode) and regular(d.new_file.mode)):
            continue
        score = _rename_score(data(s.old_file.id), data(d.new_file.id))
        if score >= min_basename:
            pairs.append((s, d, score))
            used_src.add(sis[0])
            used_dst.add(dis[0])
    # inexact: keep the best 4 candidates per destination, then greedily
    # take the highest scores (ties: same basename first), like git's matrix
    candidates: list[tuple[int, int, int, int]] = []  # (-score, -name, order, ...)
    order = 0
    for di, d in enumerate(added):
        if di in used_dst or not regular(d.new_file.mode):
            continue
        row: list[tuple[int, int, int]] = []  # (score, same basename, source index)
        for si, s in enumerate(deleted):
            if si in used_src or not regular(s.old_file.mode):
                continue
            score = _rename_score(data(s.old_file.id), data(d.new_file.id))
            row.append((score, int(_basename_same(s.old_file.raw_path, d.new_file.raw_path)), si))
        row.sort(key=lambda r: (-r[0], -r[1]))
        for score, same_name, si in row[:4]:
            candidates.append((score, same_name, order, di * 1_000_000 + si))
            order += 1
    candidates.sort(key=lambda c: (-c[0], -c[1], c[2]))
    for score, _name, _order, key in candidates:
        di, si = divmod(key, 1_000_000)
        if score < MIN_SCORE:
            break
        if di in used_dst or si in used_src:
            continue
        pairs.append((deleted[si], added[di], score))
        used_src.add(si)
        used_dst.add(di)
    return pairs
