"""Runs trafilatura on the development split for `cargo xtask bench extraction --peers`.

Prints one JSON object: {"engine", "version", "seconds", "texts": {id: text}}. Only the
extraction calls of the second of two passes are timed (decompression, file reading and the
warm-up pass are not), on one core.
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
    texts = {}
    spent = 0.0
    for page_id, html in pages.items():
        started = time.perf_counter()
        text = trafilatura.extract(html, include_comments=False, include_tables=True, favor_precision=False)
        spent += time.perf_counter() - started
        texts[page_id] = text or ""
    print(json.dumps({"engine": "trafilatura", "version": trafilatura.__version__, "seconds": spent, "texts": texts}))


if __name__ == "__main__":
    main()
