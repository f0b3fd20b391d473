//! A statistical name finder: an averaged-perceptron sequence tagger (first-order, Viterbi
//! decoding) over BIO tags for people, organizations and places.
//!
//! How it is driven: [`train`] learns a [`Model`] from labelled sentences (`cargo xtask train
//! ner`); the model is saved with [`Model::write`] and read back with [`Model::read`]; at run
//! time [`Model::tag`] labels the tokens of one sentence. What it sees of a token is given by
//! [`Features`]: the caller adds what it knows beyond the words (gazetteer hits), so the same
//! tagger serves any list.

// foldhash: a tagged word costs ~100 lookups of feature hashes that are already well mixed;
// the standard hasher, built against crafted collisions, would double the stage's time.
use foldhash::{HashMap, HashMapExt};

use khabar_core_model::EntityKind;

/// The tags, in the order weights are stored.
pub const TAGS: [&str; 7] = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"];
const N: usize = TAGS.len();

/// The kind a tag names, if any.
pub fn tag_kind(tag: usize) -> Option<EntityKind> {
    match tag {
        1 | 2 => Some(EntityKind::Person),
        3 | 4 => Some(EntityKind::Organization),
        5 | 6 => Some(EntityKind::Place),
        _ => None,
    }
}

/// The tag number of `B-PER`-style text; `None` for O and every other label.
pub fn tag_number(label: &str) -> Option<usize> {
    TAGS.iter().position(|t| *t == label).filter(|n| *n > 0)
}

/// Whether `to` may follow `from` (an `I-` tag continues its own kind only).
fn allowed(from: Option<usize>, to: usize) -> bool {
    match to {
        2 | 4 | 6 => from.is_some_and(|f| f == to || f + 1 == to),
        _ => true,
    }
}

/// FNV-1a: a stable hash, so a model file means the same on every build and machine.
fn hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0x1F;
            h = h.wrapping_mul(0x0000_0100_0000_01B3);
        }
        for byte in part.bytes() {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0000_0100_0000_01B3);
        }
    }
    h
}

/// The features of each token of a sentence, as hashes.
#[derive(Debug, Default, Clone)]
pub struct Features {
    per_token: Vec<Vec<u64>>,
}

impl Features {
    /// An empty set for `tokens` tokens.
    pub fn new(tokens: usize) -> Features {
        Features {
            per_token: vec![Vec::new(); tokens],
        }
    }

    /// How many tokens.
    pub fn len(&self) -> usize {
        self.per_token.len()
    }

    /// True for a sentence without tokens.
    pub fn is_empty(&self) -> bool {
        self.per_token.is_empty()
    }

    /// Adds feature `parts` (a template name and its values) to token `i`.
    pub fn add(&mut self, i: usize, parts: &[&str]) {
        if let Some(list) = self.per_token.get_mut(i) {
            list.push(hash(parts));
        }
    }
}

/// Learned weights: per feature, one weight per tag; and tag-to-tag transitions.
#[derive(Debug, Clone, Default)]
pub struct Model {
    weights: HashMap<u64, [f32; N]>,
    /// `transitions[from][to]`, `from == N` at the sentence start.
    transitions: [[f32; N]; N + 1],
}

const MAGIC: &[u8; 8] = b"KHNER001";

/// A model file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Not a model file, or one of another version.
    #[error("not a Khabar NER model (version 1)")]
    Format,
    /// The file ends early.
    #[error("the model file is truncated")]
    Truncated,
}

impl Model {
    fn scores(&self, features: &[u64]) -> [f32; N] {
        let mut scores = [0.0; N];
        for f in features {
            if let Some(w) = self.weights.get(f) {
                for (s, w) in scores.iter_mut().zip(w) {
                    *s += w;
                }
            }
        }
        scores
    }

    /// The best tag sequence (Viterbi over the transitions; impossible `I-` tags excluded).
    pub fn tag(&self, sentence: &Features) -> Vec<usize> {
        let n = sentence.len();
        if n == 0 {
            return Vec::new();
        }
        let mut best = vec![[f32::NEG_INFINITY; N]; n];
        let mut back = vec![[0usize; N]; n];
        let first = self.scores(&sentence.per_token[0]);
        for t in 0..N {
            if allowed(None, t) {
                best[0][t] = first[t] + self.transitions[N][t];
            }
        }
        for i in 1..n {
            let local = self.scores(&sentence.per_token[i]);
            for t in 0..N {
                for p in 0..N {
                    if !allowed(Some(p), t) || best[i - 1][p] == f32::NEG_INFINITY {
                        continue;
                    }
                    let score = best[i - 1][p] + self.transitions[p][t] + local[t];
                    if score > best[i][t] {
                        best[i][t] = score;
                        back[i][t] = p;
                    }
                }
            }
        }
        // On a tie the lower tag wins: O before any name.
        let mut tag = 0;
        for t in 1..N {
            if best[n - 1][t] > best[n - 1][tag] {
                tag = t;
            }
        }
        let mut tags = vec![0; n];
        for i in (0..n).rev() {
            tags[i] = tag;
            tag = back[i][tag];
        }
        tags
    }

