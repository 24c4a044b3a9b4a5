# dataclasses' generated methods compiled once per install (methodcode.py):
# installed before any module of the package makes a class.
from xenpatch import methodcode as _methodcode

_methodcode.install()
