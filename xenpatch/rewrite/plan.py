"""Decisions of a conversion: which sites change, into what, and the header edits.

Input: a rule, the scans of the candidate files, the tree's (lazily filled)
TypeIndex and the tree's text.  Output: a ``Plan`` of byte-range edits per
file, the site report, the diagnostics, and what stops it: the sites of the
target that cannot be converted (``remaining``: the plan is refused unless
the caller allows a partial conversion), errors, and clashes with names the
tree already defines.  Nothing here parses C itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from xenpatch.c.defindex import TreeText
from xenpatch.c.types import CType, FieldDecl, StructDef, TypeIndex, Unknown
from xenpatch.rewrite.edits import Edit
from xenpatch.rewrite.scan import FileScan, MacroSite, Site
from xenpatch.rules import COMMENT, KEEP, ConversionRule

RawOf = Callable[[str], bytes]  # reads a file of the tree, by its path in the tree

_PERCPU_API = {
    "read_lock": "percpu_read_lock",
    "read_unlock": "percpu_read_unlock",
    "write_lock": "percpu_write_lock",
    "write_unlock": "percpu_write_unlock",
}


@dataclass(frozen=True)
class Diagnostic:
    path: str
    line: int
    severity: str  # "error" stops the rewrite; "warning" and "note" do not
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"file": self.path, "line": self.line, "severity": self.severity,
                "message": self.message}

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.message}"


@dataclass(frozen=True)
class SiteReport:
    path: str
    line: int
    function: str
    old: str
    new: str
    type: str

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.path,
            "line": self.line,
            "function": self.function,
            "old": self.old,
            "new": self.new,
            "type": self.type,
        }


@dataclass
class Plan:
    edits: dict[str, list[Edit]] = field(default_factory=dict)
    sites: list[SiteReport] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # Sites that may be the target's and cannot be converted: the whole plan
    # is refused unless a partial conversion is asked for.
    remaining: list[Diagnostic] = field(default_factory=list)
    # Names the conversion would add that the tree already has (bad input).
    clashes: list[Diagnostic] = field(default_factory=list)
    nothing_to_do: str = ""  # why, when the target is converted already

    def add(self, path: str, edit: Edit) -> None:
        self.edits.setdefault(path, []).append(edit)

    def remains(self, path: str, line: int, message: str) -> None:
        self.remaining.append(Diagnostic(path, line, "error", message))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def _wrapper_arg(site: Site) -> str:
    obj = site.obj_text.strip()
    while obj.startswith("(") and obj.endswith(")") and re.fullmatch(r"\(\s*\w+\s*\)", obj):
        obj = obj[1:-1].strip()
    if site.op == "->":
        return obj
    return "&" + obj if re.fullmatch(r"[\w.\->\[\]]+", obj) else f"&({obj})"


def _converted_call(rule: ConversionRule, api: str, text: str, obj_arg: str) -> str:
    """The replacement of a lock/unlock call: a wrapper, or the percpu API itself."""
    if rule.wrappers.mode == "direct":
        return f"{_PERCPU_API[api]}({rule.lock.owner}, {text[text.index('(') + 1 :].lstrip()}"
    return f"{rule.wrappers.for_api(api)}({obj_arg})"


_WOULD_NOT_COMPILE = "{api}() takes an rwlock_t, and the field becomes a {new_type}"


def _site_edits(rule: ConversionRule, site: Site, plan: Plan, newline: bytes) -> None:
    api = site.api
    if api in _PERCPU_API:
        new = _converted_call(rule, api, site.text, _wrapper_arg(site))
        plan.add(site.path, Edit(site.start, site.end, new.encode(), f"{api} site"))
    elif api not in ("rwlock_init", "rw_is_write_locked", "rw_is_locked"):
        plan.remains(site.path, site.line,
                     f"'{site.text}': {rule.lock.new_type} has no equivalent of {api}()"
                     + _WORKAROUND.get(_api_family(api), ""))
        return
    elif rule.calls.for_api(api) == KEEP:
        plan.remains(site.path, site.line,
                     f"'{site.text}' is kept (calls.{api} = \"keep\"), but "
                     + _WOULD_NOT_COMPILE.format(api=api, new_type=rule.lock.new_type)
                     + f": the tree would not compile ({rule.path}:{rule.line('calls.' + api)})")
        return
    elif rule.calls.for_api(api) == COMMENT:
        if site.stmt_start < 0:
            plan.remains(site.path, site.line,
                         f"'{site.text}' is not a whole ASSERT/BUG_ON/WARN_ON statement, so it "
                         f"cannot become a comment (calls.{api} = \"comment\"); convert by hand")
            return
        from xenpatch.rewrite.render import indent_block, render  # jinja2: only when needed

        comment = render(
            rule.calls.comment_template,
            lock=f"{site.obj_text}{site.op}{rule.lock.field}",
            statement=site.stmt_text,
        )
        text = indent_block(comment.rstrip("\n") + "\n", site.indent)
        text = text[len(site.indent):].rstrip("\n")  # the statement's indent stays
        plan.add(site.path, Edit(site.stmt_start, site.stmt_end,
                                 text.replace("\n", newline.decode()).encode(), "comment"))
        new = "/* " + site.stmt_text + " */"
    elif api == "rwlock_init":
        new_name = rule.calls.rwlock_init
        plan.add(site.path, Edit(site.name_start, site.name_end, new_name.encode(), "init"))
        plan.add(site.path, Edit(site.args_close, site.args_close,
                                 f", {rule.lock.owner}".encode(), "init owner"))
        new = f"{new_name}{site.text[len(api):-1]}, {rule.lock.owner})"
    else:
        new_name = rule.calls.for_api(api)
        plan.add(site.path, Edit(site.name_start, site.name_end, new_name.encode(), "query"))
        new = new_name + site.text[len(api):]
    plan.sites.append(SiteReport(site.path, site.line, site.function, site.text, new,
                                 str(CType(rule.struct_type, 1 if site.op == "->" else 0))))


def _api_family(api: str) -> str:
    if api.startswith("_"):
        return "internal"
    if "trylock" in api:
        return "trylock"
    if api.endswith("_by_me"):
        return "by_me"
    if "_irq" in api or api.endswith("_bh"):
        return "irq"
    return ""


# The README's "Refused calls" section says the same at more length.
_WORKAROUND = {
    "trylock": "; a percpu rwlock cannot be tried: convert the site to a blocking lock by "
               "hand, or choose another lock",
    "by_me": "; a percpu rwlock does not record its writer: keep an owner field next to "
             "the lock, or drop the check by hand",
    "irq": "; percpu rwlocks have no IRQ-safe forms: take them with interrupts enabled, or "
           "choose another lock",
    "internal": "; it is the rwlock API's internal spelling: change the site to the public "
                "call by hand first",
}


def _field_edit(rule: ConversionRule, index: TypeIndex, raw_of: RawOf, plan: Plan) -> str | None:
    """Change the field's type, keeping the name in its column; returns the header path."""
    defs = index.struct_defs(rule.struct_type)
    if not defs:
        plan.diagnostics.append(Diagnostic(rule.path, rule.line("lock.struct"), "error",
                                           f"no definition of '{rule.struct_type}' in the tree"))
        return None
    with_field = [d for d in defs if rule.lock.field in d.fields]
    if len(with_field) != 1:
        where = ", ".join(f"{d.path}:{_line(raw_of(d.path), d.start)}" for d in defs)
        what = (f"no definition of '{rule.struct_type}' has a field '{rule.lock.field}' "
                f"(looked in {where})" if not with_field else
                f"'{rule.struct_type}' has {len(with_field)} definitions with a field "
                f"'{rule.lock.field}' ({where}); expected one{_per_arch_hint(with_field)}")
        plan.diagnostics.append(Diagnostic(rule.path, rule.line("lock.field"), "error", what))
        return None
    sd = with_field[0]
    fd = sd.fields[rule.lock.field]
    raw: bytes = raw_of(sd.path)
    current = raw[fd.type_start : fd.type_end].decode()
    if current == rule.lock.new_type:
        plan.nothing_to_do = (f"{sd.path}:{_line(raw, fd.type_start)}: "
                              f"'{rule.struct_type}.{rule.lock.field}' is a {current} already")
        return None
    if current != rule.lock.old_type:
        plan.diagnostics.append(Diagnostic(
            sd.path, _line(raw, fd.type_start), "error",
            f"'{rule.struct_type}.{rule.lock.field}' is '{current}', not '{rule.lock.old_type}'",
        ))
        return None
    gap = raw[fd.type_end : fd.name_start]
    if gap.strip(b" \t"):
        # A comment or qualifier between type and name: no column to keep.
        plan.diagnostics.append(Diagnostic(
            sd.path, _line(raw, fd.type_start), "error",
            f"cannot retype '{rule.struct_type}.{rule.lock.field}': "
            f"'{gap.decode().strip()}' stands between its type and its name",
        ))
        return None
    width = fd.name_start - fd.type_start  # Xen aligns with spaces; keep the name's column
    pad = max(1, width - len(rule.lock.new_type)) if b"\t" not in gap else len(gap)
    plan.add(sd.path, Edit(fd.type_start, fd.name_start,
                           (rule.lock.new_type + " " * pad).encode(), "field type"))
    return sd.path


