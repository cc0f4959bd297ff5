//! A WordPress site's pictures, read from a copy of its uploads folder
//! (`masthead import wxr FILE --uploads DIR`), never over the network.
//!
//! An address maps to a file by its path after `wp-content/uploads/`;
//! WordPress's resized copies (`x-300x200.jpg`) map to their original
//! (`x.jpg`) when it is there. A path that would leave the folder (`..`, an
//! absolute path, a symbolic link pointing out) is refused. Each picture is
//! stored through [`crate::media`] (once, under its content hash, with its
//! renditions); a dry run only reads and decodes it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::media;

/// Pictures larger than this are not read (a WordPress upload rarely is).
pub const MAX_BYTES: u64 = 50 << 20;
/// Problems listed in the summary; the rest are counted.
pub const SHOWN_PROBLEMS: usize = 20;

/// A picture found in the uploads folder: what its media row needs.
pub type Picture = media::Stored;

/// A photo of a post, ready for its story: the picture and its words.
#[derive(Clone, Debug)]
pub struct Photo {
    pub picture: Picture,
    pub alt: String,
    pub caption: String,
    pub credit: String,
}

/// The images of an import, counted for its summary.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Images {
    /// Pictures stored now that the library did not have.
    pub imported: u64,
    /// Uses of a picture the library already had (or this import stored
    /// earlier in the file).
    pub reused: u64,
    /// Images skipped: file missing, unreadable, refused.
    pub missing: u64,
    /// Images seen without `--uploads`: not looked for.
    pub without_uploads: u64,
    /// The first problems: (byte offset of the post, what and why).
    pub problems: Vec<(u64, String)>,
}

impl Images {
    pub fn problem(&mut self, pos: u64, what: String) {
        self.missing += 1;
        if self.problems.len() < SHOWN_PROBLEMS {
            self.problems.push((pos, what));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.imported + self.reused + self.missing + self.without_uploads == 0
    }

    /// The summary's lines, with line numbers for the listed positions.
    pub fn summary(&self, lines: &HashMap<u64, u64>, dry_run: bool) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        if self.is_empty() {
            return out;
        }
        let _ = writeln!(
            out,
            "Images: {} {}, {} reused (a picture already stored), {} not imported",
            self.imported,
            if dry_run {
                "would be imported"
            } else {
                "imported"
            },
            self.reused,
            self.missing + self.without_uploads
        );
        if self.without_uploads > 0 {
            let _ = writeln!(
                out,
                "  {} images not imported: no --uploads folder given (a copy of the site's wp-content/uploads)",
                self.without_uploads
            );
        }
        for (pos, what) in &self.problems {
            let at = match lines.get(pos) {
                Some(l) => format!("line {l} (byte {pos})"),
                None => format!("byte {pos}"),
            };
            let _ = writeln!(out, "  the post at {at}: {what}");
        }
        let more = self.missing.saturating_sub(self.problems.len() as u64);
        if more > 0 {
            let _ = writeln!(out, "  and {more} more images not imported");
        }
        out
    }
}

/// The uploads folder, and the pictures read from it so far (so a picture
/// used by several posts is read once).
pub struct Uploads {
    dir: PathBuf,
    /// Where pictures are stored; `None` for a dry run, which only reads.
    media_dir: Option<PathBuf>,
    read: HashMap<PathBuf, Result<Picture, String>>,
}

impl Uploads {
    /// The folder must exist; `media_dir` is `None` for a dry run.
    pub fn open(dir: &Path, media_dir: Option<&Path>) -> Result<Uploads, String> {
        let dir = dir
            .canonicalize()
            .map_err(|e| format!("the uploads folder {} cannot be opened: {e}", dir.display()))?;
        if !dir.is_dir() {
            return Err(format!(
                "--uploads {} is not a folder: give the copy of the site's wp-content/uploads folder",
                dir.display()
            ));
        }
        Ok(Uploads {
            dir,
            media_dir: media_dir.map(Path::to_path_buf),
            read: HashMap::new(),
        })
    }

