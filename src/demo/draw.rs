//! Placeholder until the scene drawer lands.
pub const SCENES: &[&str] = &[
    "city",
    "parliament",
    "rain",
    "stadium",
    "market",
    "coast",
    "mountains",
    "field",
    "court",
    "laboratory",
    "train",
    "festival",
    "forest",
    "river",
    "night-sky",
    "factory",
    "hospital",
    "classroom",
    "stage",
    "portrait",
    "harbour",
    "street",
    "rocket",
    "bridge",
];
pub fn draw_scene(_scene: &str, seed: u64, width: u32, height: u32) -> image::RgbImage {
    image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x as u64 ^ seed) as u8, y as u8, 128])
    })
}
