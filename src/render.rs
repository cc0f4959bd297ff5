//! Templates and static files: built into the binary, overridable by a theme.
//!
//! A file in the theme folder (`<data>/theme/templates/...`,
//! `<data>/theme/static/...`) replaces the built-in file of the same name, so
//! a publication can restyle its site without a rebuild (restart to apply).
//! Templates are rendered by minijinja with HTML auto-escaping on `.html` and
//! `.xml` files; text that is already HTML is marked safe in Rust, never in a
//! template.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::{Environment, Value};
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

#[derive(RustEmbed)]
#[folder = "templates/"]
struct BuiltinTemplates;

#[derive(RustEmbed)]
#[folder = "static/"]
struct BuiltinStatic;

/// A static file with its content hash, served at `/static/{stem}.{hash}.{ext}`.
#[derive(Clone, Debug)]
pub struct Asset {
    pub bytes: axum::body::Bytes,
    pub hash: String,
    pub mime: String,
    pub url: String,
}

/// Every static file, by its plain name (`site.css`).
#[derive(Clone, Debug, Default)]
pub struct Assets {
    by_name: HashMap<String, Asset>,
}

impl Assets {
    pub fn load(theme_dir: &Path) -> Assets {
        let mut by_name = HashMap::new();
        for name in BuiltinStatic::iter() {
            let name = name.to_string();
            let themed = theme_dir.join("static").join(&name);
            let bytes = match std::fs::read(&themed) {
                Ok(b) => b,
                Err(_) => match BuiltinStatic::get(&name) {
                    Some(f) => f.data.into_owned(),
                    None => continue,
                },
            };
            let hash = hex::encode(&Sha256::digest(&bytes)[..5]);
            let url = match name.rsplit_once('.') {
                Some((stem, ext)) => format!("/static/{stem}.{hash}.{ext}"),
                None => format!("/static/{name}.{hash}"),
            };
            let mime = mime_guess::from_path(&name)
                .first_or_octet_stream()
                .to_string();
            let mime = if mime.starts_with("text/") {
                format!("{mime}; charset=utf-8")
            } else {
                mime
            };
            by_name.insert(
                name,
                Asset {
                    bytes: bytes.into(),
                    hash,
                    mime,
                    url,
                },
            );
        }
        Assets { by_name }
    }

    pub fn get(&self, name: &str) -> Option<&Asset> {
        self.by_name.get(name)
    }

    /// Finds the asset a `/static/` request names: `site.1a2b3c4d5e.css` or
    /// plain `site.css`; answers whether the hash was the current one.
    pub fn resolve(&self, requested: &str) -> Option<(&Asset, bool)> {
        if let Some(a) = self.by_name.get(requested) {
            return Some((a, false));
        }
        let (rest, ext) = requested.rsplit_once('.')?;
        let (stem, hash) = rest.rsplit_once('.')?;
        let a = self.by_name.get(&format!("{stem}.{ext}"))?;
        Some((a, a.hash == hash))
    }
}

/// The template engine.
#[derive(Clone)]
pub struct Renderer {
    env: Arc<Environment<'static>>,
}

impl Renderer {
    pub fn new(theme_dir: &Path, assets: &Assets) -> Renderer {
        let mut env = Environment::new();
        let themed: PathBuf = theme_dir.join("templates");
        env.set_loader(move |name| {
            if name.contains("..") {
                return Ok(None);
            }
            if let Ok(text) = std::fs::read_to_string(themed.join(name)) {
                return Ok(Some(text));
            }
            Ok(BuiltinTemplates::get(name).map(|f| String::from_utf8_lossy(&f.data).into_owned()))
        });
        let urls: HashMap<String, String> = assets
            .by_name
            .iter()
            .map(|(k, v)| (k.clone(), v.url.clone()))
            .collect();
        env.add_function(
            "asset",
            move |name: &str| -> Result<String, minijinja::Error> {
                urls.get(name).cloned().ok_or_else(|| {
                    minijinja::Error::new(
                        minijinja::ErrorKind::InvalidOperation,
                        format!("no static file named {name}"),
                    )
                })
            },
        );
        env.set_formatter(|out, state, value| {
            // The built-in HTML escaping also escapes `/`, which makes every
            // URL in a page longer and harder to read; `/` needs no escaping
            // in element text or quoted attributes.
            if *state.auto_escape() == minijinja::AutoEscape::Html
                && !value.is_safe()
                && let Some(s) = value.as_str()
            {
                return out
                    .write_str(&escape_html(s))
                    .map_err(minijinja::Error::from);
            }
            minijinja::escape_formatter(out, state, value)
        });
        env.add_filter("plural", |n: i64, one: &str, many: &str| {
            if n == 1 {
                one.to_string()
            } else {
                many.to_string()
            }
        });
        Renderer { env: Arc::new(env) }
    }

    pub fn render(&self, name: &str, ctx: impl Into<Value>) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx.into())
    }

    /// Checks that every built-in template compiles, so a broken template
    /// (or theme override) stops the start instead of the first request.
    pub fn check_all(&self) -> Result<(), minijinja::Error> {
        for name in BuiltinTemplates::iter() {
            self.env.get_template(&name)?;
        }
        Ok(())
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Wraps any serialisable value for a template context.
pub fn val<T: serde::Serialize>(v: T) -> Value {
    Value::from(minijinja::value::Serde(v))
}

/// Marks HTML made in Rust (sanitised or escaped there) as safe to insert.
pub fn safe(html: String) -> Value {
    Value::from_safe_string(html)
}
