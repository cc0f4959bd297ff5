//! `masthead import wxr FILE --uploads DIR`: a WordPress export's pictures
//! read from a local uploads folder (drawn here), stored once, placed in
//! the stories, and taken away by the import's undo; both databases.

use std::path::{Path, PathBuf};

use crate::helpers::*;
use masthead::import::cli::{FileArgs, ImportCommand, WxrArgs, run};

fn wxr_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import/uploads.xml")
}

fn wxr(uploads: Option<&Path>, dry_run: bool) -> ImportCommand {
    wxr_of(wxr_file(), uploads, dry_run)
}

fn wxr_of(file: PathBuf, uploads: Option<&Path>, dry_run: bool) -> ImportCommand {
    ImportCommand::Wxr(WxrArgs {
        file: FileArgs {
            file,
            dry_run,
            moderate: false,
            keep_hidden: false,
            skip_hidden: false,
            host_alias: Vec::new(),
            map: None,
            batch: None,
            bulk: false,
        },
        uploads: uploads.map(Path::to_path_buf),
    })
}

async fn import(app: &TestApp, command: ImportCommand) -> anyhow::Result<String> {
    run(&app.state.config, &app.db, command, app.now(), false).await
}

/// A picture of one colour, `w` wide.
fn picture(w: u32, h: u32, colour: [u8; 3]) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            colour[0].wrapping_add((x % 7) as u8),
            colour[1].wrapping_add((y % 5) as u8),
            colour[2],
        ])
    })
}

/// The site's uploads folder, as the fixture's posts expect it: three
/// pictures (one with its resized copy), a text file named like a picture,
/// a link to a picture outside the folder, and a picture beside the folder.
fn uploads_folder() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("uploads");
    std::fs::create_dir_all(dir.join("2019/04")).unwrap();
    std::fs::create_dir_all(dir.join("2019/05")).unwrap();
    let jpeg = |img: &image::RgbImage| masthead::media::encode_jpeg(img, 80).unwrap();
    std::fs::write(
        dir.join("2019/04/market.jpg"),
        jpeg(&picture(400, 250, [200, 120, 40])),
    )
    .unwrap();
    picture(320, 213, [30, 90, 180])
        .save_with_format(dir.join("2019/04/river.png"), image::ImageFormat::Png)
        .unwrap();
    // WordPress's resized copy: too narrow to be a photo here, so only its
    // original can be imported.
    picture(300, 200, [30, 90, 180])
        .save_with_format(
            dir.join("2019/04/river-300x200.png"),
            image::ImageFormat::Png,
        )
        .unwrap();
    std::fs::write(
        dir.join("2019/05/bridge.jpg"),
        jpeg(&picture(320, 200, [90, 90, 90])),
    )
    .unwrap();
    std::fs::write(dir.join("2019/05/notes.jpg"), "not a picture, a note\n").unwrap();
    // Beside the folder: what the `../` path and the link point at.
    let outside = jpeg(&picture(320, 200, [250, 0, 0]));
    std::fs::write(root.path().join("secret.jpg"), &outside).unwrap();
    std::os::unix::fs::symlink(root.path().join("secret.jpg"), dir.join("2019/05/link.jpg"))
        .unwrap();
    root
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    #[derive(sqlx::FromRow)]
    struct N {
        n: i64,
    }
    let mut c = app.db.read().await.unwrap();
    masthead::fetch_one!(c.ex(), N, sql).unwrap().n
}

/// The story an old address became.
async fn story_of(app: &TestApp, old: &str) -> masthead::db::stories::Story {
    let mut c = app.db.read().await.unwrap();
    let id = masthead::db::imports::redirect_of(c.ex(), old)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no story for {old}"));
    masthead::db::stories::find(c.ex(), id)
        .await
        .unwrap()
        .unwrap()
}

fn media_files(app: &TestApp) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(app.state.config.media_dir()) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

#[derive(sqlx::FromRow)]
struct MediaRow {
    id: i64,
    sha256: String,
    ext: String,
    width: i64,
}

async fn media_rows(app: &TestApp) -> Vec<MediaRow> {
    let mut c = app.db.read().await.unwrap();
    masthead::fetch_all!(
        c.ex(),
        MediaRow,
        "select id, sha256, ext, width from media order by id"
    )
    .unwrap()
}

