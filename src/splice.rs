//! Pages with holes: rendered once, filled per reader, gzipped without
//! compressing per request.
//!
//! Most of a story page is the same for every reader; a few small parts are
//! not (the account links, "3 free stories left", the wall). A [`Spliced`]
//! page keeps the common parts between named slots, each part also kept
//! deflated on its own. A response is the parts with the reader's slot
//! contents between them. For gzip, each stored part is already a run of
//! complete deflate blocks ending on a byte boundary, so the response is those
//! runs with each slot's content as an uncompressed ("stored") deflate block
//! between them, a final empty block, and the CRC-32 combined from the parts'
//! CRCs: a valid gzip stream, made with a few copies instead of a compressor.

use axum::body::Bytes;
use flate2::{Compress, Compression, FlushCompress};

/// A slot in a rendered page: `<!--slot:NAME-->`.
pub fn marker(name: &str) -> String {
    format!("<!--slot:{name}-->")
}

#[derive(Clone, Debug)]
struct Part {
    plain: Bytes,
    deflated: Bytes,
    crc: crc32fast::Hasher,
}

/// A page split at its slots.
#[derive(Clone, Debug)]
pub struct Spliced {
    /// One more part than slots: part, slot 0, part, slot 1, ..., part.
    parts: Vec<Part>,
    slots: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("the rendered page has no slot {0} (or has it out of order)")]
pub struct MissingSlot(pub String);

impl Spliced {
    /// Splits `html` at the markers of `slots`, which must appear once each,
    /// in this order.
    pub fn new(html: &str, slots: &[&str]) -> Result<Spliced, MissingSlot> {
        let mut parts = Vec::with_capacity(slots.len() + 1);
        let mut rest = html;
        for name in slots {
            let m = marker(name);
            let at = rest.find(&m).ok_or_else(|| MissingSlot(name.to_string()))?;
            parts.push(Part::new(&rest[..at]));
            rest = &rest[at + m.len()..];
        }
        parts.push(Part::new(rest));
        Ok(Spliced {
            parts,
            slots: slots.iter().map(|s| s.to_string()).collect(),
        })
    }

    pub fn slots(&self) -> &[String] {
        &self.slots
    }

    /// The page with `fill[i]` in slot `i` (missing fills are empty).
    pub fn plain(&self, fill: &[&str]) -> Bytes {
        let len: usize = self.parts.iter().map(|p| p.plain.len()).sum::<usize>()
            + fill.iter().map(|f| f.len()).sum::<usize>();
        let mut out = Vec::with_capacity(len);
        for (i, p) in self.parts.iter().enumerate() {
            out.extend_from_slice(&p.plain);
            if let Some(f) = fill.get(i).filter(|_| i < self.slots.len()) {
                out.extend_from_slice(f.as_bytes());
            }
        }
        Bytes::from(out)
    }

    /// The same page as a gzip stream.
    pub fn gzip(&self, fill: &[&str]) -> Bytes {
        let len: usize = self.parts.iter().map(|p| p.deflated.len()).sum::<usize>()
            + fill.iter().map(|f| f.len() + 5).sum::<usize>()
            + 32;
        let mut out = Vec::with_capacity(len);
        // Header: magic, deflate, no flags, no time, no extra flags, OS unknown.
        out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
        let mut crc = crc32fast::Hasher::new();
        let mut total: u64 = 0;
        for (i, p) in self.parts.iter().enumerate() {
            out.extend_from_slice(&p.deflated);
            crc.combine(&p.crc);
            total += p.plain.len() as u64;
            if let Some(f) = fill.get(i).filter(|_| i < self.slots.len()) {
                stored_blocks(&mut out, f.as_bytes());
                let mut h = crc32fast::Hasher::new();
                h.update(f.as_bytes());
                crc.combine(&h);
                total += f.len() as u64;
            }
        }
        // The final block: empty, stored.
        out.extend_from_slice(&[0x01, 0x00, 0x00, 0xff, 0xff]);
        out.extend_from_slice(&crc.finalize().to_le_bytes());
        out.extend_from_slice(&(total as u32).to_le_bytes());
        Bytes::from(out)
    }
}

impl Part {
    fn new(text: &str) -> Part {
        let mut crc = crc32fast::Hasher::new();
        crc.update(text.as_bytes());
        Part {
            plain: Bytes::copy_from_slice(text.as_bytes()),
            deflated: Bytes::from(deflate_sync(text.as_bytes())),
            crc,
        }
    }
}

/// Raw deflate of `data` ending with a sync flush: complete blocks, byte
/// aligned, none of them final, referring to nothing before `data`.
fn deflate_sync(data: &[u8]) -> Vec<u8> {
    let mut c = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    loop {
        let consumed = c.total_in() as usize;
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(1024));
        }
        // Errors here would mean a bug in the buffer handling, not bad input.
        let _ = c.compress_vec(&data[consumed..], &mut out, FlushCompress::Sync);
        if c.total_in() as usize == data.len() && out.capacity() > out.len() {
            break;
        }
    }
    out
}

/// Non-final stored blocks holding `data` (65,535 bytes at most a block).
fn stored_blocks(out: &mut Vec<u8>, data: &[u8]) {
    for chunk in data.chunks(0xffff) {
        let n = chunk.len() as u16;
        out.push(0x00);
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(!n).to_le_bytes());
        out.extend_from_slice(chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gunzip(b: &[u8]) -> String {
        let mut s = String::new();
        flate2::read::GzDecoder::new(b)
            .read_to_string(&mut s)
            .unwrap();
        s
    }

    #[test]
    fn filled_pages_decompress_to_the_plain_page() {
        let page = format!(
            "<html><head>{}</head><body>{}<p>{}</p>{}</body></html>",
            marker("a"),
            "x".repeat(3000),
            marker("b"),
            "tail ".repeat(500)
        );
        let s = Spliced::new(&page, &["a", "b"]).unwrap();
        for fill in [
            vec!["", ""],
            vec!["<b>Sign in</b>", "You have 3 free stories left"],
            vec!["ü€", &"y".repeat(70_000)],
        ] {
            let plain = s.plain(&fill);
            let want = page
                .replacen(&marker("a"), fill[0], 1)
                .replacen(&marker("b"), fill[1], 1);
            assert_eq!(std::str::from_utf8(&plain).unwrap(), want);
            assert_eq!(gunzip(&s.gzip(&fill)), want);
        }
    }

    #[test]
    fn the_gzip_is_much_smaller_than_the_page() {
        let page = format!(
            "{}{}{}",
            "<p>Monsoon rains</p>".repeat(500),
            marker("a"),
            "<p>end</p>".repeat(100)
        );
        let s = Spliced::new(&page, &["a"]).unwrap();
        assert!(s.gzip(&["hi"]).len() * 10 < s.plain(&["hi"]).len());
    }

    #[test]
    fn a_missing_slot_is_an_error() {
        assert!(Spliced::new("<p>no slots</p>", &["a"]).is_err());
        let two = format!("{}{}", marker("b"), marker("a"));
        assert!(Spliced::new(&two, &["a", "b"]).is_err(), "out of order");
    }
}
