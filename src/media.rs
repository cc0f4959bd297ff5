//! Photos on disk: originals stored once under their content hash, and
//! renditions at several widths made when the photo is added.
//!
//! Every file name carries the hash, so a file never changes once written and
//! is served with an immutable cache header. The widths are fixed, so pages can
//! build `srcset` without asking the disk what exists.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, GenericImageView, ImageFormat, imageops::FilterType};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::media::{Media, NewMedia};

/// The widths renditions are made at (no wider than the original).
pub const WIDTHS: &[u32] = &[320, 480, 640, 960, 1280, 1600];

/// A photo decoded and written to the media folder, ready for its row.
#[derive(Clone, Debug)]
pub struct Stored {
    pub sha256: String,
    pub ext: &'static str,
    pub mime: &'static str,
    pub width: u32,
    pub height: u32,
    pub byte_size: u64,
}

impl Stored {
    pub fn as_new(&self, created_at: i64, is_demo: bool) -> NewMedia<'_> {
        NewMedia {
            sha256: &self.sha256,
            ext: self.ext,
            mime: self.mime,
            width: self.width as i64,
            height: self.height as i64,
            byte_size: self.byte_size as i64,
            created_at,
            is_demo,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("the file is not a JPEG or PNG picture that can be read: {0}")]
    Decode(#[from] image::ImageError),
    #[error("the file is not a JPEG or PNG picture; convert it to one of those")]
    Unsupported,
    #[error("the picture is too small ({0}x{1}); photos need to be at least 320 pixels wide")]
    TooSmall(u32, u32),
    #[error("cannot write to the media folder: {0}")]
    Io(#[from] std::io::Error),
}

/// The public name of a file: the first 32 hex digits of the hash.
fn stem(sha256: &str) -> &str {
    &sha256[..32.min(sha256.len())]
}

/// Decodes `bytes`, writes the original and its renditions into `dir`, and
/// says what was stored. Adding the same picture twice writes nothing new.
pub fn store(dir: &Path, bytes: &[u8]) -> Result<Stored, MediaError> {
    let (stored, img) = inspect(bytes)?;
    let (sha256, ext, width) = (&stored.sha256, stored.ext, stored.width);
    std::fs::create_dir_all(dir)?;
    let original = dir.join(format!("{}.{ext}", stem(sha256)));
    if !original.exists() {
        write_atomically(&original, bytes)?;
    }
    for &w in WIDTHS.iter().filter(|&&w| w <= width) {
        let path = rendition_path(dir, sha256, w);
        if !path.exists() {
            write_atomically(&path, &rendition(&img, w)?)?;
        }
    }
    Ok(stored)
}

/// Decodes `bytes` and checks them as [`store`] does, writing nothing: what
/// would be stored, and the decoded picture.
pub fn inspect(bytes: &[u8]) -> Result<(Stored, DynamicImage), MediaError> {
    let format = image::guess_format(bytes)?;
    let (ext, mime) = match format {
        ImageFormat::Png => ("png", "image/png"),
        ImageFormat::Jpeg => ("jpg", "image/jpeg"),
        _ => return Err(MediaError::Unsupported),
    };
    let img = image::load_from_memory_with_format(bytes, format)?;
    let (width, height) = img.dimensions();
    if width < WIDTHS[0] {
        return Err(MediaError::TooSmall(width, height));
    }
    let stored = Stored {
        sha256: hex::encode(Sha256::digest(bytes)),
        ext,
        mime,
        width,
        height,
        byte_size: bytes.len() as u64,
    };
    Ok((stored, img))
}

/// Encodes a JPEG of the picture scaled to `width`.
fn rendition(img: &DynamicImage, width: u32) -> Result<Vec<u8>, image::ImageError> {
    let (w, h) = img.dimensions();
    let height = ((h as u64 * width as u64) / w as u64).max(1) as u32;
    let scaled = if width == w {
        img.clone()
    } else {
        img.resize_exact(width, height, FilterType::Triangle)
    };
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut out), 82);
    scaled.to_rgb8().write_with_encoder(enc)?;
    Ok(out)
}

/// Encodes a picture as a JPEG original (for pictures the program draws).
pub fn encode_jpeg(img: &image::RgbImage, quality: u8) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut out), quality);
    img.write_with_encoder(enc)?;
    Ok(out)
}

