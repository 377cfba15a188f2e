"""The item-type tables written as comments above MainTable and LedgerTable in template.yaml, read
back as (table, label, partition key shape, sort key shape) rows."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
# A key shape is one token, where <...> may hold spaces: "WORKSPACE#<ws id>", "<at>#<audit id>".
_TOKEN = re.compile(r"(?:[^\s<]|<[^>]*>)+")
_LABEL_COLUMNS = slice(6, 23)  # "  #   " then the type's name, padded to 17 columns


def documented_rows(text: str | None = None) -> set[tuple[str, str, str, str]]:
    lines = (TEMPLATE.read_text(encoding="utf-8") if text is None else text).splitlines()
    rows: set[tuple[str, str, str, str]] = set()
    for number, line in enumerate(lines):
        if not line.startswith("  #   item type"):
            continue
        end = next(i for i in range(number, len(lines)) if not lines[i].startswith("  #"))
        table = "ledger" if lines[end].strip() == "LedgerTable:" else "main"
        for row in lines[number + 2 : end]:
            if not row.startswith("  #   ") or row[6] == " ":
                continue  # prose, a blank comment line, or a row's continuation
            label = row[_LABEL_COLUMNS].strip()
            pk, sk = _TOKEN.findall(row[_LABEL_COLUMNS.stop :])[:2]
            rows.add((table, label, pk, sk))
    return rows
