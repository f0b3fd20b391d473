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

/// FNV-1a over a text: a stable hash, so a model file means the same on every build and
/// machine.
pub const fn text_hash(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
        i += 1;
    }
    h
}

/// One feature: a template and its values. Values are given by their [`text_hash`], so a
/// word is hashed once and that hash serves every feature that names the word (its own,
/// and its neighbours' context features).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature(u64);

impl Feature {
    /// A feature with no value yet (`"bias"`, or `"w"` before the word is added).
    pub const fn template(name: &str) -> Feature {
        Feature(text_hash(name))
    }

    /// The feature with one more value, given by its hash.
    pub const fn with(self, value: u64) -> Feature {
        // Rotate-xor-multiply: a bijection of `value` for a given prefix, so two values of
        // one template never collide; the order of values matters.
        Feature((self.0.rotate_left(23) ^ value).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// The feature with one more value, given as text.
    pub const fn with_text(self, value: &str) -> Feature {
        self.with(text_hash(value))
    }
}

/// The hash of feature `parts`: a template name and its values.
fn hash(parts: &[&str]) -> u64 {
    let Some((template, values)) = parts.split_first() else {
        return Feature::template("").0;
    };
    values
        .iter()
        .fold(Feature::template(template), |f, v| f.with_text(v))
        .0
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
        self.push(i, Feature(hash(parts)));
    }

    /// Adds a feature built with [`Feature`] to token `i`.
    pub fn push(&mut self, i: usize, feature: Feature) {
        if let Some(list) = self.per_token.get_mut(i) {
            list.push(feature.0);
        }
    }

    /// Makes room for `features` features on every token (the tagger's features number
    /// about 40 a token: one allocation instead of six).
    pub fn reserve(&mut self, features: usize) {
        for list in &mut self.per_token {
            list.reserve(features);
        }
    }
}

/// The best tag sequence given each token's scores (`local`) and the transitions; impossible
/// `I-` tags excluded.
fn viterbi(transitions: &[[f32; N]; N + 1], local: &[[f32; N]]) -> Vec<usize> {
    let n = local.len();
    if n == 0 {
        return Vec::new();
    }
    let mut best = vec![[f32::NEG_INFINITY; N]; n];
    let mut back = vec![[0usize; N]; n];
    for t in 0..N {
        if allowed(None, t) {
            best[0][t] = local[0][t] + transitions[N][t];
        }
    }
    for i in 1..n {
        for t in 0..N {
            for p in 0..N {
                if !allowed(Some(p), t) || best[i - 1][p] == f32::NEG_INFINITY {
                    continue;
                }
                let score = best[i - 1][p] + transitions[p][t] + local[i][t];
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

/// A weight in the thousandths a model file keeps.
fn quantize(w: f32) -> i16 {
    (w * 1000.0).round().clamp(-32768.0, 32767.0) as i16
}

/// Learned weights: per feature, one weight per tag; and tag-to-tag transitions.
#[derive(Debug, Clone, Default)]
pub struct Model {
    weights: HashMap<u64, [f32; N]>,
    /// `transitions[from][to]`, `from == N` at the sentence start.
    transitions: [[f32; N]; N + 1],
}

// Version 2: features hashed with [`Feature`] (version 1 hashed the joined parts).
const MAGIC: &[u8; 8] = b"KHNER002";

/// A model file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Not a model file, or one of another version.
    #[error("not a Khabar NER model (version 2)")]
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
        let local: Vec<[f32; N]> = sentence.per_token.iter().map(|f| self.scores(f)).collect();
        viterbi(&self.transitions, &local)
    }

    /// How many features carry weights.
    pub fn features(&self) -> usize {
        self.weights.len()
    }

    /// The model as bytes: weights quantized to 1/1000, features whose every weight rounds
    /// to zero left out.
    pub fn write(&self) -> Vec<u8> {
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
    first: Model,
    second: Model,
    /// Both passes' weights under one key, in the thousandths the model file keeps: a
    /// token's features are looked up once for both passes, in a table half the size of
    /// one in `f32` (the lookups are most of the tagger's time, and most of them miss the
    /// processor's caches).
    joint: HashMap<u64, [i16; 2 * N]>,
}

impl Tagger {
    /// A tagger from its two passes.
    pub fn new(first: Model, second: Model) -> Tagger {
        let mut joint: HashMap<u64, [i16; 2 * N]> =
            HashMap::with_capacity(first.weights.len().max(second.weights.len()));
        for (pass, model) in [&first, &second].into_iter().enumerate() {
            for (feature, weights) in &model.weights {
                let row = joint.entry(*feature).or_insert([0; 2 * N]);
                for (slot, w) in row[pass * N..(pass + 1) * N].iter_mut().zip(weights) {
                    *slot = quantize(*w);
                }
            }
        }
        Tagger {
            first,
            second,
            joint,
        }
    }

    /// The sentence-by-sentence pass.
    pub fn first(&self) -> &Model {
        &self.first
    }

    /// The pass with the document's hints.
    pub fn second(&self) -> &Model {
        &self.second
    }

    /// Tags every sentence of a document, given each sentence's features (without hints) and
    /// its words as stems (`keys`).
    pub fn tag_document<K: AsRef<str>>(
        &self,
        features: &[Features],
        keys: &[Vec<K>],
    ) -> Vec<Vec<usize>> {
        // Per token: the first pass's scores, and the second's before the hints.
        let scores: Vec<Vec<([f32; N], [f32; N])>> = features
            .iter()
            .map(|sentence| {
                sentence
                    .per_token
                    .iter()
                    .map(|token| {
                        let mut both = [0i32; 2 * N];
                        for f in token {
                            if let Some(w) = self.joint.get(f) {
                                for (s, w) in both.iter_mut().zip(w) {
                                    *s += i32::from(*w);
                                }
                            }
                        }
                        let mut first = [0.0; N];
                        let mut second = [0.0; N];
                        for t in 0..N {
                            first[t] = both[t] as f32 / 1000.0;
                            second[t] = both[N + t] as f32 / 1000.0;
                        }
                        (first, second)
                    })
                    .collect()
            })
            .collect();
        let first: Vec<Vec<usize>> = scores
            .iter()
            .map(|sentence| {
                let local: Vec<[f32; N]> = sentence.iter().map(|(f, _)| *f).collect();
                viterbi(&self.first.transitions, &local)
            })
            .collect();
        let mut hints: Vec<Features> = features.iter().map(|f| Features::new(f.len())).collect();
        crate::name_features::add_document_hints(&mut hints, keys, &first);
        scores
            .iter()
            .zip(&hints)
            .map(|(sentence, hints)| {
                let local: Vec<[f32; N]> = sentence
                    .iter()
                    .zip(&hints.per_token)
                    .map(|((_, base), hints)| {
                        let mut local = *base;
                        for (s, w) in local.iter_mut().zip(self.second.scores(hints)) {
                            *s += w;
                        }
                        local
                    })
                    .collect();
                viterbi(&self.second.transitions, &local)
            })
            .collect()
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
        Ok(Tagger::new(Model::read(first)?, Model::read(second)?))
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

/// The mean of several models: models trained in different orders make different
/// mistakes, and their mean makes fewer than any of them (a small, fixed ensemble that costs
/// nothing at run time).
pub fn average(models: &[Model]) -> Model {
    let mut mean = Model::default();
    let share = 1.0 / models.len().max(1) as f32;
    for model in models {
        for (feature, weights) in &model.weights {
            let row = mean.weights.entry(*feature).or_insert([0.0; N]);
            for (m, w) in row.iter_mut().zip(weights) {
                *m += w * share;
            }
        }
        for (row, other) in mean.transitions.iter_mut().zip(&model.transitions) {
            for (m, w) in row.iter_mut().zip(other) {
                *m += w * share;
            }
        }
    }
    mean
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
        let tagger = Tagger::new(train(&examples, 5, 1), train(&examples, 5, 2));
        let bytes = tagger.write();
        let again = Tagger::read(&bytes).expect("round trip");
        let f = &examples[0].features;
        assert_eq!(again.first().tag(f), vec![0, 5, 0]);
        assert_eq!(again.second().tag(f), tagger.second().tag(f));
        let keys = vec![vec!["زار", "بيروت", "أمس"]];
        assert_eq!(
            again.tag_document(std::slice::from_ref(f), &keys),
            tagger.tag_document(std::slice::from_ref(f), &keys)
        );
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
