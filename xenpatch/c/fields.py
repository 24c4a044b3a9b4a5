"""The C grammar's field ids, for ``Node.child_by_field_id()``.

``child_by_field_name(name)`` looks the name up in the grammar on every
call; by id it costs a third as much, and a whole-tree lint asks ~1.8
million fields (Xen 4.17).  Same answers: the id is the name's, looked up
once here in the grammar the parser uses.
"""

from __future__ import annotations

from xenpatch.c.source import _language


def _ids() -> dict[str, int]:
    lang = _language()
    out: dict[str, int] = {}
    for name in ("alternative", "argument", "arguments", "body", "condition", "consequence",
                 "declarator", "field", "function", "index", "initializer", "label", "left",
                 "name", "operator", "parameters", "right", "type", "update", "value"):
        got = lang.field_id_for_name(name)
        assert got is not None, f"the C grammar has no field {name!r}"
        out[name] = got
    return out


# Each field's id by its name (for a field named at run time).
ID = _ids()
ALTERNATIVE = ID["alternative"]
ARGUMENT = ID["argument"]
ARGUMENTS = ID["arguments"]
BODY = ID["body"]
CONDITION = ID["condition"]
CONSEQUENCE = ID["consequence"]
DECLARATOR = ID["declarator"]
FIELD = ID["field"]
FUNCTION = ID["function"]
INDEX = ID["index"]
INITIALIZER = ID["initializer"]
LABEL = ID["label"]
LEFT = ID["left"]
NAME = ID["name"]
OPERATOR = ID["operator"]
PARAMETERS = ID["parameters"]
RIGHT = ID["right"]
TYPE = ID["type"]
UPDATE = ID["update"]
VALUE = ID["value"]
