//! Which story a thread of the old platform belongs to: by a mapping file,
//! by the thread's identifier, or by its address, normalised (scheme,
//! host aliases, trailing slash, query and fragment do not count).

use std::collections::HashMap;

use crate::db::{Ex, imports};
use crate::domain::slug::parse_story_segment;

/// How threads are matched, built once for an import.
#[derive(Clone, Debug, Default)]
pub struct Matcher {
    /// The publication's own host (from its public address).
    own_host: String,
    /// Old host → host, lower case.
    aliases: HashMap<String, String>,
    /// Normalised address or identifier → story id, from the mapping file.
    map: HashMap<String, i64>,
    /// Entries of the mapping file naming a story by address, resolved on use.
    map_paths: HashMap<String, String>,
}

impl Matcher {
    pub fn new(public_url: &url::Url, aliases: &[(String, String)]) -> Matcher {
        Matcher {
            own_host: public_url.host_str().unwrap_or("").to_ascii_lowercase(),
            aliases: aliases
                .iter()
                .map(|(a, b)| (a.trim().to_ascii_lowercase(), b.trim().to_ascii_lowercase()))
                .collect(),
            ..Matcher::default()
        }
    }

    /// Reads a mapping file: one `OLD NEW` a line (a space, a tab or a
    /// comma between), OLD a thread address or identifier, NEW a story id
    /// or the story's address here; `#` starts a comment.
    pub fn read_map(&mut self, text: &str) -> Result<(), String> {
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.splitn(2, [',', '\t', ' ']).map(str::trim);
            let (Some(old), Some(new)) = (parts.next(), parts.next()) else {
                return Err(format!(
                    "line {} of the mapping file has no story: write OLD NEW, e.g. \
                     https://old.example/post/ 123",
                    i + 1
                ));
            };
            if new.is_empty() {
                return Err(format!("line {} of the mapping file has no story", i + 1));
            }
            let key = self.key(old);
            match new.parse::<i64>() {
                Ok(id) => {
                    self.map.insert(key, id);
                }
                Err(_) => {
                    self.map_paths.insert(key, new.to_string());
                }
            }
        }
        Ok(())
    }

    /// An address made comparable: host (aliases applied) and path without
    /// its trailing slash; scheme, query and fragment dropped. Text that is
    /// not an address is kept as it is (an identifier).
    pub fn key(&self, text: &str) -> String {
        let text = text.trim();
        match url::Url::parse(text) {
            Ok(u) if u.host_str().is_some() => {
                let host = u.host_str().unwrap_or("").to_ascii_lowercase();
                let host = self.aliases.get(&host).cloned().unwrap_or(host);
                format!("{host}{}", u.path().trim_end_matches('/'))
            }
            _ if text.starts_with('/') => {
                let path = text.split(['?', '#']).next().unwrap_or("");
                format!("{}{}", self.own_host, path.trim_end_matches('/'))
            }
            _ => text.to_string(),
        }
    }

    /// The story for a thread, if one matches and exists.
    pub async fn find(
        &self,
        mut ex: Ex<'_>,
        link: &str,
        identifier: &str,
    ) -> Result<Option<i64>, sqlx::Error> {
        let mut candidates: Vec<String> = Vec::new();
        for text in [identifier, link] {
            if !text.trim().is_empty() {
                candidates.push(self.key(text));
            }
        }
        // The mapping file first, then identifiers that are story ids, then
        // addresses of stories here, then old addresses of imported stories.
        for key in &candidates {
            if let Some(id) = self.map.get(key) {
                return imports::story_exists(reborrow(&mut ex), *id).await;
            }
            if let Some(to) = self.map_paths.get(key)
                && let Some(id) = self.story_by_address(reborrow(&mut ex), to).await?
            {
                return Ok(Some(id));
            }
        }
        if let Ok(id) = identifier.trim().parse::<i64>()
            && let Some(id) = imports::story_exists(reborrow(&mut ex), id).await?
        {
            return Ok(Some(id));
        }
        for text in [link, identifier] {
            if text.trim().is_empty() {
                continue;
            }
            if let Some(id) = self.story_by_address(reborrow(&mut ex), text).await? {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// A story here named by its address (or the old address of an
    /// imported one).
    async fn story_by_address(
        &self,
        mut ex: Ex<'_>,
        text: &str,
    ) -> Result<Option<i64>, sqlx::Error> {
        let key = self.key(text);
        let Some(path) = key.strip_prefix(&self.own_host) else {
            return Ok(None);
        };
        if !path.starts_with('/') && !path.is_empty() {
            return Ok(None);
        }
        let last = path.rsplit('/').next().unwrap_or("");
        if let Some((_, id)) = parse_story_segment(last)
            && let Some(id) = imports::story_exists(reborrow(&mut ex), id).await?
        {
            return Ok(Some(id));
        }
        let path = if path.is_empty() { "/" } else { path };
        imports::redirect_of(ex, path).await
    }
}

fn reborrow<'a>(ex: &'a mut Ex<'_>) -> Ex<'a> {
    crate::db::stories::reborrow(ex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalised() {
        let m = Matcher::new(
            &url::Url::parse("https://news.example").unwrap(),
            &[("old.example".into(), "news.example".into())],
        );
        let cases = [
            (
                "https://news.example/india/rain-12",
                "news.example/india/rain-12",
            ),
            (
                "http://NEWS.example/india/rain-12/",
                "news.example/india/rain-12",
            ),
            (
                "https://news.example/india/rain-12?utm=x#c5",
                "news.example/india/rain-12",
            ),
            (
                "https://old.example/2011/03/post/",
                "news.example/2011/03/post",
            ),
            ("/2011/03/post/?p=1", "news.example/2011/03/post"),
            ("https://other.example/a/", "other.example/a"),
            ("story-77", "story-77"),
        ];
        for (text, key) in cases {
            assert_eq!(m.key(text), key, "{text}");
        }
    }

    #[test]
    fn mapping_files_are_read() {
        let mut m = Matcher::new(&url::Url::parse("https://news.example").unwrap(), &[]);
        m.read_map("# old new\nhttps://a.example/x/ 5\nident-9,/india/rain-12\n\n")
            .unwrap();
        assert_eq!(m.map.get("a.example/x"), Some(&5));
        assert_eq!(
            m.map_paths.get("ident-9").map(String::as_str),
            Some("/india/rain-12")
        );
        assert!(m.read_map("lonely").is_err());
    }
}
