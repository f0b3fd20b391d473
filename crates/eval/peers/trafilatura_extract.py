"""Runs trafilatura on the development split for `cargo xtask bench extraction --peers`.

Prints one JSON object: {"engine", "version", "mode", "seconds", "texts": {id: text}, "titles":
{id: title}} (titles from `trafilatura.extract_metadata`, untimed). The mode is trafilatura's
default balance (neither `favor_precision` nor `favor_recall`), comments left out, tables kept:
the settings a news pipeline would run it with. After an
untimed warm-up pass, PASSES (argv[2], default 3) passes are timed and the fastest counts, as
khabar-eval does for every engine; only the extraction calls are timed (not decompression or
file reading), on one core.
"""
import gzip
import json
import sys
import time
from pathlib import Path

import trafilatura


def main() -> None:
    directory = Path(sys.argv[1])
    truth = json.loads((directory / "ground-truth.json").read_text(encoding="utf-8"))
    pages = {}
    for page_id in truth:
        raw = gzip.decompress((directory / "html" / f"{page_id}.html.gz").read_bytes())
        pages[page_id] = raw.decode("utf-8", errors="replace")
    # One untimed pass first, as khabar-eval does for every engine.
    for html in pages.values():
        trafilatura.extract(html, include_comments=False, include_tables=True, favor_precision=False)
    passes = max(1, int(sys.argv[2])) if len(sys.argv) > 2 else 3
    texts = {}
    fastest = float("inf")
    for _ in range(passes):
        spent = 0.0
        for page_id, html in pages.items():
            started = time.perf_counter()
            text = trafilatura.extract(html, include_comments=False, include_tables=True, favor_precision=False)
            spent += time.perf_counter() - started
            texts[page_id] = text or ""
        fastest = min(fastest, spent)
    titles = {}
    for page_id, html in pages.items():
        metadata = trafilatura.extract_metadata(html)
        titles[page_id] = (metadata.title if metadata else None) or ""
    mode = "default balance (favor_precision=False, favor_recall=False), include_comments=False, include_tables=True"
    print(json.dumps({"engine": "trafilatura", "version": trafilatura.__version__, "mode": mode, "seconds": fastest, "texts": texts, "titles": titles}))


if __name__ == "__main__":
    main()
