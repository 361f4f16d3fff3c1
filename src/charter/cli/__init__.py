"""The ``charter`` command (Typer + Rich)."""

from __future__ import annotations

from typer.core import TyperOption

_display_type_rich = TyperOption.display_type_rich


def _flag_shows_no_type(self: TyperOption, ctx) -> str | None:
    """A flag takes no value, so its help row names no value type.

    Typer's Rich help prints a type beside every option, flags included
    (``--json <bool>``, even ``--help <bool>``), where its plain help leaves flags
    bare; this keeps the Rich help to the plain help's rule for every command.
    """
    if self.is_flag and self.metavar is None:
        return None
    return _display_type_rich(self, ctx)


TyperOption.display_type_rich = _flag_shows_no_type