_ARCH_HEADER = re.compile(r"^xen/(?:arch/([^/]+)/|include/asm-([^/]+)/)")


def _per_arch_hint(defs: list[StructDef]) -> str:
    # Each architecture's header defines its own struct p2m_domain: a build sees
    # one, and a rule converts one, named by narrowing its paths.  Trees before
    # 4.18 keep those headers in xen/include/asm-ARCH, beside the common ones.
    found = [m for d in defs if (m := _ARCH_HEADER.match(d.path))]
    arches = {m.group(1) or m.group(2) for m in found}
    if len(arches) < 2 or len(found) != len(defs):
        return ""
    arch = sorted(arches)[0]
    if any(m.group(2) for m in found):
        paths = ["xen/arch/" + arch, "xen/include/xen", "xen/include/public",
                 "xen/include/asm-" + arch, "xen/common"]
    else:
        paths = ["xen/arch/" + arch, "xen/include", "xen/common"]
    return (": one per architecture, so narrow the rule's paths to one, e.g. paths = ["
            + ", ".join(f'"{q}"' for q in paths) + "]")


def _line(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def _no_new_type(rule: ConversionRule) -> str:
    # Only the rule's paths are read: a rule narrowed to one architecture may
    # leave out the common headers, and "the tree lacks it" would then be false.
    if any("xen/include/xen/".startswith(p.rstrip("/") + "/") for p in rule.paths):
        return (f"the tree has no {rule.lock.new_type}: it lacks the percpu rwlock "
                "infrastructure (Xen commit ef9dd43ddd or later)")
    return (f"no file under the rule's paths ({', '.join(rule.paths)}) defines "
            f"{rule.lock.new_type}, which the tree's common headers do from Xen commit "
            "ef9dd43ddd on: add \"xen/include\" to paths")


def precheck(rule: ConversionRule, index: TypeIndex, raw_of: RawOf,
             text: TreeText | None = None) -> tuple[Plan, str | None]:
    """What needs no site: the percpu type exists, the field is there and of the old
    type (retyped in the plan; nothing to do when it is of the new one already),
    and the names the conversion adds are new.  Returns the plan so far and the
    field's header."""
    plan = Plan()
    if index.typedef(rule.lock.new_type) is None:
        plan.diagnostics.append(Diagnostic(
            rule.path, rule.line("lock.new_type"), "error", _no_new_type(rule)))
        return plan, None
    header = _field_edit(rule, index, raw_of, plan)
    if plan.nothing_to_do or plan.errors:
        return plan, header
    if text is not None:
        _clashes(rule, text, plan)
    return plan, header


def stopped(plan: Plan) -> bool:
    """The plan cannot go on to the sites."""
    return bool(plan.nothing_to_do or plan.errors or plan.clashes)


def build_plan(rule: ConversionRule, scans: list[FileScan], index: TypeIndex,
               raw_of: RawOf, text: TreeText | None = None,
               checked: tuple[Plan, str | None] | None = None) -> Plan:
    """``raw_of(path) -> bytes`` reads a file of the tree (only edited files are read);
    ``text`` answers which names the tree defines already; ``checked`` is
    ``precheck``'s answer when the caller has it."""
    plan, header = checked if checked is not None else precheck(rule, index, raw_of, text)
    if stopped(plan):
        return plan
    target = CType(rule.struct_type, 1)
    by_path = {s.path: s for s in scans}
    wrappers_at = _target_field(rule, index)[0].statement_end if header is not None else 0
    for scan in scans:
        if scan.error:
            for _, line, found in scan.text_sites:
                plan.remains(scan.path, line, f"'{found}' not converted: {scan.error}")
            plan.diagnostics.append(Diagnostic(scan.path, 1, "warning",
                                               f"skipped: {scan.error}"))
    init_files: list[str] = []
    needed: set[str] = set()
    for scan in sorted(scans, key=lambda s: s.path):
        newline = _newline_of(raw_of(scan.path)).encode() if scan.sites else b"\n"
        seen = {s.name_start for s in scan.sites} | {m.start for m in scan.macro_sites}
        for offset, line, found in [] if scan.error else scan.text_sites:
            if offset not in seen:
                plan.remains(scan.path, line,
                             f"'{found}' was not understood by the parse (a function with "
                             "a syntax error, a macro body of another shape, or code outside "
                             "any function): its type is unknown")
        for site in scan.sites:
            resolved = index.resolve(site.chain)
            if isinstance(resolved, Unknown):
                plan.remains(site.path, site.line,
                             f"cannot resolve the type of '{site.obj_text}' in "
                             f"'{site.text}': {resolved.reason}")
                continue
            want = target if site.op == "->" else CType(rule.struct_type, 0)
            if resolved != want:
                continue  # another struct's field of the same name
            if site.in_error:
                plan.remains(site.path, site.line,
                             f"'{site.text}' is in {site.function}(), which does not parse "
                             "cleanly: convert by hand or fix the syntax first")
                continue
            if (site.path == header and site.api in _PERCPU_API
                    and rule.wrappers.mode == "functions" and site.start < wrappers_at):
                plan.remains(site.path, site.line,
                             f"'{site.text}' comes before the end of {rule.struct_type}, "
                             "after which the wrappers go: it would call them before "
                             "their definition")
                continue
            _site_edits(rule, site, plan, newline)
            needed.add(site.api)
            if site.api == "rwlock_init":
                init_files.append(site.path)
        for ms in scan.macro_sites:
            _macro_edit(rule, index, text, ms, raw_of, plan)
            needed.add(ms.api)
        for esc in scan.escapes:
            resolved = index.resolve(esc.chain)
            want = target if esc.op == "->" else CType(rule.struct_type, 0)
            if resolved == want:
                # An unknown type here is let be: '&E->lock' is everywhere, and
                # the compiler catches what a wrong guess would leave.
                plan.remains(esc.path, esc.line,
                             f"the lock's address is taken in '{esc.text}' ({esc.function}()), "
                             f"not by an rwlock call: it would pass a {rule.lock.new_type} * "
                             f"where an {rule.lock.old_type} * is expected; convert by hand")
    if text is not None:
        _called_names_exist(rule, text, needed, plan)
    if header is not None:
        _header_edits(rule, index, header, by_path, raw_of, plan)
    if header is None or not _file_local(rule, header):
        _define_edit(rule, index, init_files, by_path, raw_of, plan)
    return plan


def _file_local(rule: ConversionRule, defined_in: str) -> bool:
    """Is the struct defined in a .c file, its owner placed by default?
    Only that file sees the lock, so the owner is defined there once,
    static, before the wrappers (as 0581b81c2a left grant_table.c):
    no DECLARE for other files."""
    return defined_in.endswith(".c") and not rule.placement.declare_in and \
        rule.placement.define_in in ("", defined_in)


def _clashes(rule: ConversionRule, text: TreeText, plan: Plan) -> None:
    """The owner and the wrappers are new names: one the tree has already would be
    defined twice (or shadow what it is)."""
    names = [("lock.owner", rule.lock.owner)]
    if rule.wrappers.mode == "functions":
        names += [(f"wrappers.{op}", getattr(rule.wrappers, op)) for op in _PERCPU_API]
    for key, name in names:
        for path, line in text.occurrences(name):
            raw = text.raw(path).splitlines()
            plan.clashes.append(Diagnostic(
                path, line, "error",
                f"'{name}' ({key} of {rule.path}:{rule.line(key)}) is already in the tree: "
                f"'{raw[line - 1].decode('utf-8', 'replace').strip()}'",
            ))
            break


def _called_names_exist(rule: ConversionRule, text: TreeText, needed: set[str],
                        plan: Plan) -> None:
    """A call key's function must exist in the tree, else the result does not compile."""
    for api in sorted(needed & {"rwlock_init", "rw_is_write_locked", "rw_is_locked"}):
        name = rule.calls.for_api(api)
        if name in (COMMENT, KEEP):
            continue
        if next(iter(text.word_hits(name)), None) is None:
            plan.diagnostics.append(Diagnostic(
                rule.path, rule.line(f"calls.{api}"), "error",
                f"calls.{api}: the tree's headers have no '{name}'",
            ))


def _field_is_unique(rule: ConversionRule, index: TypeIndex, text: TreeText | None) -> bool:
    """Only the target struct has a lock field of this name in the whole tree."""
    lock_types = {rule.lock.old_type, rule.lock.new_type}
    if text is not None:
        for facts in text.lock_field_owners(rule.lock.field, tuple(sorted(lock_types))):
            index.add(facts)
    owners = {
        name
        for name, defs in index.structs.items()
        for d in defs
        if rule.lock.field in d.fields
        and index.canonical(d.fields[rule.lock.field].ctype).base in lock_types
    }
    return owners == {rule.struct_type}


def _macro_edit(rule: ConversionRule, index: TypeIndex, text: TreeText | None,
                ms: MacroSite, raw_of: RawOf, plan: Plan) -> None:
    if not _field_is_unique(rule, index, text):
        plan.remains(ms.path, ms.line,
                     f"'{ms.text}' is inside a macro definition, where types are unknown, "
                     f"and other structs have a lock field '{rule.lock.field}' too")
        return
    choice = rule.calls.for_api(ms.api) if ms.api not in _PERCPU_API else ""
    if ms.api in _PERCPU_API:
        arg = ms.obj_text if ms.op == "->" else f"&{ms.obj_text}"
        new = _converted_call(rule, ms.api, ms.text, arg)
    elif ms.api in ("rw_is_write_locked", "rw_is_locked") and choice not in (COMMENT, KEEP):
        new = choice + ms.text[len(ms.api):]
    elif ms.api == "rwlock_init" and choice != KEEP:
        new = f"{rule.calls.rwlock_init}{ms.text[len(ms.api):-1]}, {rule.lock.owner})"
    else:
        why = (f"calls.{ms.api} = \"{choice}\" cannot apply inside a macro definition"
               if choice else f"{rule.lock.new_type} has no equivalent of {ms.api}()"
               + _WORKAROUND.get(_api_family(ms.api), ""))
        plan.remains(ms.path, ms.line, f"'{ms.text}' in a macro definition: {why}")
        return
    end, new_text = ms.end, new
    if ms.pad_to > 0:
        # Keep the continuation backslashes of the macro in their column.
        tail = raw_of(ms.path)[ms.end : ms.pad_to].decode().rstrip()
        new_text = new + tail
        end = ms.pad_to
        new_text += " " * max(1, (ms.pad_to - ms.start) - len(new_text))
    plan.add(ms.path, Edit(ms.start, end, new_text.encode(), "macro site"))
    plan.sites.append(SiteReport(ms.path, ms.line, "(macro)", ms.text, new,
                                 f"{rule.struct_type} * (by unique field name)"))
    plan.diagnostics.append(Diagnostic(
        ms.path, ms.line, "note",
        f"converted inside a macro definition: '{rule.lock.field}' is a lock field of "
        f"{rule.struct_type} only",
    ))


def _newline_of(raw: bytes) -> str:
    first = raw.find(b"\n")
    return "\r\n" if first > 0 and raw[first - 1 : first] == b"\r" else "\n"


def _target_field(rule: ConversionRule, index: TypeIndex) -> tuple[StructDef, FieldDecl]:
    sd = next(d for d in index.struct_defs(rule.struct_type) if rule.lock.field in d.fields)
    return sd, sd.fields[rule.lock.field]


def _under(conditions: tuple[str, ...], text: str, nl: str) -> str:
    """``text`` (lines ending in nl) under the field's #if conditions, if any."""
    if not conditions:
        return text
    opening = "".join(c + nl for c in conditions)
    closing = "".join("#endif" + nl for _ in conditions)
    return opening + text + closing


def _header_edits(rule: ConversionRule, index: TypeIndex, header: str,
                  by_path: dict[str, FileScan], raw_of: RawOf, plan: Plan) -> None:
    sd, fd = _target_field(rule, index)
    raw = raw_of(header)
    nl = _newline_of(raw)
    line_end = raw.find(b"\n", sd.statement_end)
    after_struct = len(raw) if line_end == -1 else line_end + 1
    owner = ""
    if _file_local(rule, header):
        owner = _under(fd.conditions,
                       f"static DEFINE_PERCPU_RWLOCK_GLOBAL({rule.lock.owner});\n", "\n")
    else:
        _declare_edit(rule, fd, header, sd.leading_comment_start, by_path, raw_of, plan)
    if rule.wrappers.mode != "functions":
        if owner:
            plan.add(header, Edit(after_struct, after_struct,
                                  ("\n" + owner).replace("\n", nl).encode(), "define"))
        return
    from xenpatch.rewrite.render import render  # jinja2: only when needed

    text = render(
        rule.wrappers.template,
        wrappers=[{"name": getattr(rule.wrappers, op), "percpu_api": api}
                  for op, api in _PERCPU_API.items()],
        struct=rule.lock.struct,
        param=rule.wrappers.param,
        owner=rule.lock.owner,
        field=rule.lock.field,
    ).rstrip("\n") + "\n"
    block = "\n" + (owner + "\n" if owner else "") + _under(fd.conditions, text, "\n")
    plan.add(header, Edit(after_struct, after_struct, block.replace("\n", nl).encode(),
                          "wrappers"))


def _declare_edit(rule: ConversionRule, fd: FieldDecl, header: str, before_struct: int,
                  by_path: dict[str, FileScan], raw_of: RawOf, plan: Plan) -> None:
    """The owner's DECLARE: before the struct in its header, or where the
    rule places it."""
    declare_in = rule.placement.declare_in or header
    if declare_in == header:
        at: int | None = before_struct
    else:
        scan = by_path.get(declare_in)
        at = scan.define_anchor if scan is not None else None
    if at is None:
        plan.diagnostics.append(Diagnostic(
            declare_in, 1, "error",
            f"cannot place DECLARE_PERCPU_RWLOCK_GLOBAL({rule.lock.owner}): "
            "no function to place it before",
        ))
    else:
        nl = _newline_of(raw_of(declare_in))
        decl = _under(fd.conditions, f"DECLARE_PERCPU_RWLOCK_GLOBAL({rule.lock.owner});{nl}",
                      nl) + nl
        plan.add(declare_in, Edit(at, at, decl.encode(), "declare"))


def _define_edit(rule: ConversionRule, index: TypeIndex, init_files: list[str],
                 by_path: dict[str, FileScan], raw_of: RawOf, plan: Plan) -> None:
    owners = sorted({p for p in init_files if p.endswith(".c")})
    if rule.placement.define_in:
        owners = [rule.placement.define_in]
    if len(owners) != 1:
        plan.diagnostics.append(Diagnostic(
            rule.path, 1, "error" if not owners else "warning",
            f"cannot place DEFINE_PERCPU_RWLOCK_GLOBAL({rule.lock.owner}): "
            f"{'no' if not owners else len(owners)} .c files initialise the lock"
            + (f" ({', '.join(owners)})" if owners else ""),
        ))
        if not owners:
            return
    path = owners[0]
    scan = by_path.get(path)
    if scan is None or scan.define_anchor is None:
        plan.diagnostics.append(Diagnostic(path, 1, "error",
                                           "no function to place the DEFINE before"))
        return
    nl = _newline_of(raw_of(path))
    _, fd = _target_field(rule, index)
    text = _under(fd.conditions, f"DEFINE_PERCPU_RWLOCK_GLOBAL({rule.lock.owner});{nl}", nl) + nl
    plan.add(path, Edit(scan.define_anchor, scan.define_anchor, text.encode(), "define"))


__all__ = ["Diagnostic", "Plan", "SiteReport", "build_plan", "precheck", "stopped"]
