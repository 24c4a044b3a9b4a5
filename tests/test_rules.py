import re
from pathlib import Path

import pytest

from xenpatch.rules import RuleError, load_rule

RULES = Path(__file__).resolve().parent.parent / "rules"


@pytest.mark.parametrize("name", ["grant_table.toml", "event_lock.toml"])
def test_shipped_rules_load(name: str) -> None:
    rule = load_rule(RULES / name)
    assert rule.lock.new_type == "percpu_rwlock_t"
    assert rule.wrappers.for_api("read_lock") and rule.wrappers.for_api("write_unlock")


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    text = (RULES / "grant_table.toml").read_text()
    assert old in text
    path = tmp_path / "rule.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_unknown_key_names_file_line_and_key(tmp_path: Path) -> None:
    path = _edited(tmp_path, 'owner = "grant_rwlock"', 'owner = "grant_rwlock"\nownr = "x"')
    with pytest.raises(RuleError) as err:
        load_rule(path)
    assert str(err.value) == f"{path}:{_line_of(path, 'ownr')}: lock.ownr: unknown key"


def test_missing_key_is_refused(tmp_path: Path) -> None:
    path = _edited(tmp_path, 'write_unlock = "grant_write_unlock"\n', "")
    with pytest.raises(RuleError) as err:
        load_rule(path)
    line = _line_of(path, "[wrappers]")
    assert str(err.value) == (
        f"{path}:{line}: wrappers.write_unlock: missing (needed by mode 'functions')"
    )


def test_missing_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rule.toml"
    text = (RULES / "grant_table.toml").read_text()
    path.write_text(text[: text.index("[commit]")])
    with pytest.raises(RuleError) as err:
        load_rule(path)
    assert str(err.value) == f"{path}:1: commit: missing"


def test_wrong_type_is_refused(tmp_path: Path) -> None:
    path = _edited(tmp_path, 'param = "gt"', "param = 3")
    with pytest.raises(RuleError) as err:
        load_rule(path)
    assert str(err.value) == (
        f"{path}:{_line_of(path, 'param = 3')}: wrappers.param: must be a str, not int"
    )


def test_non_identifier_is_refused(tmp_path: Path) -> None:
    path = _edited(tmp_path, 'owner = "grant_rwlock"', 'owner = "grant rwlock"')
    with pytest.raises(RuleError, match=r"lock\.owner: 'grant rwlock' is not a C identifier"):
        load_rule(path)


@pytest.mark.parametrize("key", ["rwlock_init", "rw_is_write_locked", "rw_is_locked"])
def test_call_keys_share_one_schema(tmp_path: Path, key: str) -> None:
    """Each call key takes a function name, "comment" or "keep"; anything else
    is refused on its own line, whichever key it is."""
    text = (RULES / "grant_table.toml").read_text()
    old = next(line for line in text.splitlines() if line.startswith(f"{key} ="))
    for value, taken in (("my_fn", True), ("keep", True), ("comment", key != "rwlock_init"),
                         ("drop it", False), ("f()", False)):
        path = _edited(tmp_path, old, f'{key} = "{value}"')
        if taken:
            assert load_rule(path).calls.for_api(key) == value
            continue
        with pytest.raises(RuleError) as err:
            load_rule(path)
        assert str(err.value).startswith(f"{path}:{_line_of(path, f'{key} =')}: calls.{key}: ")


def test_rwlock_init_cannot_be_a_comment(tmp_path: Path) -> None:
    path = _edited(tmp_path, 'rwlock_init = "percpu_rwlock_resource_init"',
                   'rwlock_init = "comment"')
    with pytest.raises(RuleError, match="an initialisation cannot become a comment"):
        load_rule(path)


def test_key_lines_are_those_of_the_file(tmp_path: Path) -> None:
    path = _edited(tmp_path, 'field = "lock"', '\n\nfield = "lok"')
    rule = load_rule(path)
    assert rule.line("lock.field") == _line_of(path, 'field = "lok"')
    assert rule.line("calls.rw_is_locked") == _line_of(path, "rw_is_locked =")


def test_toml_syntax_error_names_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("name = \n")
    with pytest.raises(RuleError, match=str(path)):
        load_rule(path)


@pytest.mark.parametrize(("old", "new", "where", "char"), [
    # The subject becomes the commit's and the mail's Subject: header.
    ('subject = "', 'subject = "x\\u001b[31m', "commit.subject", "U+001B"),
    ('subject = "', 'subject = "two\\nlines ', "commit.subject", "U+000A"),
    ('name = "', 'name = "g\\u0007', "name", "U+0007"),
    ('body = """', 'body = """bell \\u0007', "commit.body", "U+0007"),
])
def test_control_characters_in_values_are_refused(tmp_path: Path, old: str, new: str,
                                                  where: str, char: str) -> None:
    path = _edited(tmp_path, old, new)
    with pytest.raises(RuleError) as err:
        load_rule(path)
    assert re.fullmatch(rf"{re.escape(str(path))}:\d+: {re.escape(where)}: control character "
                        rf"{re.escape(char)} in the value.*", str(err.value)), str(err.value)


def test_newlines_and_tabs_of_a_multiline_value_are_text(tmp_path: Path) -> None:
    path = _edited(tmp_path, 'body = """', 'body = """\tindented\n\n')
    assert "\tindented" in load_rule(path).commit.body
