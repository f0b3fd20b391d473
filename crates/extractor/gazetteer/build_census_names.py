"""Builds Khabar's list of English given names and surnames from the 1990 United States
census name files (a work of the US government, in the public domain) as shipped by the PyPI
package `names` (MIT licence). Run by `cargo xtask gazetteer`. The `entities` stage reads it
to tell a person's name from a capitalised word in Latin-script text: `Kristi Noem` is a
person because Kristi is a given name; `Price said` because Price is a common surname.

Columns: kind (`given` or `surname`), the name as news writes it (`Smith`, `Mcdonald` is
written `McDonald`), its share of the census population in percent, and its rank in its list.
"""
import argparse
from importlib import resources
from importlib.metadata import version
from pathlib import Path


def title(name: str) -> str:
    word = name.capitalize()
    # The census writes MCDONALD and MACARTHUR; news writes McDonald.
    if word.startswith("Mc") and len(word) > 3:
        word = "Mc" + word[2:].capitalize()
    return word


def read(file: str):
    text = resources.files("names").joinpath(file).read_text(encoding="ascii")
    for line in text.splitlines():
        columns = line.split()
        if len(columns) == 4:
            yield columns[0], float(columns[1]), int(columns[3])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("output", type=Path)
    parser.add_argument("--surnames", type=int, default=20000)
    args = parser.parse_args()
    given: dict[str, tuple[float, int]] = {}
    for file in ("dist.male.first", "dist.female.first"):
        for name, share, rank in read(file):
            previous = given.get(name)
            if previous is None or share > previous[0]:
                given[name] = (share, rank)
    lines = [
        "# Given names and surnames of the 1990 United States census (public domain, a work of",
        f"# the US government), as shipped by the PyPI package names {version('names')} (MIT licence).",
        "# Built by `cargo xtask gazetteer`. Columns: kind, name, share of the population in",
        "# percent, rank in its list (for given names, the better of the men's and the women's).",
    ]
    for name, (share, rank) in sorted(given.items(), key=lambda item: (-item[1][0], item[0])):
        lines.append(f"given\t{title(name)}\t{share:.3f}\t{rank}")
    for name, share, rank in read("dist.all.last"):
        if rank > args.surnames:
            break
        lines.append(f"surname\t{title(name)}\t{share:.3f}\t{rank}")
    args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
