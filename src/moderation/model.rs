//! A model learnt from the publication's moderators: logistic regression
//! over hashed word and character n-grams, trained here, with no machine
//! learning crate. It is one more signal: a comment the rules approve is
//! held when the model's probability of "reject" reaches
//! `thresholds.model_hold`. It never rejects on its own, and no model
//! trained on anyone else's data ships in the binary: a publication trains
//! its own (`masthead moderate train`) into its data folder.

use std::path::Path;

use anyhow::{Context as _, bail};

use super::text::Prepared;

/// Feature space: 2^18 hashed features, 1 MiB of weights.
const BITS: u32 = 18;
const MAGIC: &[u8; 8] = b"MHMODL1\n";
const EPOCHS: usize = 12;
const LEARNING_RATE: f32 = 0.3;
const L2: f32 = 1e-6;

/// A trained model.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    bits: u32,
    bias: f32,
    weights: Vec<f32>,
}

/// Trains a model on `(text, reject)` pairs: `true` for a comment the
/// moderators refused, `false` for one they let through.
pub fn train(examples: &[(String, bool)]) -> Model {
    let dim = 1usize << BITS;
    let mut weights = vec![0f32; dim];
    let mut squares = vec![1e-2f32; dim];
    let mut bias = 0f32;
    let mut bias_square = 1e-2f32;
    let rows: Vec<(Vec<(u32, f32)>, bool)> = examples
        .iter()
        .map(|(text, reject)| (features(&Prepared::new(text), BITS), *reject))
        .collect();
    let rejects = rows.iter().filter(|(_, r)| *r).count();
    let oks = rows.len() - rejects;
    if rejects == 0 || oks == 0 {
        return Model {
            bits: BITS,
            bias: if rejects == 0 { -4.0 } else { 4.0 },
            weights,
        };
    }
    // Each class weighs the same in total, whatever their counts.
    let weight_reject = rows.len() as f32 / (2.0 * rejects as f32);
    let weight_ok = rows.len() as f32 / (2.0 * oks as f32);
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..EPOCHS {
        // A fixed shuffle: the same data trains the same model.
        for i in (1..order.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            order.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        for &k in &order {
            let (x, reject) = &rows[k];
            let z = bias + x.iter().map(|&(i, v)| weights[i as usize] * v).sum::<f32>();
            let p = sigmoid(z);
            let y = if *reject { 1.0 } else { 0.0 };
            let w = if *reject { weight_reject } else { weight_ok };
            let g = (p - y) * w;
            for &(i, v) in x {
                let i = i as usize;
                let grad = g * v + L2 * weights[i];
                squares[i] += grad * grad;
                weights[i] -= LEARNING_RATE * grad / squares[i].sqrt();
            }
            bias_square += g * g;
            bias -= LEARNING_RATE * g / bias_square.sqrt();
        }
    }
    Model {
        bits: BITS,
        bias,
        weights,
    }
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z.clamp(-30.0, 30.0)).exp())
}

impl Model {
    /// The probability that moderators would refuse this comment.
    pub fn probability(&self, text: &str) -> f32 {
        self.score(&Prepared::new(text))
    }

    pub(crate) fn score(&self, p: &Prepared) -> f32 {
        let x = features(p, self.bits);
        sigmoid(
            self.bias
                + x.iter()
                    .map(|&(i, v)| self.weights[i as usize] * v)
                    .sum::<f32>(),
        )
    }

