"""Griffe extension for the API reference: convnet's docstrings head their doctests with
``Example:`` (or ``Example (what it shows):``), which Griffe's Google-style parser reads as
plain text; this renames the heading to ``Examples:`` so the doctests render as code, the
parenthesis kept as the section's first line; and shows Sphinx roles
(``:func:`convnet.functional.conv2d```) as the code they name.
"""

from __future__ import annotations

import re

import griffe

ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|exc|obj):`~?([^`]+)`")
HEADING = re.compile(r"^(?P<indent>[ \t]*)Examples?(?: \((?P<note>[^\n]*)\))?:[ \t]*$", re.M)


def _rename(match: re.Match) -> str:
    indent, note = match.group("indent"), match.group("note")
    heading = f"{indent}Examples:"
    return heading if not note else f"{heading}\n{indent}    {note[0].upper()}{note[1:]}:\n"


class ExampleSections(griffe.Extension):
    """Rewrite every loaded object's docstring headings before it is parsed."""

    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None:
            value = HEADING.sub(_rename, obj.docstring.value)
            obj.docstring.value = ROLE.sub(r"``\1``", value)