    /// The picture an address names, read (and, unless dry, stored); or
    /// what to tell about it.
    pub fn picture(&mut self, url: &str) -> Result<Picture, String> {
        let (path, shown) = self.locate(url)?;
        if let Some(known) = self.read.get(&path) {
            return known.clone().map_err(|why| format!("{shown}: {why}"));
        }
        let result = self.load(&path);
        self.read.insert(path, result.clone());
        result.map_err(|why| format!("{shown}: {why}"))
    }

    /// The file under the folder an address names (its original when the
    /// address is a resized copy), and the name to show in the summary.
    fn locate(&self, url: &str) -> Result<(PathBuf, String), String> {
        let rel = relative_path(url)?;
        let parts = safe_parts(&rel).ok_or_else(|| {
            format!(
                "{rel}: refused, the path leaves the uploads folder (an image's address must \
                 name a file under wp-content/uploads/)"
            )
        })?;
        let mut path = self.dir.clone();
        path.extend(&parts);
        let mut shown = parts.join("/");
        if let Some(original) = original_of(&path)
            && original.is_file()
        {
            shown = format!("{shown} (its original {})", file_name(&original));
            path = original;
        }
        if !path.exists() {
            return Err(format!("{shown} is not in the uploads folder"));
        }
        // A symbolic link may point anywhere: the real path must stay inside.
        let real = path
            .canonicalize()
            .map_err(|e| format!("{shown} cannot be read: {e}"))?;
        if !real.starts_with(&self.dir) {
            return Err(format!(
                "{shown}: refused, a link that leaves the uploads folder"
            ));
        }
        if !real.is_file() {
            return Err(format!("{shown} is not a file"));
        }
        Ok((real, shown))
    }