fn rendition_path(dir: &Path, sha256: &str, width: u32) -> PathBuf {
    dir.join(format!("{}-{width}.jpg", stem(sha256)))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Whether a requested file name is one this module writes; guards the
/// media route against any other path.
pub fn is_media_file_name(name: &str) -> bool {
    let (stem, ext) = match name.rsplit_once('.') {
        Some(p) => p,
        None => return false,
    };
    if !matches!(ext, "jpg" | "png") {
        return false;
    }
    let (hash, width) = match stem.split_once('-') {
        Some((h, w)) => (h, Some(w)),
        None => (stem, None),
    };
    hash.len() == 32
        && hash
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && width.is_none_or(|w| WIDTHS.iter().any(|x| x.to_string() == w))
}

/// A photo ready for a template: the URLs of its renditions and its shape.
#[derive(Clone, Debug, Serialize)]
pub struct Picture {
    /// The rendition for browsers that ignore `srcset`.
    pub src: String,
    pub srcset: String,
    pub width: i64,
    pub height: i64,
    /// The largest rendition, for Open Graph and JSON-LD (made absolute there).
    pub large: String,
}

impl Picture {
    pub fn of(m: &Media) -> Picture {
        let widths: Vec<u32> = WIDTHS
            .iter()
            .copied()
            .filter(|&w| w as i64 <= m.width)
            .collect();
        let url = |w: u32| format!("/media/{}-{w}.jpg", stem(&m.sha256));
        let srcset = widths
            .iter()
            .map(|&w| format!("{} {w}w", url(w)))
            .collect::<Vec<_>>()
            .join(", ");
        let src = url(*widths
            .iter()
            .find(|&&w| w >= 640)
            .or(widths.last())
            .unwrap_or(&WIDTHS[0]));
        let large = url(*widths
            .iter()
            .rev()
            .find(|&&w| w <= 1280)
            .unwrap_or(&WIDTHS[0]));
        Picture {
            src,
            srcset,
            width: m.width,
            height: m.height,
            large,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        encode_jpeg(&img, 80).unwrap()
    }

    #[test]
    fn a_photo_is_stored_once_with_renditions_no_wider_than_itself() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = sample(1000, 500);
        let s = store(dir.path(), &bytes).unwrap();
        assert_eq!((s.width, s.height, s.ext), (1000, 500, "jpg"));
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names.len(), 5, "{names:?}"); // original + 320, 480, 640, 960
        for n in &names {
            assert!(is_media_file_name(n), "{n}");
        }
        let again = store(dir.path(), &bytes).unwrap();
        assert_eq!(again.sha256, s.sha256);
        let r = image::open(dir.path().join(format!("{}-480.jpg", stem(&s.sha256)))).unwrap();
        assert_eq!(r.dimensions(), (480, 240));
    }

    #[test]
    fn files_that_are_not_pictures_or_too_small_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            store(dir.path(), b"hello"),
            Err(MediaError::Decode(_))
        ));
        assert!(matches!(
            store(dir.path(), &sample(100, 100)),
            Err(MediaError::TooSmall(100, 100))
        ));
    }

    #[test]
    fn only_names_this_module_writes_are_media_file_names() {
        let h = "0123456789abcdef0123456789abcdef";
        assert!(is_media_file_name(&format!("{h}.jpg")));
        assert!(is_media_file_name(&format!("{h}-640.jpg")));
        for bad in [
            format!("{h}-641.jpg"),
            format!("{h}.gif"),
            "../etc/passwd".into(),
            format!("{}.jpg", &h[1..]),
        ] {
            assert!(!is_media_file_name(&bad), "{bad}");
        }
    }

    #[test]
    fn pictures_offer_every_width_up_to_the_original() {
        let m = Media {
            id: 1,
            sha256: "a".repeat(64),
            ext: "jpg".into(),
            mime: "image/jpeg".into(),
            width: 1000,
            height: 500,
        };
        let p = Picture::of(&m);
        assert_eq!(p.srcset.matches("w,").count() + 1, 4);
        assert!(p.src.ends_with("-640.jpg"));
        assert!(p.large.ends_with("-960.jpg"));
    }
}
