"""Measure on a real node what the store's analyzer makes of every word character: ``fold_table.json``.

``search_terms.fold`` folds words as OpenSearch's analyzer does, character
by character, from this table (only where the node differs from
``str.lower``). ``python -m tests.support.fold_table URL`` measures it again
and rewrites the file; a real-node test measures it and compares.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path
from typing import Any

from dynafold.projector.stores.opensearch.mappings import ANALYSIS

TABLE = Path(__file__).resolve().parents[2] / "projector" / "stores" / "fold_table.json"
_CHUNK = 3000


def word_characters() -> list[str]:
    """Letters, numbers, marks and private-use characters below the supplementary private-use planes."""
    found = []
    for code in range(0xF0000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        category = unicodedata.category(chr(code))
        if category[0] in "LNM" or category == "Co":
            found.append(chr(code))
    return found


def measure(client: Any, index: str) -> dict[str, str]:
    """Every word character whose fold on the node differs from ``str.lower``, with that fold."""
    client.indices.create(index=index, body={"settings": {"analysis": ANALYSIS}})
    try:
        table = {}
        characters = word_characters()
        for start in range(0, len(characters), _CHUNK):
            chunk = characters[start:start + _CHUNK]
            offsets, position = [], 0
            for character in chunk:
                offsets.append(position)
                position += len(character.encode("utf-16-le")) // 2 + 1  # Lucene's offsets count UTF-16 units
            tokens = client.indices.analyze(index=index, body={"analyzer": "default", "text": " ".join(chunk)})
            got = {token["start_offset"]: token["token"] for token in tokens["tokens"]}
            for character, offset in zip(chunk, offsets):
                folded = got.get(offset, "")
                if folded != character.lower():
                    table[character] = folded
        return table
    finally:
        client.indices.delete(index=index)


def write(table: dict[str, str]) -> None:
    TABLE.write_text(json.dumps(table, ensure_ascii=False, sort_keys=True, indent=0) + "\n", encoding="utf-8")


if __name__ == "__main__":
    from dynafold.projector.stores import open_store

    store = open_store(sys.argv[1])
    write(measure(store.client, store.prefix + "dynafold-fold-probe"))
    print(f"wrote {TABLE}")