    /// How many features carry weights.
    pub fn features(&self) -> usize {
        self.weights.len()
    }

    /// The model as bytes: weights quantized to 1/1000, features whose every weight rounds
    /// to zero left out.
    pub fn write(&self) -> Vec<u8> {
        let quantize = |w: f32| (w * 1000.0).round().clamp(-32768.0, 32767.0) as i16;
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        for row in &self.transitions {
            for w in row {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        let mut kept: Vec<(&u64, Vec<(u8, i16)>)> = self
            .weights
            .iter()
            .map(|(f, w)| {
                let nonzero = w
                    .iter()
                    .enumerate()
                    .map(|(t, w)| (t as u8, quantize(*w)))
                    .filter(|(_, q)| *q != 0)
                    .collect();
                (f, nonzero)
            })
            .filter(|(_, w): &(&u64, Vec<(u8, i16)>)| !w.is_empty())
            .collect();
        kept.sort_by_key(|(f, _)| **f);
        out.extend_from_slice(&(kept.len() as u64).to_le_bytes());
        for (feature, weights) in kept {
            out.extend_from_slice(&feature.to_le_bytes());
            out.push(weights.len() as u8);
            for (tag, w) in weights {
                out.push(tag);
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        out
    }

    /// Reads what [`Model::write`] wrote.
    pub fn read(bytes: &[u8]) -> Result<Model, ModelError> {
        let mut at = 0usize;
        let mut take = |n: usize| -> Result<&[u8], ModelError> {
            let end = at.checked_add(n).ok_or(ModelError::Truncated)?;
            let slice = bytes.get(at..end).ok_or(ModelError::Truncated)?;
            at = end;
            Ok(slice)
        };
        if take(MAGIC.len())? != MAGIC {
            return Err(ModelError::Format);
        }
        let mut model = Model::default();
        for row in model.transitions.iter_mut() {
            for w in row.iter_mut() {
                let b = take(4)?;
                *w = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        let u64_at = |b: &[u8]| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        };
        let count = u64_at(take(8)?);
        for _ in 0..count {
            let feature = u64_at(take(8)?);
            let n = take(1)?[0];
            let mut w = [0.0f32; N];
            for _ in 0..n {
                let e = take(3)?;
                let tag = usize::from(e[0]);
                let value = f32::from(i16::from_le_bytes([e[1], e[2]])) / 1000.0;
                *w.get_mut(tag).ok_or(ModelError::Format)? = value;
            }
            model.weights.insert(feature, w);
        }
        Ok(model)
    }
}

/// Two passes over a document: the second sees what the first said elsewhere in the same
/// document ([`crate::name_features::add_document_hints`]), so a name found once in a telling
/// context is found where the context says nothing.
#[derive(Debug, Clone, Default)]
pub struct Tagger {
    /// The sentence-by-sentence pass.
    pub first: Model,
    /// The pass with the document's hints.
    pub second: Model,
}

impl Tagger {
    /// Tags every sentence of a document, given each sentence's features (without hints) and
    /// its words as stems (`keys`).
    pub fn tag_document(
        &self,
        mut features: Vec<Features>,
        keys: &[Vec<String>],
    ) -> Vec<Vec<usize>> {
        let first: Vec<Vec<usize>> = features.iter().map(|f| self.first.tag(f)).collect();
        crate::name_features::add_document_hints(&mut features, keys, &first);
        features.iter().map(|f| self.second.tag(f)).collect()
    }

    /// Both models as bytes: the first's length, the first, the second.
    pub fn write(&self) -> Vec<u8> {
        let first = self.first.write();
        let mut out = (first.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(&first);
        out.extend_from_slice(&self.second.write());
        out
    }

    /// Reads what [`Tagger::write`] wrote.
    pub fn read(bytes: &[u8]) -> Result<Tagger, ModelError> {
        let (length, rest) = bytes.split_at_checked(8).ok_or(ModelError::Truncated)?;
        let mut n = [0u8; 8];
        n.copy_from_slice(length);
        let length = usize::try_from(u64::from_le_bytes(n)).map_err(|_| ModelError::Format)?;
        let (first, second) = rest.split_at_checked(length).ok_or(ModelError::Truncated)?;
        Ok(Tagger {
            first: Model::read(first)?,
            second: Model::read(second)?,
        })
    }
}

/// A labelled sentence for training: its features and gold tags (numbers into [`TAGS`]).
pub struct Example {
    /// What the tagger sees.
    pub features: Features,
    /// The right answer.
    pub tags: Vec<usize>,
}

/// Averaged perceptron: `epochs` passes over `examples` in an order shuffled by `seed`
/// (so a run is reproducible); returns the averaged weights.
pub fn train(examples: &[Example], epochs: usize, seed: u64) -> Model {
    let mut model = Model::default();
    // Sums for averaging, kept lazily: total[f] += w * (now - last[f]) on each change.
    let mut totals: HashMap<u64, [f64; N]> = HashMap::new();
    let mut stamps: HashMap<u64, [u64; N]> = HashMap::new();
    let mut trans_total = [[0f64; N]; N + 1];
    let mut trans_stamp = [[0u64; N]; N + 1];
    let mut now: u64 = 0;
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut state = seed | 1;
    for _ in 0..epochs {
        // xorshift: a fixed shuffle for a fixed seed.
        for i in (1..order.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let j = (state % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        for &e in &order {
            now += 1;
            let example = &examples[e];
            let guess = model.tag(&example.features);
            if guess == example.tags {
                continue;
            }
            let mut update = |model: &mut Model, tags: &[usize], delta: f32| {
                let mut previous = N;
                for (i, &tag) in tags.iter().enumerate() {
                    let (stamp, total) = (
                        &mut trans_stamp[previous][tag],
                        &mut trans_total[previous][tag],
                    );
                    *total += f64::from(model.transitions[previous][tag]) * (now - *stamp) as f64;
                    *stamp = now;
                    model.transitions[previous][tag] += delta;
                    previous = tag;
                    for f in &example.features.per_token[i] {
                        let w = model.weights.entry(*f).or_insert([0.0; N]);
                        let total = totals.entry(*f).or_insert([0.0; N]);
                        let stamp = stamps.entry(*f).or_insert([0; N]);
                        total[tag] += f64::from(w[tag]) * (now - stamp[tag]) as f64;
                        stamp[tag] = now;
                        w[tag] += delta;
                    }
                }
            };
            update(&mut model, &example.tags, 1.0);
            update(&mut model, &guess, -1.0);
        }
    }
    now += 1;
    let mut averaged = Model::default();
    for (f, w) in &model.weights {
        let total = totals.get(f).copied().unwrap_or([0.0; N]);
        let stamp = stamps.get(f).copied().unwrap_or([0; N]);
        let mut avg = [0f32; N];
        for t in 0..N {
            let sum = total[t] + f64::from(w[t]) * (now - stamp[t]) as f64;
            avg[t] = (sum / now as f64) as f32;
        }
        averaged.weights.insert(*f, avg);
    }
    for p in 0..=N {
        for t in 0..N {
            let sum = trans_total[p][t]
                + f64::from(model.transitions[p][t]) * (now - trans_stamp[p][t]) as f64;
            averaged.transitions[p][t] = (sum / now as f64) as f32;
        }
    }
    averaged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentence(words: &[&str]) -> Features {
        let mut f = Features::new(words.len());
        for (i, w) in words.iter().enumerate() {
            f.add(i, &["w", w]);
            if i > 0 {
                f.add(i, &["prev", words[i - 1]]);
            }
        }
        f
    }

    #[test]
    fn learns_a_pattern_and_survives_a_round_trip() {
        let examples = vec![
            Example {
                features: sentence(&["قال", "الرئيس", "فؤاد", "السنيورة", "اليوم"]),
                tags: vec![0, 0, 1, 2, 0],
            },
            Example {
                features: sentence(&["زار", "بيروت", "أمس"]),
                tags: vec![0, 5, 0],
            },
            Example {
                features: sentence(&["قال", "الرئيس", "نبيه", "بري"]),
                tags: vec![0, 0, 1, 2],
            },
        ];
        let model = train(&examples, 10, 7);
        for e in &examples {
            assert_eq!(model.tag(&e.features), e.tags);
        }
        let again = Model::read(&model.write()).expect("round trip");
        for e in &examples {
            assert_eq!(again.tag(&e.features), e.tags);
        }
        assert!(matches!(Model::read(b"nonsense"), Err(ModelError::Format)));
        assert!(matches!(
            Model::read(&model.write()[..20]),
            Err(ModelError::Truncated)
        ));
    }

    #[test]
    fn a_tagger_file_holds_both_passes() {
        let examples = vec![Example {
            features: sentence(&["زار", "بيروت", "أمس"]),
            tags: vec![0, 5, 0],
        }];
        let tagger = Tagger {
            first: train(&examples, 5, 1),
            second: train(&examples, 5, 2),
        };
        let bytes = tagger.write();
        let again = Tagger::read(&bytes).expect("round trip");
        let f = &examples[0].features;
        assert_eq!(again.first.tag(f), vec![0, 5, 0]);
        assert_eq!(again.second.tag(f), tagger.second.tag(f));
        for cut in [0, 7, 9, bytes.len() - 1] {
            assert!(Tagger::read(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn inside_tags_never_start_a_name() {
        let model = Model::default();
        let tags = model.tag(&sentence(&["a", "b"]));
        assert!(tags.iter().all(|t| *t == 0));
        assert!(!allowed(None, 2) && !allowed(Some(0), 4) && allowed(Some(5), 6));
    }
}