#[tokio::test]
async fn pictures_come_from_the_uploads_folder_stored_once_and_undo_takes_them_away() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let root = uploads_folder();
    let uploads = root.path().join("uploads");
    let before_media = media_rows(&app).await.len();
    let before_files = media_files(&app);

    // A dry run reads and counts, and writes nothing.
    let out = import(&app, wxr(Some(&uploads), true)).await.unwrap();
    assert!(
        out.contains(
            "Images: 3 would be imported, 2 reused (a picture already stored), 4 not imported"
        ),
        "{out}"
    );
    assert_eq!(count(&app, "select count(*) as n from imports").await, 0);
    assert_eq!(count(&app, "select count(*) as n from redirects").await, 0);
    assert_eq!(media_rows(&app).await.len(), before_media);
    assert_eq!(media_files(&app), before_files, "a dry run stores no file");

    let out = import(&app, wxr(Some(&uploads), false)).await.unwrap();
    assert!(out.contains("Stories: 2 made"), "{out}");
    assert!(
        out.contains("Images: 3 imported, 2 reused (a picture already stored), 4 not imported"),
        "{out}"
    );
    // Each skipped image is named, with the post's line.
    for want in [
        "at line 39 (byte",
        "2019/05/gone.jpg is not in the uploads folder",
        "2019/05/notes.jpg: the file is not a JPEG or PNG picture",
        "../../secret.jpg: refused, the path leaves the uploads folder",
        "2019/05/link.jpg: refused, a link that leaves the uploads folder",
    ] {
        assert!(out.contains(want), "{want:?} in\n{out}");
    }
    assert!(!out.contains("no --uploads folder"), "{out}");

    // Three pictures, each stored once (the market twice in the file),
    // with their renditions; the resized copy gave way to its original.
    let rows = media_rows(&app).await;
    let new: Vec<&MediaRow> = rows.iter().skip(before_media).collect();
    assert_eq!(new.len(), 3);
    let mut widths: Vec<(i64, &str)> = new.iter().map(|m| (m.width, m.ext.as_str())).collect();
    widths.sort();
    assert_eq!(widths, vec![(320, "jpg"), (320, "png"), (400, "jpg")]);
    assert_eq!(
        count(&app, "select count(*) as n from import_media").await,
        3
    );
    let files = media_files(&app);
    for m in &new {
        let stem = &m.sha256[..32];
        assert!(
            files.contains(&format!("{stem}.{}", m.ext)),
            "{stem} in {files:?}"
        );
        assert!(files.contains(&format!("{stem}-320.jpg")), "{files:?}");
    }

    // The first story: its lead from the attachment before it, the photos
    // in place with their words, the text around the skipped ones kept.
    let market = story_of(&app, "/2019/04/market-reopens").await;
    assert!(market.lead_media_id.is_some());
    assert_eq!(market.lead_alt, "Stalls of vegetables under awnings");
    assert_eq!(market.lead_caption, "The Saturday market in Pune.");
    assert_eq!(market.lead_credit, "Photo: Asha Rao");
    let body: serde_json::Value = serde_json::from_str(&market.body).unwrap();
    let kinds: Vec<String> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|b| match b["type"].as_str().unwrap() {
            "photo" => format!("photo: {}", b["alt"].as_str().unwrap()),
            _ => b["text"].as_str().unwrap().to_string(),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            "The market opened again on Saturday.",
            "photo: The river in spate",
            "Traders returned after the floods.",
            "photo: The old bridge at dawn",
            "Further down the river, the ferry runs again.",
            "The end.",
        ]
    );
    let bridge_block = &body[3];
    assert_eq!(bridge_block["caption"], "The bridge, rebuilt in 2018.");
    assert_eq!(bridge_block["credit"], "Photograph: Ravi K.");
    assert_eq!(body[1]["caption"], "");
    assert!(!market.body.contains("wp-content"), "{}", market.body);

    let url = format!("/city/{}-{}", market.slug, market.id);
    let (status, page) = app.get_text(&url).await;
    assert_eq!(status, 200, "{page}");
    for want in [
        r#"alt="Stalls of vegetables under awnings""#,
        "The Saturday market in Pune.",
        "Photo: Asha Rao",
        r#"alt="The river in spate""#,
        r#"alt="The old bridge at dawn""#,
        "The bridge, rebuilt in 2018.",
        "Photograph: Ravi K.",
        "Traders returned after the floods.",
    ] {
        assert!(page.contains(want), "{want:?} on the story page");
    }
    let at = |s: &str| page.find(s).unwrap_or_else(|| panic!("{s}"));
    assert!(at("opened again on Saturday") < at(r#"alt="The river in spate""#));
    assert!(at(r#"alt="The river in spate""#) < at("Traders returned"));
    assert!(at("Traders returned") < at(r#"alt="The old bridge at dawn""#));

    // The second: its lead's attachment came after it; the market picture
    // again, the same row.
    let bridge = story_of(&app, "/2019/05/bridge-opens").await;
    assert_eq!(bridge.lead_alt, "The new bridge over the Mula.");
    assert_eq!(bridge.lead_caption, "The new bridge over the Mula.");
    assert_eq!(bridge.lead_credit, "Photograph: Ravi K.");
    let body: serde_json::Value = serde_json::from_str(&bridge.body).unwrap();
    let photo = body
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "photo")
        .expect("the figure became a photo");
    assert_eq!(photo["media_id"].as_i64(), market.lead_media_id);
    assert_eq!(
        photo["caption"],
        "The market, a short walk from the bridge."
    );
    assert_eq!(photo["alt"], "Stalls of vegetables under awnings");
    let (status, page) = app
        .get_text(&format!("/city/{}-{}", bridge.slug, bridge.id))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("The market, a short walk from the bridge."));
    assert!(page.contains("Buses will follow next month."));

    // A second run adds nothing.
    let out = import(&app, wxr(Some(&uploads), false)).await.unwrap();
    assert!(
        !out.contains("Stories: 2") && out.contains("Images: 0 imported, 0 reused"),
        "{out}"
    );
    assert_eq!(media_rows(&app).await.len(), before_media + 3);
    assert_eq!(count(&app, "select count(*) as n from redirects").await, 2);

    // A story of the publication's own takes the river picture as its lead:
    // the undo leaves that one and takes the other two, rows and files.
    let river = new
        .iter()
        .find(|m| m.ext == "png")
        .map(|m| (m.id, m.sha256.clone()))
        .unwrap();
    {
        let mut c = app.db.write().await.unwrap();
        masthead::execute!(
            c.ex(),
            "update stories set lead_media_id = $1 where id = $2",
            river.0,
            f.linked
        )
        .unwrap();
    }
    let id = {
        #[derive(sqlx::FromRow)]
        struct I {
            id: i64,
        }
        let mut c = app.db.read().await.unwrap();
        masthead::fetch_one!(c.ex(), I, "select id from imports")
            .unwrap()
            .id
    };
    let out = import(&app, ImportCommand::Undo { id }).await.unwrap();
    assert!(
        out.contains("took away 2 stories with their old addresses, and 2 photos"),
        "{out}"
    );
    assert_eq!(app.get(&url).await.status().as_u16(), 404);
    let rows = media_rows(&app).await;
    assert_eq!(rows.len(), before_media + 1);
    assert!(rows.iter().any(|m| m.id == river.0));
    let files = media_files(&app);
    assert!(files.iter().any(|n| n.starts_with(&river.1[..32])));
    for m in new.iter().filter(|m| m.id != river.0) {
        assert!(
            !files.iter().any(|n| n.starts_with(&m.sha256[..32])),
            "{} is left in {files:?}",
            m.sha256
        );
    }
    assert_eq!(files.len(), before_files.len() + 2, "{files:?}");
    assert_eq!(
        count(&app, "select count(*) as n from stories where section_id in (select id from sections where slug = 'city')").await,
        0
    );
}

#[tokio::test]
async fn without_an_uploads_folder_images_are_counted_and_the_text_kept() {
    let app = spawn_app().await;
    let out = import(&app, wxr(None, false)).await.unwrap();
    assert!(
        out.contains("9 images not imported: no --uploads folder given"),
        "{out}"
    );
    assert!(out.contains("Images: 0 imported, 0 reused"), "{out}");
    assert_eq!(count(&app, "select count(*) as n from media").await, 0);
    let market = story_of(&app, "/2019/04/market-reopens").await;
    assert_eq!(market.lead_media_id, None);
    let body: serde_json::Value = serde_json::from_str(&market.body).unwrap();
    let texts: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        vec![
            "The market opened again on Saturday.",
            "Traders returned after the floods.",
            "Further down the river, the ferry runs again.",
            "The end.",
        ]
    );

    // The folder must exist; the flag is for WordPress files only.
    let err = import(&app, wxr(Some(Path::new("/no/such/uploads")), false))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the uploads folder /no/such/uploads cannot be opened"),
        "{err}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_masthead"))
        .env_remove("MASTHEAD_TEST_DATABASE_URL")
        .env("MASTHEAD_DATABASE_URL", &app.database_url)
        .env("MASTHEAD_LOG", "warn")
        .arg("--data")
        .arg(&app.state.config.data_dir)
        .args(["import", "disqus", "x.xml", "--uploads", "/tmp"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--uploads"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What a story's body holds, block by block: a paragraph's text, a
/// photo's alt text, a gallery's photos' alt texts and captions.
fn blocks_of(story: &masthead::db::stories::Story) -> Vec<String> {
    let body: serde_json::Value = serde_json::from_str(&story.body).unwrap();
    body.as_array()
        .unwrap()
        .iter()
        .map(|b| match b["type"].as_str().unwrap() {
            "photo" => format!("photo: {}", b["alt"].as_str().unwrap()),
            "gallery" => format!(
                "gallery: {}",
                b["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| format!(
                        "{} ({})",
                        f["alt"].as_str().unwrap(),
                        f["caption"].as_str().unwrap()
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => b["text"].as_str().unwrap().to_string(),
        })
        .collect()
}

#[tokio::test]
async fn wordpress_galleries_become_galleries() {
    let app = spawn_app().await;
    fixture(&app).await;
    let root = uploads_folder();
    let uploads = root.path().join("uploads");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import/galleries.xml");
    let out = import(&app, wxr_of(file, Some(&uploads), false))
        .await
        .unwrap();
    assert!(out.contains("Stories: 2 made"), "{out}");
    assert!(
        out.contains("attachment 99 of a [gallery] is not in the file"),
        "{out}"
    );
    // Three pictures, each stored once whatever the galleries they are in.
    assert_eq!(
        count(&app, "select count(*) as n from import_media").await,
        3
    );

    // A block editor gallery, its pictures' words from the attachments
    // where the block has none, its caption a paragraph under it; the
    // classic editor's [gallery] of the post's own attachments.
    let week = story_of(&app, "/2019/04/week-in-pictures").await;
    assert_eq!(
        blocks_of(&week),
        vec![
            "A week of rain, and a market.",
            "gallery: Stalls of vegetables under awnings (Saturday, early.), The river in spate ()",
            "The river rose all week.",
            "And again, as the classic editor had it:",
            "gallery: Stalls of vegetables under awnings (The Saturday market in Pune.), The river in spate ()",
        ]
    );
    let bridge = story_of(&app, "/2019/05/bridge-opens").await;
    assert_eq!(
        blocks_of(&bridge),
        vec![
            "The bridge opened on Monday.",
            "gallery: The new bridge over the Mula. (The new bridge over the Mula.), Stalls of vegetables under awnings (The Saturday market in Pune.)",
            "Its first morning:",
            "photo: The new bridge over the Mula.",
        ]
    );

    // The story page shows the gallery with its credits.
    let url = format!("/city/{}-{}", week.slug, week.id);
    let (status, page) = app.get_text(&url).await;
    assert_eq!(status, 200, "{page}");
    for want in [
        "Photo gallery, 2 photos",
        r#"alt="Stalls of vegetables under awnings""#,
        "Saturday, early.",
        "Photo: Asha Rao",
        "The river rose all week.",
    ] {
        assert!(page.contains(want), "{want:?} on the story page");
    }
}
