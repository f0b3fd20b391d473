//! `cargo xtask map-data`: the country outlines of the web view's map, from the npm package
//! world-atlas (Natural Earth's 1:110m countries as TopoJSON), decoded into SVG paths in the
//! map's own projection and written to crates/api/assets/countries-110m.tsv.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The package and version the committed file was made from.
const PACKAGE: &str = "world-atlas@2.0.2";

pub fn run(root: &Path) -> Result<(), String> {
    let work = crate::target_dir().join("map-data");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let status = Command::new("npm")
        .args(["pack", PACKAGE, "--silent", "--pack-destination"])
        .arg(&work)
        .status()
        .map_err(|e| format!("npm (needed to fetch {PACKAGE}): {e}"))?;
    if !status.success() {
        return Err(format!("npm pack {PACKAGE} failed"));
    }
    let tarball = std::fs::read_dir(&work)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .ok_or("npm pack wrote no tarball")?;
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&work)
        .status()
        .map_err(|e| format!("tar: {e}"))?;
    if !status.success() {
        return Err(format!("cannot unpack {}", tarball.display()));
    }
    let source = work.join("package/countries-110m.json");
    let text =
        std::fs::read_to_string(&source).map_err(|e| format!("{}: {e}", source.display()))?;
    let topology: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", source.display()))?;
    let countries = decode_countries(&topology)?;
    let mut out = format!(
        "# Country outlines for Khabar's map: Natural Earth 1:110m (public domain), from the npm\n\
         # package {PACKAGE} (ISC licence), decoded by `cargo xtask map-data`.\n\
         # Columns: ISO 3166-1 numeric id, name, SVG path in the map's plate carrée projection\n\
         # (x = longitude + 180, y = 90 - latitude; viewBox 0 0 360 180).\n"
    );
    for (id, name, path) in &countries {
        out.push_str(&format!("{id}\t{name}\t{path}\n"));
    }
    let target = root.join("crates/api/assets/countries-110m.tsv");
    std::fs::write(&target, out).map_err(|e| format!("{}: {e}", target.display()))?;
    println!(
        "wrote {} countries to {}",
        countries.len(),
        target.display()
    );
    Ok(())
}

/// Every country of the topology's `countries` object: id, name and SVG path.
fn decode_countries(topology: &Value) -> Result<Vec<(String, String, String)>, String> {
    let scale = pair(&topology["transform"]["scale"]).ok_or("topology without transform.scale")?;
    let translate =
        pair(&topology["transform"]["translate"]).ok_or("topology without transform.translate")?;
    let arcs: Vec<Vec<(f64, f64)>> = topology["arcs"]
        .as_array()
        .ok_or("topology without arcs")?
        .iter()
        .map(|arc| {
            // Quantized and delta-encoded: each position adds to the one before.
            let (mut x, mut y) = (0.0, 0.0);
            arc.as_array()
                .map(|points| {
                    points
                        .iter()
                        .filter_map(pair)
                        .map(|(dx, dy)| {
                            x += dx;
                            y += dy;
                            (x * scale.0 + translate.0, y * scale.1 + translate.1)
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let geometries = topology["objects"]["countries"]["geometries"]
        .as_array()
        .ok_or("topology without objects.countries")?;
    let mut out = Vec::new();
    for geometry in geometries {
        let polygons: Vec<&Value> = match geometry["type"].as_str() {
            Some("Polygon") => vec![&geometry["arcs"]],
            Some("MultiPolygon") => geometry["arcs"]
                .as_array()
                .map(|p| p.iter().collect())
                .unwrap_or_default(),
            _ => continue,
        };
        let mut path = String::new();
        for polygon in polygons {
            for ring in polygon.as_array().into_iter().flatten() {
                let points = ring_points(ring, &arcs);
                let mut previous: Option<f64> = None;
                for (lon, lat) in &points {
                    // A ring that crosses the antimeridian goes on at the other edge of the
                    // map: a new subpath, not a line across the whole world.
                    let command = match previous {
                        Some(before) if (lon - before).abs() <= 180.0 => 'L',
                        _ => 'M',
                    };
                    previous = Some(*lon);
                    path.push_str(&format!("{command}{:.1} {:.1}", lon + 180.0, 90.0 - lat));
                }
                if !points.is_empty() {
                    path.push('Z');
                }
            }
        }
        if path.is_empty() {
            continue;
        }
        let id = match &geometry["id"] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        let name = geometry["properties"]["name"]
            .as_str()
            .unwrap_or("")
            .replace(['\t', '\n'], " ");
        out.push((id, name, path));
    }
    Ok(out)
}

/// The positions of a ring: its arcs joined, a negative index meaning arc `!index` reversed,
/// each arc's first position (the previous one's last) left out after the first arc.
fn ring_points(ring: &Value, arcs: &[Vec<(f64, f64)>]) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> = Vec::new();
    for index in ring
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_i64)
    {
        let (arc, reversed) = if index >= 0 {
            (usize::try_from(index).ok(), false)
        } else {
            (usize::try_from(!index).ok(), true)
        };
        let Some(arc) = arc.and_then(|i| arcs.get(i)) else {
            continue;
        };
        let mut part: Vec<(f64, f64)> = arc.clone();
        if reversed {
            part.reverse();
        }
        let skip = usize::from(!points.is_empty());
        points.extend(part.into_iter().skip(skip));
    }
    points
}

fn pair(value: &Value) -> Option<(f64, f64)> {
    Some((value.get(0)?.as_f64()?, value.get(1)?.as_f64()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arcs_are_undeltaed_scaled_joined_and_reversed() {
        // Two arcs of a unit square, the second walked backwards.
        let topology = serde_json::json!({
            "type": "Topology",
            "transform": {"scale": [1.0, 1.0], "translate": [10.0, 20.0]},
            "arcs": [[[0, 0], [1, 0], [0, 1]], [[0, 0], [0, 1], [1, 0]]],
            "objects": {"countries": {"type": "GeometryCollection", "geometries": [
                {"type": "Polygon", "arcs": [[0, -2]], "id": "999", "properties": {"name": "Square"}}
            ]}}
        });
        let countries = decode_countries(&topology).expect("decoded");
        assert_eq!(countries.len(), 1);
        let (id, name, path) = &countries[0];
        assert_eq!((id.as_str(), name.as_str()), ("999", "Square"));
        // (10,20) (11,20) (11,21), then arc 1 reversed: (11,21) skipped, (10,21), (10,20).
        assert_eq!(
            path,
            "M190.0 70.0L191.0 70.0L191.0 69.0L190.0 69.0L190.0 70.0Z"
        );
    }
}