    fn load(&self, path: &Path) -> Result<Picture, String> {
        let size = std::fs::metadata(path)
            .map_err(|e| format!("cannot be read: {e}"))?
            .len();
        if size > MAX_BYTES {
            return Err(format!(
                "{} MB, larger than the {} MB a picture may be",
                size >> 20,
                MAX_BYTES >> 20
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
        let checked = match &self.media_dir {
            Some(dir) => media::store(dir, &bytes),
            None => media::inspect(&bytes).map(|(p, _)| p),
        };
        checked.map_err(|e| e.to_string())
    }
}

const UPLOADS: &str = "wp-content/uploads/";

/// The path of an image's address after `wp-content/uploads/`, decoded;
/// the address as written is used (not resolved), so `..` in it is seen.
fn relative_path(url: &str) -> Result<String, String> {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    let Some(at) = lower.find(UPLOADS) else {
        let shown: String = url.chars().take(120).collect();
        return Err(if url.starts_with("data:") {
            "an image written into the page (a data: address), not a file; left out".into()
        } else {
            format!(
                "{shown} is not in a wp-content/uploads/ folder; images are only read from \
                 the uploads folder, never fetched"
            )
        });
    };
    let rest = &url[at + UPLOADS.len()..];
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let decoded = percent_decode(rest).ok_or_else(|| format!("{rest}: a badly encoded address"))?;
    Ok(decoded)
}

/// `%XX` sequences decoded; `None` when the bytes are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && hex.iter().all(u8::is_ascii_hexdigit)
            && let Ok(b) = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The path's parts when every one names something inside the folder: no
/// `..` or `.`, no empty part (an absolute path), no drive or backslash.
fn safe_parts(rel: &str) -> Option<Vec<String>> {
    let parts: Vec<String> = rel.split('/').map(str::to_string).collect();
    let ok = !parts.is_empty()
        && parts.iter().all(|p| {
            !p.is_empty()
                && p != "."
                && p != ".."
                && !p.contains(['\\', '\0', ':'])
                && !p.starts_with('~')
        });
    ok.then_some(parts)
}

/// The original of a resized copy (`x-300x200.jpg` → `x.jpg`), when the
/// name is one.
fn original_of(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let (stem, ext) = name.rsplit_once('.')?;
    let (base, size) = stem.rsplit_once('-')?;
    let (w, h) = size.split_once('x')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if base.is_empty() || !digits(w) || !digits(h) {
        return None;
    }
    Some(path.with_file_name(format!("{base}.{ext}")))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// Words of an image's file name, for alt text when nothing better is
/// known: `market-day_in-pune-300x200.jpg` → `market day in pune`.
pub fn words_of_file(url: &str) -> String {
    let name = url
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .rsplit('/')
        .next()
        .unwrap_or("");
    let name = percent_decode(name).unwrap_or_else(|| name.to_string());
    let path = PathBuf::from(&name);
    let name = original_of(&path)
        .map(|p| file_name(&p))
        .unwrap_or(name.clone());
    let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
    let words: Vec<&str> = stem
        .split(|c: char| c == '-' || c == '_' || c == '+' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        "An image".into()
    } else {
        words.join(" ")
    }
}

/// A credit in an attachment's description, when it reads like one
/// ("Photo: Asha Rao", "Credit: Reuters", "© AP"); else empty.
pub fn credit_of(description: &str) -> String {
    let text = super::html::to_text(description);
    let text = text.trim();
    if text.is_empty() || text.contains('\n') || text.chars().count() > 120 {
        return String::new();
    }
    let lower = text.to_lowercase();
    let looks = [
        "photo:",
        "photo by",
        "photograph:",
        "photograph by",
        "credit:",
        "image:",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
        || text.starts_with('©');
    if looks {
        text.to_string()
    } else {
        String::new()
    }
}

/// A story's image problems and unread images, into the counts.
pub fn note_problems(images: &mut Images, s: &super::wxr::Story) {
    images.without_uploads += s.images_without_uploads;
    for p in &s.image_problems {
        images.problem(s.pos, p.clone());
    }
}

/// A dry run counts a story's pictures as a real run would: new to the
/// library, or stored already (before, or earlier in the file).
pub async fn count_dry(
    db: &crate::db::Db,
    s: &super::wxr::Story,
    seen: &mut std::collections::HashSet<String>,
    images: &mut Images,
) -> Result<(), sqlx::Error> {
    for p in s.photos() {
        let sha = &p.picture.sha256;
        let stored = {
            let mut c = db.read().await?;
            crate::db::imports::media_by_sha(c.ex(), sha)
                .await?
                .is_some()
        };
        if seen.insert(sha.clone()) && !stored {
            images.imported += 1;
        } else {
            images.reused += 1;
        }
    }
    Ok(())
}

/// Removes a photo's original and renditions from the media folder.
pub fn remove_files(media_dir: &Path, sha256: &str) {
    let stem = &sha256[..32.min(sha256.len())];
    if stem.len() < 32 {
        return;
    }
    if let Ok(entries) = std::fs::read_dir(media_dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(stem) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_map_under_the_folder_and_never_out() {
        assert_eq!(
            relative_path("https://old.example/wp-content/uploads/2019/04/x.jpg?ver=2").unwrap(),
            "2019/04/x.jpg"
        );
        assert_eq!(
            relative_path("/wp-content/uploads/sites/2/2019/04/a%20b.jpg").unwrap(),
            "sites/2/2019/04/a b.jpg"
        );
        assert!(relative_path("https://cdn.example/x.jpg").is_err());
        for bad in [
            "2019/../../etc/passwd",
            "/etc/passwd",
            "2019//x.jpg",
            "./x.jpg",
            "c:/x.jpg",
        ] {
            assert!(safe_parts(bad).is_none(), "{bad}");
        }
        let rel =
            relative_path("https://old.example/wp-content/uploads/%2e%2e/secret.jpg").unwrap();
        assert!(safe_parts(&rel).is_none(), "{rel}");
        assert_eq!(safe_parts("2019/04/x.jpg").unwrap().len(), 3);
    }

    #[test]
    fn resized_copies_name_their_original() {
        assert_eq!(
            original_of(Path::new("/u/2019/x-300x200.jpg")),
            Some(PathBuf::from("/u/2019/x.jpg"))
        );
        assert_eq!(original_of(Path::new("/u/2019/x.jpg")), None);
        assert_eq!(original_of(Path::new("/u/2019/x-axb.jpg")), None);
        assert_eq!(
            words_of_file("https://o/wp-content/uploads/market-day_in-pune-300x200.jpg"),
            "market day in pune"
        );
    }

    #[test]
    fn credits_are_taken_only_when_they_read_like_one() {
        assert_eq!(credit_of("Photo: Asha Rao"), "Photo: Asha Rao");
        assert_eq!(credit_of("<p>© Reuters</p>"), "© Reuters");
        assert_eq!(credit_of("A long description of the market."), "");
    }
}