    /// Reads a model saved by [`Model::save`].
    pub fn load(path: &Path) -> anyhow::Result<Model> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Model::from_bytes(&bytes)
            .with_context(|| format!("reading the model in {}", path.display()))
    }

    /// Writes the model (only its non-zero weights) next to `path` and
    /// renames it into place, so a reader never sees half a file.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, self.to_bytes())
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
        Ok(())
    }

    fn to_bytes(&self) -> Vec<u8> {
        let nonzero: Vec<(u32, f32)> = self
            .weights
            .iter()
            .enumerate()
            .filter(|(_, w)| **w != 0.0)
            .map(|(i, w)| (i as u32, *w))
            .collect();
        let mut out = Vec::with_capacity(20 + nonzero.len() * 8);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.bits.to_le_bytes());
        out.extend_from_slice(&self.bias.to_le_bytes());
        out.extend_from_slice(&(nonzero.len() as u32).to_le_bytes());
        for (i, w) in nonzero {
            out.extend_from_slice(&i.to_le_bytes());
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }

    fn from_bytes(bytes: &[u8]) -> anyhow::Result<Model> {
        if bytes.len() < 20 || &bytes[..8] != MAGIC {
            bail!("not a Masthead moderation model");
        }
        let u32_at = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let bits = u32_at(8);
        if !(10..=24).contains(&bits) {
            bail!("a model of 2^{bits} features is not one this version makes");
        }
        let bias = f32::from_bits(u32_at(12));
        let count = u32_at(16) as usize;
        if bytes.len() != 20 + count * 8 {
            bail!("the model file is cut short or too long");
        }
        let dim = 1usize << bits;
        let mut weights = vec![0f32; dim];
        for k in 0..count {
            let at = 20 + k * 8;
            let i = u32_at(at) as usize;
            if i >= dim {
                bail!("a weight index out of range");
            }
            weights[i] = f32::from_bits(u32_at(at + 4));
        }
        Ok(Model {
            bits,
            bias,
            weights,
        })
    }
}

/// FNV-1a: the same features on every machine and every version of Rust.
fn hash(kind: u8, parts: &[&str]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ u64::from(kind);
    h = h.wrapping_mul(0x0100_0000_01b3);
    for (k, part) in parts.iter().enumerate() {
        if k > 0 {
            h ^= 0x20;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in part.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Words, word pairs and character 4-grams of the folded words, hashed,
/// each worth 1/sqrt(count).
fn features(p: &Prepared, bits: u32) -> Vec<(u32, f32)> {
    let mask = (1u64 << bits) - 1;
    let words: Vec<String> = p
        .plain_folded()
        .map(|f| {
            f.text
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_string()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let mut idx: Vec<u32> = Vec::with_capacity(words.len() * 8);
    for (k, w) in words.iter().enumerate() {
        idx.push((hash(1, &[w]) & mask) as u32);
        if k + 1 < words.len() {
            idx.push((hash(2, &[w, &words[k + 1]]) & mask) as u32);
        }
        let padded: Vec<char> = format!(" {w} ").chars().collect();
        for g in padded.windows(4) {
            let s: String = g.iter().collect();
            idx.push((hash(3, &[&s]) & mask) as u32);
        }
    }
    if !p.links.is_empty() {
        idx.push((hash(4, &["link"]) & mask) as u32);
    }
    if p.mentions.is_empty() {
        idx.push((hash(4, &["nomention"]) & mask) as u32);
    }
    idx.sort_unstable();
    idx.dedup();
    let v = if idx.is_empty() {
        0.0
    } else {
        1.0 / (idx.len() as f32).sqrt()
    };
    idx.into_iter().map(|i| (i, v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Vec<(String, bool)> {
        let mut v = Vec::new();
        for i in 0..40 {
            v.push((
                format!("What a thoughtful report on the budget, number {i}."),
                false,
            ));
            v.push((format!("Buy cheap pills now, deal number {i}!"), true));
        }
        v
    }

    #[test]
    fn a_trained_model_tells_its_two_classes_apart() {
        let model = train(&toy());
        assert!(model.probability("Buy cheap pills now, a great deal!") > 0.8);
        assert!(model.probability("A thoughtful report on the state budget.") < 0.2);
    }

    #[test]
    fn training_twice_on_the_same_data_makes_the_same_model() {
        assert_eq!(train(&toy()), train(&toy()));
    }

    #[test]
    fn a_saved_model_loads_back_the_same() {
        let model = train(&toy());
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("moderation-model.bin");
        model.save(&path).expect("saved");
        assert_eq!(Model::load(&path).expect("loaded"), model);
    }

    #[test]
    fn a_file_that_is_not_a_model_is_refused() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("moderation-model.bin");
        std::fs::write(&path, b"MHMODL1\nnot really").expect("written");
        assert!(Model::load(&path).is_err());
    }
}
