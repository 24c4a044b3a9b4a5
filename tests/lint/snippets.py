"""C snippets several lint test modules lint."""

# A lock leaked on one early return: XL001 at `return -1`.
LEAK = """static DEFINE_SPINLOCK(l);
int bad(int x)
{
    spin_lock(&l);
    if ( x )
        return -1;
    spin_unlock(&l);
    return 0;
}
"""


def if_else(lines: list[str], ind: str, cond: str, then, other) -> int:
    """Append ``if ( cond ) { ... } else { ... }`` at indent ``ind`` to
    ``lines``, each arm written by its callable (given the deeper indent);
    the if's line number."""
    lines.append(f"{ind}if ( {cond} )")
    at = len(lines)
    lines.append(f"{ind}{{")
    then(ind + "    ")
    lines.append(f"{ind}}}")
    lines.append(f"{ind}else")
    lines.append(f"{ind}{{")
    other(ind + "    ")
    lines.append(f"{ind}}}")
    return at
