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
