"""Builds Khabar's list of listed companies from the index members shipped by the PyPI package
pytickersymbols (MIT licence, SlashGordon and contributors): the companies of twenty stock
indices (S&P 500 and 600, NASDAQ 100, Dow Jones, FTSE 100, DAX and its siblings, CAC 40,
EURO STOXX 50, IBEX 35, AEX, BEL 20, Nikkei 225, OMX, Swiss 20). Run by `cargo xtask
gazetteer`. The `entities` stage reads it to know an organization by name in English text.

Columns: `full` or `short`, the name lower-cased. `full` is the registered name without its
legal form (`Anglo American plc` → `anglo american`), `short` the name without the words that
describe the business (`Infineon Technologies` → `infineon`), as news writes it after first
mention. The stage decides which one-word forms to trust (not ordinary words, not people's
names).
"""
import argparse
import re
from importlib.metadata import version
from pathlib import Path

from pytickersymbols.indices_data import INDICES

# Legal forms, last words of a registered name.
LEGAL = {
    "inc", "inc.", "incorporated", "corp", "corp.", "corporation", "co", "co.", "company",
    "plc", "p.l.c.", "ag", "se", "sa", "s.a.", "nv", "n.v.", "ltd", "ltd.", "limited", "llc",
    "l.p.", "lp", "oyj", "abp", "asa", "ab", "spa", "s.p.a.", "kgaa", "& co.", "kg", "gmbh",
    "bv", "b.v.", "holding", "holdings", "the",
}
# Words that describe a business, dropped for the short form.
DESCRIPTIVE = {
    "group", "international", "technologies", "technology", "pharmaceuticals", "energy",
    "financial", "industries", "systems", "solutions", "resources", "brands", "entertainment",
    "communications", "networks", "therapeutics", "bancorp", "bancshares", "properties",
    "realty", "trust", "services", "semiconductor", "semiconductors", "software", "worldwide",
    "global", "electric", "motors", "motor", "airlines", "insurance", "bank", "steel", "media",
    "healthcare", "health", "medical", "capital", "partners", "partnership", "enterprises",
    "laboratories", "labs", "stores", "foods", "chemicals", "electronics",
}


def words(name: str) -> list[str]:
    name = re.sub(r"\s*\(.*?\)", "", name)
    return name.replace(",", " ").split()


def strip(parts: list[str], drop: set[str]) -> list[str]:
    parts = list(parts)
    while len(parts) > 1 and parts[-1].lower() in drop:
        parts.pop()
    while len(parts) > 1 and parts[0].lower() == "the":
        parts.pop(0)
    return parts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("output", type=Path)
    args = parser.parse_args()
    full: set[str] = set()
    short: set[str] = set()
    for index in INDICES.values():
        for company in index["companies"]:
            parts = strip(words(company["name"]), LEGAL)
            if not parts:
                continue
            full.add(" ".join(parts).lower())
            brief = strip(parts, LEGAL | DESCRIPTIVE)
            if brief != parts:
                short.add(" ".join(brief).lower())
    lines = [
        "# Companies of twenty stock indices, from the PyPI package pytickersymbols "
        f"{version('pytickersymbols')}",
        "# (MIT licence, SlashGordon and contributors), lower-cased. Built by `cargo xtask",
        "# gazetteer`. Columns: form (full: the name without its legal form; short: without the",
        "# words describing the business too), name.",
    ]
    lines += [f"full\t{name}" for name in sorted(full)]
    lines += [f"short\t{name}" for name in sorted(short - full)]
    args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
