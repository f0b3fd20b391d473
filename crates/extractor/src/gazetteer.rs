//! Gazetteers: who and where, with every name a text may use for them.
//!
//! A TSV line per entry: id, kind, canonical name, aliases (`|`), lat, lon, country, GeoNames
//! id, note, feature, population (columns after the fourth may be empty or missing). The
//! feature is GeoNames' class and code: `P` a populated place, `A.PCLI` a country, `A.ADM1` a
//! first-level division, `S`, `L`, `H` spots, areas and water (camps, oil fields, crossings).
//! Lines starting with `#` are comments. The curated list ships inside the binary; users add
//! their own files.

use khabar_core_model::EntityKind;

/// One person, organization or place.
#[derive(Debug, Clone, PartialEq)]
pub struct GazetteerEntry {
    pub id: String,
    pub kind: EntityKind,
    pub canonical: String,
    pub aliases: Vec<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub country: Option<String>,
    pub geonames: Option<String>,
    /// GeoNames feature class and code (`P`, `A.PCLI`, `A.ADM1`…).
    pub feature: Option<String>,
    pub population: Option<u64>,
    /// From a bulk list (GeoNames): its names are also common words somewhere, so the matcher
    /// guards them (see `entities`).
    pub bulk: bool,
}

impl GazetteerEntry {
    /// A country (GeoNames feature A.PCLI).
    pub fn is_country(&self) -> bool {
        self.feature.as_deref() == Some("A.PCLI")
    }
}

/// The curated bilingual list of Middle East and North Africa actors and places.
pub const CURATED: &str = include_str!("../gazetteer/curated.tsv");

/// A line of a gazetteer that does not read: the file and line, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {problem}")]
pub struct GazetteerError {
    /// `curated.tsv:12`.
    pub at: String,
    pub problem: String,
}

/// Reads a gazetteer; `origin` names the file in errors ("curated.tsv:12: …").
pub fn parse_tsv(text: &str, origin: &str) -> Result<Vec<GazetteerEntry>, GazetteerError> {
    // A large list (GeoNames: 5 MB, a fifth of a start) is read in two halves on two threads;
    // each line stands alone, so the halves join into what one pass gives.
    const SPLIT_ABOVE: usize = 1 << 20;
    if text.len() > SPLIT_ABOVE {
        let middle = text.len() / 2;
        if let Some(newline) = text.as_bytes()[middle..].iter().position(|b| *b == b'\n') {
            let (head, tail) = text.split_at(middle + newline + 1);
            let lines_before_tail = head.bytes().filter(|b| *b == b'\n').count();
            let (head, tail) = std::thread::scope(|scope| {
                let tail = scope.spawn(|| parse_lines(tail, origin, lines_before_tail));
                let head = parse_lines(head, origin, 0);
                (head, tail.join())
            });
            let mut entries = head?;
            entries.extend(tail.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?);
            return Ok(entries);
        }
    }
    parse_lines(text, origin, 0)
}

