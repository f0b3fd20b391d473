"""Builds Khabar's lists of ordinary words from the PyPI package `wordfreq`: the most
frequent words of a language with their Zipf frequency (log10 of occurrences per billion
words). Run by `cargo xtask gazetteer`. The `entities` stage reads them to tell an ordinary
word (دولة, سنة, كشف; Blue, Card, Design) from a name that is spelt the same, and the Arabic
name tagger sees each word's frequency.
"""
import argparse
from importlib.metadata import version
from pathlib import Path

import wordfreq


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("output", type=Path)
    parser.add_argument("--words", type=int, default=30000)
    parser.add_argument("--language", default="ar")
    args = parser.parse_args()
    words = wordfreq.top_n_list(args.language, args.words)
    name = {"ar": "Arabic", "en": "English"}.get(args.language, args.language)
    lines = [
        f"# The most frequent {name} words by the PyPI package wordfreq "
        f"{version('wordfreq')} (Robyn Speer et al.; its word lists are licensed",
        "# CC BY-SA 4.0 and built from Wikipedia, OpenSubtitles, news, web and social-media text).",
        "# This file is derived from them and is licensed CC BY-SA 4.0 too.",
        "# Built by `cargo xtask gazetteer`. Columns: rank (1 = most frequent), word, Zipf frequency.",
    ]
    for rank, word in enumerate(words, start=1):
        zipf = wordfreq.zipf_frequency(word, args.language)
        lines.append(f"{rank}\t{word}\t{zipf:.2f}")
    args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