/// [`parse_tsv`] of lines that start at line `first` (from 0) of the list.
fn parse_lines(
    text: &str,
    origin: &str,
    first: usize,
) -> Result<Vec<GazetteerEntry>, GazetteerError> {
    let mut entries = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let number = first + number;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fail = |problem: String| GazetteerError {
            at: format!("{origin}:{}", number + 1),
            problem,
        };
        // Columns past the eleventh are ignored; an array, not a vector: one allocation
        // fewer per line of a list read at every start.
        let mut fields = [""; 11];
        let mut columns = 0;
        for (slot, field) in fields.iter_mut().zip(line.split('\t')) {
            *slot = field;
            columns += 1;
        }
        if columns < 4 {
            return Err(fail(format!(
                "expected at least 4 tab-separated columns (id, kind, name, aliases), found {columns}"
            )));
        }
        let kind = match fields[1].trim() {
            "place" => EntityKind::Place,
            "organization" => EntityKind::Organization,
            "person" => EntityKind::Person,
            other => {
                return Err(fail(format!(
                    "kind {other:?} is not place, organization or person"
                )))
            }
        };
        let number_field = |i: usize| -> Result<Option<f64>, GazetteerError> {
            match fields.get(i).map(|f| f.trim()).filter(|f| !f.is_empty()) {
                Some(f) => f
                    .parse()
                    .map(Some)
                    .map_err(|_| fail(format!("column {} {f:?} is not a number", i + 1))),
                None => Ok(None),
            }
        };
        let text_field = |i: usize| {
            fields
                .get(i)
                .map(|f| f.trim().to_string())
                .filter(|f| !f.is_empty())
        };
        let canonical = fields[2].trim().to_string();
        let mut aliases: Vec<String> = fields[3]
            .split('|')
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        if !aliases.contains(&canonical) {
            aliases.push(canonical.clone());
        }
        entries.push(GazetteerEntry {
            id: fields[0].trim().to_string(),
            kind,
            canonical,
            aliases,
            lat: number_field(4)?,
            lon: number_field(5)?,
            country: text_field(6),
            geonames: text_field(7),
            feature: text_field(9),
            population: match text_field(10) {
                Some(p) => Some(p.parse().map_err(|_| {
                    fail(format!(
                        "column 11 (population) {p:?} is not a whole number"
                    ))
                })?),
                None => None,
            },
            bulk: false,
        });
    }
    Ok(entries)
}

/// Reads a bulk place list (the GeoNames list `cargo xtask gazetteer` builds): its entries
/// are marked `bulk`, so that the matcher guards their names.
pub fn parse_places_tsv(text: &str, origin: &str) -> Result<Vec<GazetteerEntry>, GazetteerError> {
    let mut entries = parse_tsv(text, origin)?;
    for entry in &mut entries {
        entry.bulk = true;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curated_list_reads_and_knows_the_seed() -> Result<(), Box<dyn std::error::Error>> {
        let entries = parse_tsv(CURATED, "curated.tsv")?;
        assert!(entries.len() >= 40);
        let sdf = entries.iter().find(|e| e.id == "khabar:sdf").ok_or("sdf")?;
        assert!(sdf.aliases.iter().any(|a| a == "قسد"));
        let syria = entries
            .iter()
            .find(|e| e.id == "geonames:163843")
            .ok_or("syria")?;
        assert_eq!(
            (syria.kind, syria.country.as_deref()),
            (EntityKind::Place, Some("SY"))
        );
        assert!(parse_tsv("x\tplanet\tMars\tMars", "t.tsv")
            .is_err_and(|e| e.to_string().contains("t.tsv:1")));
        Ok(())
    }

    #[test]
    fn a_large_list_read_in_halves_is_the_list_read_in_one_pass(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let line = |i: usize| {
            format!("geonames:{i}\tplace\tطرابلس {i}\tTripoli {i}|طرابلس {i}\t32.9\t13.2\tLY\t{i}\t\tP.PPLC\t{i}\n")
        };
        let mut text = String::new();
        let mut i = 0;
        while text.len() <= (1 << 20) + 1000 {
            text.push_str(&line(i));
            i += 1;
        }
        let whole = parse_lines(&text, "big.tsv", 0)?;
        let halves = parse_tsv(&text, "big.tsv")?;
        assert_eq!(whole.len(), i);
        assert!(whole
            .iter()
            .zip(&halves)
            .all(|(a, b)| a.id == b.id && a.aliases == b.aliases && a.population == b.population));
        assert_eq!(whole.len(), halves.len());
        // A bad line in the second half is reported with its line number in the whole list.
        let bad = i - 3;
        let broken = text.replacen(&format!("\tP.PPLC\t{bad}\n"), "\tP.PPLC\tmany\n", 1);
        let error = parse_tsv(&broken, "big.tsv").err().ok_or("no error")?;
        assert!(
            error.to_string().contains(&format!("big.tsv:{}", bad + 1)),
            "{error}"
        );
        Ok(())
    }
}
