//! Draws the demo publication's illustrative pictures.
//!
//! Every picture is a flat, poster-like editorial illustration built from a
//! handful of anti-aliased primitives (rectangles, ellipses, polygons, lines and
//! vertical gradients). A small splitmix64 generator seeded from the scene name
//! and the caller's seed picks colours, positions and details, so the same
//! `(scene, seed, width, height)` always yields the same pixels.

use image::RgbImage;

/// The scenes the demo content may name.
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

/// Draws `scene` (unknown names fall back to a generic landscape) at width x height; the same (scene, seed, w, h) always gives the same pixels; different seeds vary colours, positions and details.
pub fn draw_scene(scene: &str, seed: u64, width: u32, height: u32) -> RgbImage {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for b in scene.bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ hash);
    let mut c = Canvas::new(width, height);
    if width == 0 || height == 0 {
        return c.img;
    }
    let draw: fn(&mut Canvas, &mut Rng) = match scene {
        "city" => city,
        "parliament" => parliament,
        "rain" => rain,
        "stadium" => stadium,
        "market" => market,
        "coast" => coast,
        "mountains" => mountains,
        "field" => field,
        "court" => court,
        "laboratory" => laboratory,
        "train" => train,
        "festival" => festival,
        "forest" => forest,
        "river" => river,
        "night-sky" => night_sky,
        "factory" => factory,
        "hospital" => hospital,
        "classroom" => classroom,
        "stage" => stage,
        "portrait" => portrait,
        "harbour" => harbour,
        "street" => street,
        "rocket" => rocket,
        "bridge" => bridge,
        _ => landscape,
    };
    draw(&mut c, &mut r);
    c.img
}

// ---------------------------------------------------------------------------
// Randomness and colour
// ---------------------------------------------------------------------------

/// splitmix64: tiny, fast and fully deterministic.
struct Rng(u64);

impl Rng {
    fn u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn f(&mut self) -> f32 {
        (self.u64() >> 40) as f32 / 16_777_216.0
    }
    fn range(&mut self, a: f32, b: f32) -> f32 {
        a + (b - a) * self.f()
    }
    /// Uniform integer in [a, b).
    fn int(&mut self, a: u32, b: u32) -> u32 {
        a + (self.u64() % u64::from(b.saturating_sub(a).max(1))) as u32
    }
    fn chance(&mut self, p: f32) -> bool {
        self.f() < p
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.u64() % items.len() as u64) as usize]
    }
}

type Col = [u8; 3];

const fn hex(v: u32) -> Col {
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

fn mix(a: Col, b: Col, t: f32) -> Col {
    std::array::from_fn(|i| {
        (f32::from(a[i]) + (f32::from(b[i]) - f32::from(a[i])) * t).round() as u8
    })
}

/// A random pick from `items`, slightly varied.
fn tone(r: &mut Rng, items: &[Col], amt: f32) -> Col {
    let c = r.pick(items);
    vary(r, c, amt)
}

/// Small random shift in brightness and tint.
fn vary(r: &mut Rng, c: Col, amt: f32) -> Col {
    let k = r.range(-amt, amt);
    std::array::from_fn(|i| (f32::from(c[i]) + k + r.range(-amt, amt) * 0.4).round() as u8)
}

const INK: Col = hex(0x2b343e);
const WHITE: Col = hex(0xf4f1e8);
const WARM: Col = hex(0xf0cf84);

/// Muted accent colours for flags, awnings, containers and the like.
const ACCENTS: &[Col] = &[
    hex(0xb5533c),
    hex(0xd49a3a),
    hex(0x4f7c8a),
    hex(0x6f8a4e),
    hex(0x8a5a7a),
    hex(0x3f5d7d),
    hex(0xc9b27c),
    hex(0x9c3f3a),
];

// ---------------------------------------------------------------------------
// Canvas and primitives. Coordinates are fractions of the width (x) and of the
// height (y); radii and thicknesses are fractions of the height.
// ---------------------------------------------------------------------------

/// Vertical sub-scanlines per pixel row (anti-aliasing).
const SUB: usize = 4;

struct Canvas {
    img: RgbImage,
    w: f32,
    h: f32,
    /// Opacity applied to every shape fill.
    alpha: f32,
    cov: Vec<f32>,
    xs: Vec<f32>,
}

impl Canvas {
    fn new(width: u32, height: u32) -> Self {
        Canvas {
            img: RgbImage::new(width, height),
            w: width as f32,
            h: height as f32,
            alpha: 1.0,
            cov: vec![0.0; width as usize],
            xs: Vec::new(),
        }
    }

    /// Converts a height-relative length into a width fraction.
    fn ar(&self) -> f32 {
        self.h / self.w
    }

    /// Full-width vertical gradient between y0 and y1 (opaque).
    fn vgrad(&mut self, y0: f32, y1: f32, top: Col, bot: Col) {
        let wi = self.img.width() as usize;
        let hi = self.img.height() as usize;
        let (p0, p1) = (y0 * self.h, y1 * self.h);
        let a = p0.max(0.0) as usize;
        let b = (p1.max(0.0).ceil() as usize).min(hi);
        let span = (p1 - p0).max(1.0);
        let buf: &mut [u8] = &mut self.img;
        for py in a..b {
            let col = mix(top, bot, ((py as f32 + 0.5 - p0) / span).clamp(0.0, 1.0));
            for p in buf[py * wi * 3..(py + 1) * wi * 3].chunks_exact_mut(3) {
                p.copy_from_slice(&col);
            }
        }
    }

    /// Core scanline filler in pixel space: `spans(y, xs)` pushes pairs of x
    /// (start, end) covered at sub-scanline `y`.
    fn fill(&mut self, y0: f32, y1: f32, col: Col, spans: impl Fn(f32, &mut Vec<f32>)) {
        let wi = self.img.width() as usize;
        let hi = self.img.height() as usize;
        let ya = y0.max(0.0).floor() as usize;
        let yb = (y1.max(0.0).ceil() as usize).min(hi);
        let inv = 1.0 / SUB as f32;
        let alpha = self.alpha;
        let wf = wi as f32;
        let Canvas { img, cov, xs, .. } = self;
        let buf: &mut [u8] = img;
        for py in ya..yb {
            let (mut lo, mut hx) = (wi, 0);
            for s in 0..SUB {
                let sy = py as f32 + (s as f32 + 0.5) * inv;
                if sy < y0 || sy >= y1 {
                    continue;
                }
                xs.clear();
                spans(sy, xs);
                for pair in xs.chunks_exact(2) {
                    let (a, b) = (pair[0].max(0.0), pair[1].min(wf));
                    if b <= a {
                        continue;
                    }
                    let ia = a as usize;
                    let ib = (b.ceil() as usize).clamp(ia + 1, wi);
                    lo = lo.min(ia);
                    hx = hx.max(ib);
                    if ib - ia == 1 {
                        cov[ia] += (b - a) * inv;
                        continue;
                    }
                    cov[ia] += (ia as f32 + 1.0 - a) * inv;
                    for v in &mut cov[ia + 1..ib - 1] {
                        *v += inv;
                    }
                    cov[ib - 1] += (b - (ib - 1) as f32) * inv;
                }
            }
            if lo >= hx {
                continue;
            }
            let row = &mut buf[py * wi * 3 + lo * 3..py * wi * 3 + hx * 3];
            for (cv, p) in cov[lo..hx].iter_mut().zip(row.chunks_exact_mut(3)) {
                let a = cv.min(1.0) * alpha;
                *cv = 0.0;
                if a >= 0.999 {
                    p.copy_from_slice(&col);
                } else if a > 0.0 {
                    for (d, s) in p.iter_mut().zip(col) {
                        *d = (f32::from(*d) + (f32::from(s) - f32::from(*d)) * a + 0.5) as u8;
                    }
                }
            }
        }
    }

    fn rect(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, col: Col) {
        let (a, b) = (x0.min(x1) * self.w, x0.max(x1) * self.w);
        let (t, u) = (y0.min(y1) * self.h, y0.max(y1) * self.h);
        self.fill(t, u, col, |_, xs| {
            xs.push(a);
            xs.push(b);
        });
    }

    /// Ellipse with radii as fractions of width (rx) and height (ry).
    fn ellipse(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, col: Col) {
        let (cx, cy, rx, ry) = (cx * self.w, cy * self.h, rx * self.w, ry * self.h);
        if rx <= 0.0 || ry <= 0.0 {
            return;
        }
        self.fill(cy - ry, cy + ry, col, |y, xs| {
            let d = (y - cy) / ry;
            let k = 1.0 - d * d;
            if k > 0.0 {
                let hw = rx * k.sqrt();
                xs.push(cx - hw);
                xs.push(cx + hw);
            }
        });
    }

    /// Circle with radius as a fraction of the height.
    fn circle(&mut self, cx: f32, cy: f32, r: f32, col: Col) {
        let rx = r * self.ar();
        self.ellipse(cx, cy, rx, r, col);
    }

    fn poly(&mut self, pts: &[(f32, f32)], col: Col) {
        let p: Vec<(f32, f32)> = pts.iter().map(|&(x, y)| (x * self.w, y * self.h)).collect();
        self.poly_px(&p, col);
    }

    fn poly_px(&mut self, p: &[(f32, f32)], col: Col) {
        if p.len() < 3 {
            return;
        }
        let y0 = p.iter().map(|q| q.1).fold(f32::MAX, f32::min);
        let y1 = p.iter().map(|q| q.1).fold(f32::MIN, f32::max);
        self.fill(y0, y1, col, |y, xs| {
            for (a, b) in p.iter().zip(p.iter().skip(1).chain(p.first())) {
                if (a.1 <= y) != (b.1 <= y) {
                    xs.push(a.0 + (y - a.1) / (b.1 - a.1) * (b.0 - a.0));
                }
            }
            xs.sort_by(f32::total_cmp);
        });
    }

    /// Straight stroke of thickness `t` (fraction of height).
    fn line(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, t: f32, col: Col) {
        let (ax, ay, bx, by) = (x0 * self.w, y0 * self.h, x1 * self.w, y1 * self.h);
        let (dx, dy) = (bx - ax, by - ay);
        let len = (dx * dx + dy * dy).sqrt().max(1e-3);
        let hw = (t * self.h * 0.5).max(0.4);
        let (nx, ny) = (-dy / len * hw, dx / len * hw);
        self.poly_px(
            &[
                (ax + nx, ay + ny),
                (bx + nx, by + ny),
                (bx - nx, by - ny),
                (ax - nx, ay - ny),
            ],
            col,
        );
    }

    /// Connected strokes through `pts`.
    fn path(&mut self, pts: &[(f32, f32)], t: f32, col: Col) {
        for w in pts.windows(2) {
            self.line(w[0].0, w[0].1, w[1].0, w[1].1, t, col);
        }
    }

    /// Upper half of an ellipse standing on `by` (radii as in `ellipse`).
    fn dome(&mut self, cx: f32, by: f32, rx: f32, ry: f32, col: Col) {
        let pts: Vec<(f32, f32)> = (0..=32)
            .map(|i| {
                let a = std::f32::consts::PI * i as f32 / 32.0;
                (cx + rx * a.cos(), by - ry * a.sin())
            })
            .collect();
        self.poly(&pts, col);
    }

    /// Ellipse outline of thickness `t` (radii as in `ellipse`).
    fn ring(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, t: f32, col: Col) {
        let pts: Vec<(f32, f32)> = (0..=40)
            .map(|i| {
                let a = std::f32::consts::TAU * i as f32 / 40.0;
                (cx + rx * a.cos(), cy + ry * a.sin())
            })
            .collect();
        self.path(&pts, t, col);
    }

    /// Shape drawn at reduced opacity.
    fn with_alpha(&mut self, a: f32, f: impl FnOnce(&mut Canvas)) {
        let old = self.alpha;
        self.alpha = old * a;
        f(self);
        self.alpha = old;
    }
}

// ---------------------------------------------------------------------------
// Shared scenery
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Mood {
    Day,
    Dawn,
    Dusk,
    Night,
    Grey,
    Storm,
}

#[derive(Clone, Copy)]
struct Sky {
    top: Col,
    bot: Col,
    sun: Col,
    night: bool,
}

/// Paints a sky gradient over the whole canvas in one of `moods`.
fn sky(c: &mut Canvas, r: &mut Rng, moods: &[Mood]) -> Sky {
    let m = r.pick(moods);
    let (top, bot, sun) = match m {
        Mood::Day => (0x86a9c0, 0xe3dfd0, 0xf6eed4),
        Mood::Dawn => (0x9fb0c6, 0xefcfae, 0xfbe8c4),
        Mood::Dusk => (0x4f5a7a, 0xe2a982, 0xf7d9a4),
        Mood::Night => (0x151c2b, 0x3b4562, 0xe9e4cf),
        Mood::Grey => (0x8a949b, 0xcfcbc1, 0xe8e4da),
        Mood::Storm => (0x545e69, 0x9aa0a2, 0xd8d6cf),
    };
    let s = Sky {
        top: vary(r, hex(top), 10.0),
        bot: vary(r, hex(bot), 10.0),
        sun: hex(sun),
        night: m == Mood::Night,
    };
    c.vgrad(0.0, 1.0, s.top, s.bot);
    s
}

/// Sun (or moon at night) with a soft halo.
fn sun(c: &mut Canvas, s: &Sky, x: f32, y: f32, rad: f32) {
    c.with_alpha(0.12, |c| c.circle(x, y, rad * 2.0, s.sun));
    c.with_alpha(0.2, |c| c.circle(x, y, rad * 1.4, s.sun));
    c.circle(x, y, rad, s.sun);
    if s.night {
        let shadow = mix(s.sun, s.top, 0.12);
        c.circle(x - rad * 0.3 * c.ar(), y + rad * 0.25, rad * 0.2, shadow);
        c.circle(x + rad * 0.35 * c.ar(), y - rad * 0.2, rad * 0.14, shadow);
    }
}

/// An x position near the left or the right edge.
fn edge_x(r: &mut Rng) -> f32 {
    if r.chance(0.5) {
        r.range(0.06, 0.2)
    } else {
        r.range(0.8, 0.94)
    }
}

/// Colour `col` pushed towards the horizon colour (atmospheric depth).
fn haze(s: &Sky, col: Col, t: f32) -> Col {
    mix(col, s.bot, t)
}

/// Rolling hill silhouette around `base` with amplitude `amp`, down to the bottom.
fn hills(c: &mut Canvas, r: &mut Rng, base: f32, amp: f32, col: Col) {
    let (f1, f2) = (r.range(4.0, 8.0), r.range(11.0, 19.0));
    let (p1, p2) = (r.range(0.0, 6.3), r.range(0.0, 6.3));
    let mut pts: Vec<(f32, f32)> = (0..=48)
        .map(|i| {
            let x = -0.02 + 1.04 * i as f32 / 48.0;
            let v = (x * f1 + p1).sin() * 0.65 + (x * f2 + p2).sin() * 0.35;
            (x, base - amp * (0.5 + 0.5 * v))
        })
        .collect();
    pts.push((1.02, 1.01));
    pts.push((-0.02, 1.01));
    c.poly(&pts, col);
}

/// Grid of windows inside a facade; `p_lit` chance each one glows.
#[allow(clippy::too_many_arguments)]
fn windows(
    c: &mut Canvas,
    r: &mut Rng,
    x0: f32,
    y0: f32,
    x1: f32,
    y1: f32,
    lit: Col,
    dark: Col,
    p_lit: f32,
) {
    let (sx, sy) = (0.022, 0.045);
    let cols = ((x1 - x0 - 0.008) / sx).floor().max(0.0) as u32;
    let rows = ((y1 - y0 - 0.02) / sy).floor().max(0.0) as u32;
    let ox = x0 + (x1 - x0 - cols as f32 * sx) * 0.5;
    for j in 0..rows {
        for i in 0..cols {
            let col = if r.chance(p_lit) { lit } else { dark };
            let (wx, wy) = (ox + i as f32 * sx + sx * 0.22, y0 + 0.02 + j as f32 * sy);
            c.rect(wx, wy, wx + sx * 0.56, wy + sy * 0.55, col);
        }
    }
}

/// Round-crowned tree standing on (x, base), `hgt` tall.
fn round_tree(c: &mut Canvas, x: f32, base: f32, hgt: f32, trunk: Col, leaf: Col) {
    let ar = c.ar();
    c.rect(
        x - hgt * 0.05 * ar,
        base - hgt * 0.5,
        x + hgt * 0.05 * ar,
        base,
        trunk,
    );
    c.circle(x, base - hgt * 0.68, hgt * 0.3, leaf);
    c.circle(x - hgt * 0.17 * ar, base - hgt * 0.55, hgt * 0.2, leaf);
    c.circle(x + hgt * 0.18 * ar, base - hgt * 0.57, hgt * 0.21, leaf);
}

/// Conifer standing on (x, base), `hgt` tall.
fn pine(c: &mut Canvas, x: f32, base: f32, hgt: f32, col: Col) {
    let ar = c.ar();
    c.rect(
        x - hgt * 0.03 * ar,
        base - hgt * 0.2,
        x + hgt * 0.03 * ar,
        base,
        col,
    );
    for k in 0..3 {
        let k = k as f32;
        let top = base - hgt * (0.55 + 0.22 * k);
        let bot = base - hgt * (0.12 + 0.25 * k);
        let hw = hgt * (0.3 - 0.06 * k) * ar;
        c.poly(&[(x - hw, bot), (x, top - hgt * 0.2), (x + hw, bot)], col);
    }
}

/// Simple standing figure (head and shoulders down to `base`), `hgt` tall.
fn person(c: &mut Canvas, x: f32, base: f32, hgt: f32, col: Col) {
    let ar = c.ar();
    let hw = hgt * 0.2 * ar;
    c.circle(x, base - hgt * 0.88, hgt * 0.11, col);
    c.circle(x - hw * 0.55, base - hgt * 0.66, hgt * 0.09, col);
    c.circle(x + hw * 0.55, base - hgt * 0.66, hgt * 0.09, col);
    c.poly(
        &[
            (x - hw, base - hgt * 0.64),
            (x + hw, base - hgt * 0.64),
            (x + hw * 0.8, base),
            (x - hw * 0.8, base),
        ],
        col,
    );
}

/// Row of pitched-roof houses on `base`; returns the wall rectangles.
fn houses(c: &mut Canvas, r: &mut Rng, base: f32, hmin: f32, hmax: f32, col: Col) -> Vec<[f32; 4]> {
    let mut walls = Vec::new();
    let mut x = r.range(-0.06, 0.0);
    while x < 1.0 {
        let w = r.range(0.08, 0.16);
        let top = base - r.range(hmin, hmax);
        let rh = r.range(0.06, 0.12);
        if r.chance(0.6) {
            let cx = x + w * r.range(0.2, 0.75);
            c.rect(cx, top - rh * 0.9, cx + 0.012, top, col);
        }
        c.rect(x, top, x + w, 1.0, col);
        c.poly(
            &[
                (x - 0.008, top + 0.002),
                (x + w * 0.5, top - rh),
                (x + w + 0.008, top + 0.002),
            ],
            col,
        );
        walls.push([x, top, x + w, base]);
        x += w + r.range(0.0, 0.015);
    }
    walls
}

// ---------------------------------------------------------------------------
// Scenes
// ---------------------------------------------------------------------------

/// Generic landscape: hills, sun and a few trees.
fn landscape(c: &mut Canvas, r: &mut Rng) {
    let s = sky(c, r, &[Mood::Day, Mood::Dawn, Mood::Dusk]);
    sun(
        c,
        &s,
        r.range(0.15, 0.85),
        r.range(0.15, 0.35),
        r.range(0.06, 0.09),
    );
    let green = vary(r, hex(0x5f7a4c), 10.0);
    hills(c, r, 0.6, 0.14, haze(&s, green, 0.6));
    hills(c, r, 0.72, 0.12, haze(&s, green, 0.3));
    hills(c, r, 0.86, 0.1, green);
    let dark = mix(green, INK, 0.45);
    for _ in 0..r.int(2, 5) {
        let x = r.range(0.05, 0.95);
        let hgt = r.range(0.16, 0.26);
        round_tree(
            c,
            x,
            r.range(0.9, 0.97),
            hgt,
            mix(dark, hex(0x4a3a2c), 0.5),
            dark,
        );
    }
}

/// Skyline with lit windows.
fn city(c: &mut Canvas, r: &mut Rng) {
    let s = sky(c, r, &[Mood::Day, Mood::Dusk, Mood::Night]);
    sun(
        c,
        &s,
        r.range(0.1, 0.9),
        r.range(0.12, 0.3),
        r.range(0.06, 0.09),
    );
    let far = haze(&s, INK, 0.55);
    let mut x = -0.02;
    while x < 1.0 {
        let bw = r.range(0.04, 0.09);
        let top = r.range(0.3, 0.55);
        c.rect(x, top, x + bw, 1.0, far);
        if r.chance(0.3) {
            c.rect(x + bw * 0.47, top - 0.09, x + bw * 0.53, top, far);
        }
        x += bw * r.range(0.7, 1.0);
    }
    let near = haze(&s, INK, 0.12);
    let lit = if s.night {
        WARM
    } else {
        mix(s.bot, WHITE, 0.4)
    };
    let dark = mix(near, INK, 0.5);
    let p_lit = if s.night { 0.55 } else { 0.35 };
    let mut x = r.range(-0.05, 0.0);
    while x < 1.0 {
        let bw = r.range(0.07, 0.14);
        let top = r.range(0.42, 0.75);
        let col = vary(r, near, 6.0);
        c.rect(x, top, x + bw, 1.0, col);
        match r.int(0, 4) {
            0 => c.rect(x + bw * 0.15, top - 0.06, x + bw * 0.85, top, col),
            1 => c.poly(&[(x, top), (x + bw * 0.5, top - 0.12), (x + bw, top)], col),
            2 => c.rect(x + bw * 0.6, top - 0.05, x + bw * 0.8, top, col),
            _ => {}
        }
        windows(c, r, x, top, x + bw, 0.94, lit, dark, p_lit);
        x += bw + r.range(0.004, 0.02);
    }
    c.rect(0.0, 0.94, 1.0, 1.0, mix(INK, hex(0x000000), 0.3));
}

/// Domed parliament with a colonnade.
fn parliament(c: &mut Canvas, r: &mut Rng) {
    let s = sky(c, r, &[Mood::Day, Mood::Dawn, Mood::Dusk, Mood::Grey]);
    if r.chance(0.7) {
        sun(c, &s, edge_x(r), r.range(0.1, 0.25), 0.06);
    }
    let gy = 0.84;
    c.rect(0.0, gy, 1.0, 1.0, vary(r, hex(0x7d8a68), 8.0));
    c.rect(0.0, gy, 1.0, gy + 0.02, hex(0xb9b2a2));
    let stone = vary(r, hex(0xdcd0b6), 8.0);
    let shadow = mix(stone, INK, 0.4);
    let cx = r.range(0.44, 0.56);
    let ww = r.range(0.34, 0.42);
    let ar = c.ar();
    // Wings.
    c.rect(cx - ww, 0.56, cx + ww, gy, stone);
    c.rect(cx - ww - 0.008, 0.545, cx + ww + 0.008, 0.565, shadow);
    for side in [-1.0_f32, 1.0] {
        let n = 6;
        for i in 0..n {
            let wx = cx + side * (0.14 + i as f32 * (ww - 0.16) / (n - 1) as f32);
            c.rect(wx - 0.009, 0.6, wx + 0.009, 0.66, shadow);
            c.rect(wx - 0.009, 0.71, wx + 0.009, 0.79, shadow);
            c.dome(wx, 0.6, 0.009, 0.012, shadow);
        }
    }
    // Portico.
    let pw = 0.13;
    c.rect(cx - pw, 0.5, cx + pw, gy, shadow);
    c.rect(cx - pw - 0.01, gy - 0.03, cx + pw + 0.01, gy, stone);
    c.rect(
        cx - pw - 0.015,
        gy - 0.015,
        cx + pw + 0.015,
        gy,
        mix(stone, shadow, 0.3),
    );
    let n = 6;
    for i in 0..n {
        let x = cx - pw + 0.012 + i as f32 * (2.0 * pw - 0.024) / (n - 1) as f32;
        c.rect(x - 0.011, 0.51, x + 0.011, gy - 0.03, stone);
        c.rect(x - 0.014, 0.51, x + 0.014, 0.525, stone);
    }
    c.rect(cx - pw - 0.01, 0.48, cx + pw + 0.01, 0.51, stone);
    c.poly(
        &[
            (cx - pw - 0.015, 0.485),
            (cx, 0.39),
            (cx + pw + 0.015, 0.485),
        ],
        stone,
    );
    c.poly(
        &[(cx - pw + 0.02, 0.475), (cx, 0.41), (cx + pw - 0.02, 0.475)],
        mix(stone, shadow, 0.35),
    );
    // Drum and dome.
    let dw = 0.1;
    c.rect(cx - dw, 0.3, cx + dw, 0.4, stone);
    for i in 0..9 {
        let x = cx - dw + 0.012 + i as f32 * (2.0 * dw - 0.024) / 8.0;
        c.rect(x - 0.004, 0.315, x + 0.004, 0.39, shadow);
    }
    c.rect(cx - dw - 0.008, 0.29, cx + dw + 0.008, 0.305, shadow);
    let dome_col = r.pick(&[hex(0x8fa79a), stone, hex(0xb8a070)]);
    let dome_col = vary(r, dome_col, 6.0);
    c.dome(cx, 0.292, dw * 0.92, 0.17, dome_col);
    c.with_alpha(0.25, |c| c.dome(cx + 0.02, 0.292, dw * 0.6, 0.15, WHITE));
    c.rect(cx - 0.012, 0.09, cx + 0.012, 0.13, stone);
    c.dome(cx, 0.09, 0.014, 0.025, dome_col);
    c.line(cx, 0.07, cx, 0.0, 0.004, INK);
    let flag = r.pick(ACCENTS);
    c.rect(cx + 0.002, 0.005, cx + 0.002 + 0.05 * ar * 1.4, 0.04, flag);
}

/// Rain streaks over rooftops, with an umbrella in the foreground.
fn rain(c: &mut Canvas, r: &mut Rng) {
    let s = sky(c, r, &[Mood::Storm, Mood::Grey, Mood::Night]);
    let far = haze(&s, INK, 0.5);
    houses(c, r, 0.8, 0.12, 0.22, far);
    let near = haze(&s, INK, 0.15);
    let walls = houses(c, r, 0.88, 0.1, 0.2, near);
    let lit = if s.night { WARM } else { mix(WARM, s.bot, 0.4) };
    for w in walls {
        if r.chance(0.7) {
            let wx = r.range(w[0] + 0.015, w[2] - 0.04);
            let wy = r.range(w[1] + 0.03, w[3] - 0.12);
            c.rect(
                wx,
                wy,
                wx + 0.025,
                wy + 0.06,
                if r.chance(0.6) {
                    lit
                } else {
                    mix(near, INK, 0.5)
                },
            );
        }
    }
    let street = mix(INK, s.bot, 0.25);
    c.rect(0.0, 0.88, 1.0, 1.0, street);
    // Puddle reflections.
    c.with_alpha(0.25, |c| {
        for _ in 0..5 {
            c.ellipse(
                r.range(0.0, 1.0),
                r.range(0.91, 0.98),
                r.range(0.04, 0.1),
                0.01,
                s.bot,
            );
        }
    });
    // Umbrella walker.
    let ux = r.range(0.2, 0.8);
    let ucol = r.pick(&[hex(0xa9443a), hex(0x2f5573), hex(0xc28f2f)]);
    person(c, ux, 0.99, 0.2, mix(INK, hex(0x000000), 0.3));
    c.line(ux, 0.8, ux, 0.68, 0.006, INK);
    c.dome(ux, 0.78, 0.075, 0.09, ucol);
    for k in 0..4 {
        let x = ux - 0.075 + 0.0375 * (k as f32 + 0.5);
        c.ellipse(x, 0.78, 0.0188, 0.008, ucol);
    }
    c.line(ux, 0.69, ux, 0.66, 0.004, INK);
    // Streaks.
    let drop = mix(s.bot, WHITE, 0.5);
    let slant = r.range(-0.25, 0.25);
    c.with_alpha(0.4, |c| {
        for _ in 0..320 {
            let x = r.range(-0.1, 1.1);
            let y = r.range(-0.1, 1.0);
            let len = r.range(0.04, 0.1);
            c.line(x, y, x + slant * len * 0.5625, y + len, 0.003, drop);
        }
    });
}

/// Stadium bowl under floodlights.
fn stadium(c: &mut Canvas, r: &mut Rng) {
    let s = sky(c, r, &[Mood::Dusk, Mood::Night, Mood::Night]);
    let ar = c.ar();
    let rim = mix(INK, s.top, 0.2);
    // Floodlight masts behind the bowl.
    let masts = [
        r.range(0.04, 0.12),
        r.range(0.3, 0.38),
        r.range(0.62, 0.7),
        r.range(0.88, 0.96),
    ];
    for &mx in &masts {
        let top = r.range(0.08, 0.14);
        c.line(mx, top, mx, 0.5, 0.008, rim);
        c.with_alpha(0.1, |c| c.circle(mx, top, 0.12, WARM));
        c.with_alpha(0.2, |c| c.circle(mx, top, 0.06, WARM));
        c.rect(mx - 0.03, top - 0.035, mx + 0.03, top + 0.01, rim);
        for j in 0..2 {
            for i in 0..4 {
                let x = mx - 0.026 + i as f32 * 0.0135;
                let y = top - 0.03 + j as f32 * 0.02;
                c.rect(x, y, x + 0.01, y + 0.014, hex(0xfdf3d6));
            }
        }
    }
    // Bowl: roof rim, then tiers of seating with a speckled crowd.
    c.ellipse(0.5, 0.8, 0.62, 0.46, rim);
    let seat = tone(r, &[hex(0x8c3b35), hex(0x35557a), hex(0x5d6b4a)], 8.0);
    for k in 0..4 {
        let t = k as f32 / 4.0;
        c.ellipse(
            0.5,
            0.8,
            0.6 - t * 0.1,
            0.42 - t * 0.09,
            mix(seat, INK, 0.15 + 0.12 * (k % 2) as f32),
        );
    }
    let crowd = [WHITE, WARM, hex(0xc9b8a0), mix(seat, WHITE, 0.3)];
    c.with_alpha(0.35, |c| {
        for _ in 0..300 {
            let a = r.range(3.3, 6.1);
            let d = r.range(0.66, 0.98);
            let (x, y) = (0.5 + 0.6 * d * a.cos(), 0.8 + 0.42 * d * a.sin());
            c.circle(x, y, 0.004, r.pick(&crowd));
        }
    });
    // Pitch in perspective with mowing stripes.
    let (g1, g2) = (vary(r, hex(0x4f7d45), 6.0), vary(r, hex(0x5b8b4f), 6.0));
    c.ellipse(0.5, 0.84, 0.44, 0.2, mix(seat, INK, 0.5));
    let (ty, by) = (0.7, 1.02);
    let (tl, tr, bl, br) = (0.22, 0.78, 0.04, 0.96);
    let n = 10;
    for i in 0..n {
        let (a, b) = (i as f32 / n as f32, (i + 1) as f32 / n as f32);
        let lerp = |l: f32, r: f32, t: f32| l + (r - l) * t;
        c.poly(
            &[
                (lerp(tl, tr, a), ty),
                (lerp(tl, tr, b), ty),
                (lerp(bl, br, b), by),
                (lerp(bl, br, a), by),
            ],
            if i % 2 == 0 { g1 } else { g2 },
        );
    }
    let chalk = mix(WHITE, g1, 0.15);
    c.path(
        &[
            (tl + 0.02, ty + 0.01),
            (tr - 0.02, ty + 0.01),
            (br - 0.03, 0.99),
            (bl + 0.03, 0.99),
            (tl + 0.02, ty + 0.01),
        ],
        0.004,
        chalk,
    );
    c.line(0.5, ty + 0.01, 0.5, 0.99, 0.004, chalk);
    c.ring(0.5, 0.84, 0.08 * ar * 1.6, 0.06, 0.004, chalk);
    // Light beams.
    c.with_alpha(0.07, |c| {
        for &mx in &masts {
            c.poly(
                &[
                    (mx - 0.01, 0.12),
                    (mx + 0.01, 0.12),
                    (0.5 + (mx - 0.5) * 0.3 + 0.15, 0.95),
                    (0.5 + (mx - 0.5) * 0.3 - 0.15, 0.95),
                ],
                WARM,
            );
        }
    });
}

/// Market stalls with striped awnings.
fn market(c: &mut Canvas, r: &mut Rng) {
    let s = sky(c, r, &[Mood::Day, Mood::Dawn, Mood::Grey]);
    let back = haze(&s, hex(0x8a7a68), 0.45);
    let walls = houses(c, r, 0.7, 0.15, 0.3, back);
    for w in walls {
        windows(
            c,
            r,
            w[0],
            w[1] + 0.02,
            w[2],
            w[3] - 0.05,
            mix(back, WHITE, 0.3),
            mix(back, INK, 0.4),
            0.3,
        );
    }
    c.rect(0.0, 0.7, 1.0, 1.0, vary(r, hex(0xa39a8a), 6.0));
    c.with_alpha(0.25, |c| {
        for k in 0..6 {
            let y = 0.74 + k as f32 * k as f32 * 0.008;
            c.line(0.0, y, 1.0, y, 0.002, INK);
        }
    });
    let n = r.int(3, 5);
    let sw = 1.0 / n as f32;
    let wood = vary(r, hex(0x7a5a3e), 6.0);
    let fruit = [
        hex(0xd08a34),
        hex(0xb4463a),
        hex(0x7d9a45),
        hex(0xd9b746),
        hex(0x7a3d5c),
    ];
    for k in 0..n {
        let x0 = k as f32 * sw + sw * 0.07;
        let x1 = (k + 1) as f32 * sw - sw * 0.07;
        let top = r.range(0.36, 0.42);
        let a1 = r.pick(ACCENTS);
        let a2 = mix(WHITE, a1, 0.08);
        c.rect(x0 + 0.01, top, x0 + 0.018, 0.86, wood);
        c.rect(x1 - 0.018, top, x1 - 0.01, 0.86, wood);
        c.with_alpha(0.35, |c| c.rect(x0 + 0.02, top + 0.12, x1 - 0.02, 0.7, INK));
        // Awning: stripes widening towards the front, with a scalloped edge.
        let stripes = 8;
        let (ab, at) = (top + 0.12, top);
        let sx = (x1 - x0 + 0.03) / stripes as f32;
        for i in 0..stripes {
            let col = if i % 2 == 0 { a1 } else { a2 };
            let bx = x0 - 0.015 + i as f32 * sx;
            let tx = x0 + 0.01 + i as f32 * (x1 - x0 - 0.02) / stripes as f32;
            let tw = (x1 - x0 - 0.02) / stripes as f32;
            c.poly(&[(tx, at), (tx + tw, at), (bx + sx, ab), (bx, ab)], col);
            c.ellipse(bx + sx * 0.5, ab, sx * 0.5, 0.022, col);
        }
        // Counter with crates of produce.
        c.rect(x0, 0.68, x1, 0.86, wood);
        c.rect(x0, 0.68, x1, 0.70, mix(wood, WHITE, 0.2));
        let crates = 3;
        let cw = (x1 - x0) / crates as f32;
        for i in 0..crates {
            let f = r.pick(&fruit);
            let cx0 = x0 + i as f32 * cw + 0.006;
            let cx1 = cx0 + cw - 0.012;
            let rad = 0.018;
            let step = rad * 1.9 * c.ar();
            let mut x = cx0 + step * 0.5;
            while x < cx1 - step * 0.3 {
                c.circle(x, 0.665, rad, vary(r, f, 10.0));
                c.circle(x + step * 0.5, 0.645, rad, vary(r, f, 10.0));
                x += step;
            }
            c.rect(cx0, 0.665, cx1, 0.7, mix(wood, WHITE, 0.35));
            c.line(cx0, 0.682, cx1, 0.682, 0.003, wood);
        }
    }
    // Shoppers.
    for _ in 0..r.int(2, 5) {
        let col = mix(INK, tone(r, ACCENTS, 6.0), 0.25);
        person(
            c,
            r.range(0.05, 0.95),
            r.range(1.0, 1.08),
            r.range(0.3, 0.38),
            col,
        );
    }
}

/// Sea with waves, a headland and a sailing boat.
fn coast(c: &mut Canvas, r: &mut Rng) {
    let s = sky(c, r, &[Mood::Day, Mood::Dawn, Mood::Dusk]);
    let hy = r.range(0.52, 0.6);
    let sx = r.range(0.25, 0.75);
    sun(c, &s, sx, r.range(0.15, 0.35), r.range(0.06, 0.08));
    let sea_top = mix(s.bot, hex(0x4d7288), 0.55);
    let sea_bot = vary(r, hex(0x2f5468), 6.0);
    c.vgrad(hy, 1.0, sea_top, sea_bot);
    // Sun glitter.
    c.with_alpha(0.35, |c| {
        for k in 0..14 {
            let y = hy + 0.01 + k as f32 * 0.025;
            let w = 0.02 + k as f32 * 0.004 + r.range(0.0, 0.02);
            c.rect(sx - w, y, sx + w, y + 0.006, s.sun);
        }
    });
    // Headland.
    let left = r.chance(0.5);
    let m = |x: f32| if left { x } else { 1.0 - x };
    let rock = vary(r, hex(0x6d6558), 6.0);
    let grass = vary(r, hex(0x6a7d4f), 6.0);
    let w = r.range(0.22, 0.32);
    c.poly(
        &[
            (m(-0.01), hy - 0.2),
            (m(w * 0.6), hy - 0.17),
            (m(w), hy + 0.04),
            (m(-0.01), hy + 0.06),
        ],
        rock,
    );
    c.poly(
        &[
            (m(-0.01), hy - 0.22),
            (m(w * 0.4), hy - 0.2),
            (m(w * 0.62), hy - 0.165),
            (m(w * 0.5), hy - 0.15),
            (m(-0.01), hy - 0.17),
        ],
        grass,
    );
    if r.chance(0.6) {
        let lx = m(w * 0.25);
        c.rect(lx - 0.01, hy - 0.31, lx + 0.01, hy - 0.2, WHITE);
        c.rect(lx - 0.012, hy - 0.33, lx + 0.012, hy - 0.305, hex(0xa9443a));
    }
    // Waves.
    let foam = mix(WHITE, sea_top, 0.2);
    c.with_alpha(0.45, |c| {
        for j in 0..12 {
            let t = j as f32 / 11.0;
            let y = hy + 0.02 + t * t * (0.95 - hy);
            let len = 0.02 + t * 0.06;
            for _ in 0..(6 + j) {
                let x = r.range(-0.05, 1.0);
                c.path(
                    &[(x, y), (x + len * 0.5, y - 0.004 - t * 0.01), (x + len, y)],
                    0.002 + t * 0.004,
                    foam,
                );
            }
        }
    });
    // Sailing boat.
    let bx = r.range(0.35, 0.7);
    let by = hy + r.range(0.1, 0.2);
    let sc = r.range(0.8, 1.3);
    let ar = c.ar();
    let hull = tone(r, &[hex(0x8c3b35), INK, hex(0x35557a)], 6.0);
    let hw = 0.12 * sc * ar;
    c.poly(
        &[
            (bx - hw, by - 0.035 * sc),
            (bx + hw * 1.15, by - 0.035 * sc),
            (bx + hw * 0.8, by),
            (bx - hw * 0.8, by),
        ],
        hull,
    );
    c.line(bx, by - 0.035 * sc, bx, by - 0.33 * sc, 0.005, INK);
    c.poly(
        &[
            (bx - 0.005 * ar, by - 0.32 * sc),
            (bx - 0.005 * ar, by - 0.05 * sc),
            (bx - hw * 0.95, by - 0.05 * sc),
        ],
        WHITE,
    );
    c.poly(
        &[
            (bx + 0.006 * ar, by - 0.3 * sc),
            (bx + 0.006 * ar, by - 0.06 * sc),
            (bx + hw * 1.05, by - 0.06 * sc),
        ],
        mix(WHITE, s.bot, 0.3),
    );
    c.with_alpha(0.3, |c| c.ellipse(bx, by + 0.005, hw * 1.1, 0.008, INK));
    // Gulls.
    for _ in 0..r.int(1, 4) {
        let (gx, gy) = (r.range(0.1, 0.9), r.range(0.1, 0.35));
        let g = 0.012;
        c.path(
            &[
                (gx - g * 2.0, gy - g * 0.4),
                (gx - g, gy - g),
                (gx, gy),
                (gx + g, gy - g),
                (gx + g * 2.0, gy - g * 0.4),
            ],
            0.004,
            INK,
        );
    }
}

/// Snow-capped mountain ranges.
fn mountains(c: &mut Canvas, r: &mut Rng) {
    let s = sky(c, r, &[Mood::Day, Mood::Dawn, Mood::Dusk]);
    sun(
        c,
        &s,
        r.range(0.1, 0.9),
        r.range(0.1, 0.22),
        r.range(0.05, 0.07),
    );
    let rock = vary(r, hex(0x58606e), 8.0);
    let snow = mix(WHITE, s.top, 0.1);
    let ranges = [
        (0.62, 0.2, 0.34, 0.6),
        (0.72, 0.18, 0.28, 0.35),
        (0.84, 0.12, 0.2, 0.1),
    ];
    for (k, &(base, hmin, hmax, hz)) in ranges.iter().enumerate() {
        let col = haze(&s, rock, hz);
        let snow_col = haze(&s, snow, hz * 0.5);
        c.rect(0.0, base, 1.0, 1.0, col);
        let mut x = r.range(-0.15, 0.0);
        while x < 1.1 {
            let h = r.range(hmin, hmax);
            let hw = h * r.range(1.1, 1.6) * c.ar();
            let top = base - h;
            let skew = r.range(-0.3, 0.3) * hw;
            let px = x + skew;
            c.poly(
                &[(x - hw, base + 0.001), (px, top), (x + hw, base + 0.001)],
                col,
            );
            if k < 2 {
                let f = r.range(0.25, 0.4);
                let (lx, rx) = (px + (x - hw - px) * f, px + (x + hw - px) * f);
                let sy = top + h * f;
                let d = h * 0.06;
                c.poly(
                    &[
                        (px, top),
                        (rx, sy),
                        (px + (rx - px) * 0.5, sy - d),
                        (px + (lx - px) * 0.1, sy + d * 0.5),
                        (px + (lx - px) * 0.6, sy - d),
                        (lx, sy),
                    ],
                    snow_col,
                );
            } else {
                c.with_alpha(0.25, |c| {
                    c.poly(
                        &[
                            (px, top),
                            (x + hw, base + 0.001),
                            (x + hw * 0.3, base + 0.001),
                        ],
                        INK,
                    )
                });
            }
            x += hw * r.range(0.9, 1.5);
        }
    }
    let pine_col = mix(hex(0x2f4a3a), INK, 0.3);
    c.rect(0.0, 0.93, 1.0, 1.0, pine_col);
    let mut x = r.range(-0.02, 0.02);
    while x < 1.02 {
        pine(c, x, 0.96, r.range(0.1, 0.18), pine_col);
        x += r.range(0.015, 0.04);
    }
}

/// Green fields with furrows and a tree.
fn field(c: &mut Canvas, r: &mut Rng) {
    let s = sky(c, r, &[Mood::Day, Mood::Dawn, Mood::Day]);
    sun(
        c,
        &s,
        r.range(0.1, 0.9),
        r.range(0.12, 0.3),
        r.range(0.05, 0.08),
    );
    let hy = r.range(0.55, 0.62);
    let green = vary(r, hex(0x6f8a4e), 8.0);
    hills(c, r, hy - 0.01, 0.08, haze(&s, green, 0.55));
    // Hedgerow on the horizon.
    let hedge = haze(&s, mix(green, INK, 0.4), 0.2);
    c.rect(0.0, hy - 0.006, 1.0, hy + 0.01, hedge);
    let mut x = 0.0;
    while x < 1.02 {
        c.circle(x, hy - 0.004, r.range(0.008, 0.018), hedge);
        x += r.range(0.008, 0.02);
    }
    // Furrows converging on a vanishing point.
    let (f1, f2) = if r.chance(0.5) {
        (vary(r, hex(0x8a6f4e), 6.0), vary(r, hex(0x74593d), 6.0))
    } else {
        (vary(r, hex(0x7f9a55), 6.0), vary(r, hex(0x68843f), 6.0))
    };
    let (vx, vy) = (r.range(0.3, 0.7), hy - 0.15);
    let t = (hy + 0.01 - vy) / (1.0 - vy);
    let n = 28;
    for i in 0..n {
        let a = -1.5 + 4.0 * i as f32 / n as f32;
        let b = -1.5 + 4.0 * (i + 1) as f32 / n as f32;
        c.poly(
            &[
                (vx + (a - vx) * t, hy + 0.01),
                (vx + (b - vx) * t, hy + 0.01),
                (b, 1.01),
                (a, 1.01),
            ],
            if i % 2 == 0 { f1 } else { f2 },
        );
    }
    // The tree, and maybe a barn.
    let tx = edge_x(r);
    let dark = mix(green, INK, 0.5);
    round_tree(
        c,
        tx,
        hy + 0.02,
        r.range(0.3, 0.4),
        mix(dark, hex(0x4a3a2c), 0.5),
        dark,
    );
    if r.chance(0.6) {
        let bx = 1.0 - tx + r.range(-0.1, 0.1);
        let barn = vary(r, hex(0x9c4a3a), 6.0);
        c.rect(bx - 0.03, hy - 0.05, bx + 0.03, hy + 0.005, barn);
        c.poly(
            &[
                (bx - 0.036, hy - 0.048),
                (bx, hy - 0.09),
                (bx + 0.036, hy - 0.048),
            ],
            mix(barn, INK, 0.4),
        );
        c.rect(
            bx - 0.008,
            hy - 0.03,
            bx + 0.008,
            hy + 0.005,
            mix(barn, INK, 0.5),
        );
    }
}

/// Courthouse with broad steps, pillars and a pediment bearing scales.
fn court(c: &mut Canvas, r: &mut Rng) {
    let s = sky(c, r, &[Mood::Day, Mood::Grey, Mood::Dawn]);
    let stone = vary(r, hex(0xcfc8b8), 6.0);
    let shadow = mix(stone, INK, 0.45);
    let gy = 0.9;
    c.rect(0.0, gy, 1.0, 1.0, mix(stone, INK, 0.25));
    let cx = r.range(0.45, 0.55);
    let hw = r.range(0.3, 0.36);
    // Steps.
    let steps = 6;
    for i in 0..steps {
        let k = i as f32;
        let y = gy - (k + 1.0) * 0.022;
        let w = hw + 0.08 - k * 0.01;
        c.rect(
            cx - w,
            y,
            cx + w,
            y + 0.022,
            if i % 2 == 0 {
                stone
            } else {
                mix(stone, shadow, 0.25)
            },
        );
    }
    let floor = gy - steps as f32 * 0.022;
    // Dark interior and doors behind the pillars.
    c.rect(cx - hw, 0.4, cx + hw, floor, shadow);
    c.rect(
        cx - 0.03,
        floor - 0.2,
        cx + 0.03,
        floor,
        mix(shadow, INK, 0.5),
    );
    // Pillars.
    let n = 8;
    for i in 0..n {
        let x = cx - hw + 0.02 + i as f32 * (2.0 * hw - 0.04) / (n - 1) as f32;
        c.rect(x - 0.014, 0.42, x + 0.014, floor, stone);
        c.with_alpha(0.2, |c| c.rect(x + 0.004, 0.42, x + 0.014, floor, INK));
        c.rect(x - 0.02, 0.415, x + 0.02, 0.435, stone);
        c.rect(x - 0.019, floor - 0.015, x + 0.019, floor, stone);
    }
    // Entablature and pediment.
    c.rect(cx - hw - 0.02, 0.36, cx + hw + 0.02, 0.415, stone);
    c.rect(cx - hw - 0.02, 0.38, cx + hw + 0.02, 0.386, shadow);
    c.poly(
        &[(cx - hw - 0.03, 0.365), (cx, 0.2), (cx + hw + 0.03, 0.365)],
        stone,
    );
    c.poly(
        &[
            (cx - hw + 0.02, 0.355),
            (cx, 0.225),
            (cx + hw - 0.02, 0.355),
        ],
        mix(stone, shadow, 0.3),
    );
    // Scales of justice.
    let (ex, ey) = (cx, 0.3);
    let ar = c.ar();
    let gold = hex(0xb89a55);
    c.line(ex, ey - 0.055, ex, ey + 0.04, 0.006, gold);
    c.line(
        ex - 0.06 * ar * 1.6,
        ey - 0.035,
        ex + 0.06 * ar * 1.6,
        ey - 0.035,
        0.005,
        gold,
    );
    for side in [-1.0_f32, 1.0] {
        let px = ex + side * 0.06 * ar * 1.6;
        c.line(px, ey - 0.035, px - 0.02 * ar, ey + 0.01, 0.002, gold);
        c.line(px, ey - 0.035, px + 0.02 * ar, ey + 0.01, 0.002, gold);
        c.poly(
            &[
                (px - 0.03 * ar, ey + 0.01),
                (px + 0.03 * ar, ey + 0.01),
                (px + 0.015 * ar, ey + 0.025),
                (px - 0.015 * ar, ey + 0.025),
            ],
            gold,
        );
    }
    c.rect(ex - 0.02 * ar, ey + 0.035, ex + 0.02 * ar, ey + 0.045, gold);
    // Lamps either side of the steps.
    for side in [-1.0_f32, 1.0] {
        let lx = cx + side * (hw + 0.11);
        c.rect(lx - 0.004, 0.68, lx + 0.004, gy, INK);
        c.circle(
            lx,
            0.67,
            0.018,
            if s.top[0] < 90 {
                WARM
            } else {
                mix(WARM, WHITE, 0.5)
            },
        );
    }
}

/// Glass flask: Erlenmeyer (`round == false`) or round-bottomed, partly filled.
fn flask(c: &mut Canvas, x: f32, base: f32, size: f32, round: bool, liquid: Col, glass: Col) {
    let ar = c.ar();
    let rim = mix(glass, INK, 0.55);
    let neck = size * 0.09 * ar;
    if round {
        let rad = size * 0.33;
        let cy = base - rad;
        c.rect(x - neck - 0.003, base - size, x + neck + 0.003, cy, rim);
        c.circle(x, cy, rad + 0.004, rim);
        c.rect(x - neck, base - size + 0.004, x + neck, cy, glass);
        c.circle(x, cy, rad, glass);
        let level = cy - rad * 0.1;
        let th = ((level - cy) / rad).clamp(-1.0, 1.0).asin();
        let pts: Vec<(f32, f32)> = (0..=24)
            .map(|i| {
                let a = th + (std::f32::consts::PI - 2.0 * th) * i as f32 / 24.0;
                (x + rad * ar * a.cos(), cy + rad * a.sin())
            })
            .collect();
        c.poly(&pts, liquid);
    } else {
        let (sh, bw) = (base - size * 0.6, size * 0.42 * ar);
        let o = 0.004;
        c.rect(
            x - neck - o * ar,
            base - size,
            x + neck + o * ar,
            sh + 0.01,
            rim,
        );
        c.poly(
            &[
                (x - neck - o * ar, sh - o),
                (x + neck + o * ar, sh - o),
                (x + bw + o * ar, base),
                (x - bw - o * ar, base),
            ],
            rim,
        );
        c.rect(x - neck, base - size + 0.004, x + neck, sh + 0.01, glass);
        c.poly(
            &[
                (x - neck, sh),
                (x + neck, sh),
                (x + bw, base - o),
                (x - bw, base - o),
            ],
            glass,
        );
        let ly = base - size * 0.28;
        let lw = neck + (bw - neck) * (ly - sh) / (base - sh);
        c.poly(
            &[
                (x - lw, ly),
                (x + lw, ly),
                (x + bw, base - o),
                (x - bw, base - o),
            ],
            liquid,
        );
    }
    c.rect(
        x - neck - 0.004 * ar,
        base - size - 0.006,
        x + neck + 0.004 * ar,
        base - size + 0.004,
        rim,
    );
    c.with_alpha(0.45, |c| {
        c.rect(
            x - neck * 0.5,
            base - size * 0.9,
            x - neck * 0.1,
            base - size * 0.65,
            WHITE,
        )
    });
}

/// Flasks and bottles on a lab bench.
fn laboratory(c: &mut Canvas, r: &mut Rng) {
    let wall = tone(r, &[hex(0xc9d3cf), hex(0xd8d2c2), hex(0xbfcad3)], 6.0);
    c.vgrad(0.0, 1.0, mix(wall, WHITE, 0.15), mix(wall, INK, 0.12));
    c.with_alpha(0.12, |c| {
        for k in 0..12 {
            let y = k as f32 * 0.06;
            c.line(0.0, y, 1.0, y, 0.002, INK);
        }
        for k in 0..22 {
            let x = k as f32 * 0.05;
            c.line(x, 0.0, x, 0.66, 0.002, INK);
        }
    });
    let ar = c.ar();
    let glass = mix(wall, WHITE, 0.55);
    let liquids = [
        hex(0x4f8a7d),
        hex(0xc0603e),
        hex(0x6b5b9a),
        hex(0xd4a93c),
        hex(0x5f8fb4),
    ];
    // Shelf with bottles.
    let sy = r.range(0.24, 0.3);
    let wood = vary(r, hex(0x8a6a4a), 6.0);
    c.rect(0.05, sy, 0.95, sy + 0.02, wood);
    let mut x = r.range(0.08, 0.12);
    while x < 0.9 {
        let h = r.range(0.06, 0.12);
        let w = r.range(0.02, 0.035);
        let col = mix(r.pick(&liquids), INK, 0.3);
        c.rect(x, sy - h, x + w, sy, col);
        c.rect(x + w * 0.3, sy - h - 0.02, x + w * 0.7, sy - h, col);
        c.rect(x + w * 0.1, sy - h * 0.7, x + w * 0.9, sy - h * 0.35, WHITE);
        x += w + r.range(0.01, 0.05);
    }
    // Bench.
    let by = r.range(0.68, 0.72);
    let top = vary(r, hex(0x3c444c), 6.0);
    c.rect(0.02, by, 0.98, by + 0.035, top);
    let cab = vary(r, hex(0x7d8f8a), 6.0);
    c.rect(0.05, by + 0.035, 0.95, 1.0, cab);
    for k in 0..4 {
        let x0 = 0.07 + k as f32 * 0.22;
        c.rect(x0, by + 0.06, x0 + 0.2, 0.98, mix(cab, WHITE, 0.12));
        c.rect(x0 + 0.08, by + 0.08, x0 + 0.12, by + 0.09, INK);
    }
    // Glassware.
    let n = r.int(3, 5);
    let step = 0.8 / n as f32;
    for i in 0..n {
        let x = 0.14 + i as f32 * step + r.range(-0.03, 0.03);
        let liquid = r.pick(&liquids);
        match r.int(0, 3) {
            0 => flask(c, x, by, r.range(0.22, 0.3), false, liquid, glass),
            1 => {
                let size = r.range(0.26, 0.32);
                flask(c, x, by - 0.01, size, true, liquid, glass);
                c.rect(x - 0.05 * ar, by - 0.012, x + 0.05 * ar, by, INK);
            }
            _ => {
                // Rack of test tubes.
                let w = 0.14 * ar * 1.5;
                for k in 0..4 {
                    let tx = x - w * 0.4 + k as f32 * w * 0.27;
                    let col = r.pick(&liquids);
                    c.rect(
                        tx - 0.008,
                        by - 0.17,
                        tx + 0.008,
                        by - 0.03,
                        mix(glass, INK, 0.3),
                    );
                    c.rect(tx - 0.006, by - 0.11, tx + 0.006, by - 0.03, col);
                    c.circle(tx, by - 0.03, 0.008 / ar, col);
                }
                c.rect(x - w * 0.55, by - 0.06, x + w * 0.55, by - 0.045, wood);
                c.rect(x - w * 0.55, by - 0.015, x + w * 0.55, by, wood);
                c.rect(x - w * 0.55, by - 0.06, x - w * 0.5, by, wood);
                c.rect(x + w * 0.5, by - 0.06, x + w * 0.55, by, wood);
            }
        }
        if r.chance(0.5) {
            c.with_alpha(0.5, |c| {
                for k in 0..4 {
                    c.circle(
                        x + r.range(-0.01, 0.01),
                        by - 0.33 - k as f32 * 0.04,
                        0.006 + k as f32 * 0.002,
                        glass,
                    );
                }
            });
        }
    }
}

/// Train with carriages on a track.
fn train(c: &mut Canvas, r: &mut Rng) {
    let s = sky(c, r, &[Mood::Day, Mood::Dawn, Mood::Dusk, Mood::Grey]);
    if r.chance(0.6) {
        sun(c, &s, r.range(0.1, 0.9), r.range(0.1, 0.25), 0.06);
    }
    let green = vary(r, hex(0x6f8a4e), 8.0);
    hills(c, r, 0.58, 0.12, haze(&s, green, 0.55));
    hills(c, r, 0.68, 0.06, haze(&s, green, 0.25));
    let ty = r.range(0.76, 0.8);
    c.rect(0.0, ty, 1.0, 1.0, green);
    // Ballast, sleepers, rail.
    let ballast = vary(r, hex(0x8b8478), 6.0);
    c.rect(0.0, ty + 0.02, 1.0, ty + 0.07, ballast);
    let mut x = 0.0;
    while x < 1.0 {
        c.rect(x, ty + 0.035, x + 0.012, ty + 0.055, mix(ballast, INK, 0.5));
        x += 0.025;
    }
    c.rect(0.0, ty + 0.028, 1.0, ty + 0.036, mix(INK, WHITE, 0.3));
    // Catenary poles.
    let pole = haze(&s, INK, 0.2);
    let electric = r.chance(0.5);
    if electric {
        let mut px = r.range(0.0, 0.2);
        while px < 1.0 {
            c.rect(px - 0.004, ty - 0.42, px + 0.004, ty + 0.03, pole);
            c.line(px, ty - 0.4, px + 0.05, ty - 0.4, 0.005, pole);
            px += 0.3;
        }
        c.line(0.0, ty - 0.37, 1.0, ty - 0.37, 0.003, pole);
    }
    // The train.
    let body = tone(
        r,
        &[hex(0xb5533c), hex(0x3f5d7d), hex(0xcbbf9f), hex(0x5d7a5c)],
        6.0,
    );
    let stripe = if body[0] > 180 {
        hex(0x3f5d7d)
    } else {
        mix(WHITE, body, 0.2)
    };
    let (bt, bb) = (ty - 0.26, ty - 0.02);
    let flip = r.chance(0.5);
    let fx = |x: f32| if flip { 1.0 - x } else { x };
    let cars = r.int(2, 4);
    let cw = 0.3;
    let front = r.range(0.75, 0.95);
    let ar = c.ar();
    for k in 0..=cars {
        let x1 = front - k as f32 * (cw + 0.012);
        let x0 = x1 - cw;
        let (a, b) = (fx(x0).min(fx(x1)), fx(x0).max(fx(x1)));
        if k == 0 {
            // Locomotive with a sloped nose.
            let nose = [
                (x0, bt),
                (x1 - 0.05, bt),
                (x1 + 0.04, bb - 0.06),
                (x1 + 0.04, bb),
                (x0, bb),
            ];
            let pts: Vec<(f32, f32)> = nose.iter().map(|&(x, y)| (fx(x), y)).collect();
            c.poly(&pts, body);
            let win = [
                (x1 - 0.07, bt + 0.02),
                (x1 - 0.045, bt + 0.02),
                (x1 + 0.015, bb - 0.08),
                (x1 - 0.07, bb - 0.08),
            ];
            let pts: Vec<(f32, f32)> = win.iter().map(|&(x, y)| (fx(x), y)).collect();
            c.poly(&pts, INK);
            c.rect(fx(x0), bb - 0.07, fx(x1 + 0.03), bb - 0.05, stripe);
            c.circle(fx(x1 + 0.02), bb - 0.025, 0.01, WARM);
        } else {
            c.rect(a, bt, b, bb, body);
            c.rect(a, bb - 0.07, b, bb - 0.05, stripe);
            let mut wx = a + 0.02;
            while wx + 0.035 < b - 0.01 {
                c.rect(wx, bt + 0.035, wx + 0.035, bt + 0.11, mix(INK, s.top, 0.25));
                wx += 0.047;
            }
            c.rect(a + 0.004, bt, b - 0.004, bt + 0.012, mix(body, INK, 0.2));
        }
        // Bogies.
        for &bx in &[x0 + 0.06, x1 - 0.06] {
            let bx = fx(bx);
            c.rect(bx - 0.045, bb - 0.005, bx + 0.045, bb + 0.015, INK);
            c.circle(bx - 0.025, bb + 0.015, 0.016, mix(INK, WHITE, 0.15));
            c.circle(bx + 0.025, bb + 0.015, 0.016, mix(INK, WHITE, 0.15));
        }
        if k > 0 {
            let g = fx(x1 + 0.006);
            c.rect(g - 0.006, bt + 0.04, g + 0.006, bb - 0.02, INK);
        }
    }
    if electric {
        let px = fx(front - 0.12);
        c.path(
            &[
                (px - 0.03 * ar, bt),
                (px + 0.02 * ar, bt - 0.06),
                (px - 0.01 * ar, ty - 0.37),
            ],
            0.004,
            INK,
        );
    }
}

/// Lanterns and bunting over a crowd.
fn festival(c: &mut Canvas, r: &mut Rng) {
    let s = sky(c, r, &[Mood::Dusk, Mood::Night, Mood::Dusk]);
    let ar = c.ar();
    // Ferris wheel or fireworks in the distance.
    let far = haze(&s, INK, 0.45);
    if r.chance(0.6) {
        let (wx, wr) = (edge_x(r), r.range(0.25, 0.32));
        let wy = 0.82 - wr;
        c.ring(wx, wy, wr * ar, wr, 0.006, far);
        for k in 0..12 {
            let a = k as f32 * std::f32::consts::TAU / 12.0;
            let (px, py) = (wx + wr * ar * a.cos(), wy + wr * a.sin());
            c.line(wx, wy, px, py, 0.003, far);
            c.circle(px, py + 0.02, 0.018, mix(far, r.pick(ACCENTS), 0.5));
        }
        c.poly(
            &[
                (wx, wy),
                (wx - wr * ar * 0.6, 0.9),
                (wx + wr * ar * 0.6, 0.9),
            ],
            far,
        );
    }
    c.with_alpha(0.8, |c| {
        for _ in 0..r.int(1, 4) {
            let (fx, fy, fr) = (r.range(0.1, 0.9), r.range(0.1, 0.3), r.range(0.06, 0.1));
            let col = mix(r.pick(ACCENTS), WHITE, 0.35);
            for k in 0..16 {
                let a = k as f32 * std::f32::consts::TAU / 16.0;
                let (dx, dy) = (a.cos() * ar, a.sin());
                c.line(
                    fx + dx * fr * 0.35,
                    fy + dy * fr * 0.35,
                    fx + dx * fr,
                    fy + dy * fr,
                    0.003,
                    col,
                );
            }
        }
    });
    // Strings of bunting and lanterns.
    let strings = r.int(2, 4);
    for k in 0..strings {
        let y0 = r.range(0.02, 0.2) + k as f32 * 0.1;
        let y1 = r.range(0.02, 0.2) + k as f32 * 0.1;
        let sag = r.range(0.08, 0.16);
        let at = |t: f32| (t, y0 + (y1 - y0) * t + sag * 4.0 * t * (1.0 - t));
        let pts: Vec<(f32, f32)> = (0..=30).map(|i| at(i as f32 / 30.0)).collect();
        c.path(&pts, 0.003, INK);
        let lanterns = k % 2 == 1;
        let n = if lanterns { 9 } else { 22 };
        for i in 0..n {
            let t = (i as f32 + 0.5) / n as f32;
            let (x, y) = at(t);
            let col = r.pick(ACCENTS);
            if lanterns {
                let glow = mix(col, WARM, 0.5);
                c.with_alpha(0.18, |c| c.circle(x, y + 0.05, 0.06, glow));
                c.line(x, y, x, y + 0.02, 0.003, INK);
                c.ellipse(x, y + 0.05, 0.028 * ar, 0.034, mix(glow, WHITE, 0.15));
                c.rect(x - 0.012 * ar, y + 0.014, x + 0.012 * ar, y + 0.022, INK);
                c.rect(x - 0.012 * ar, y + 0.078, x + 0.012 * ar, y + 0.086, INK);
            } else {
                let hw = 0.45 / n as f32 * 0.42;
                c.poly(
                    &[(x - hw, y - 0.002), (x + hw, y + 0.002), (x, y + 0.06)],
                    col,
                );
            }
        }
    }
    // Crowd: a paler back row, then a darker front row with a few raised arms.
    let back = mix(INK, s.top, 0.45);
    let mut x = -0.02;
    while x < 1.02 {
        person(c, x, 0.98, r.range(0.2, 0.25), back);
        x += r.range(0.035, 0.055);
    }
    let crowd = mix(INK, s.top, 0.1);
    c.rect(0.0, 0.95, 1.0, 1.0, crowd);
    let mut x = -0.02;
    while x < 1.02 {
        let h = r.range(0.28, 0.36);
        person(c, x, 1.06, h, crowd);
        if r.chance(0.2) {
            let side = if r.chance(0.5) { -1.0 } else { 1.0 };
            let sx = x + side * h * 0.15 * c.ar();
            c.line(
                sx,
                1.06 - h * 0.62,
                sx + side * 0.02,
                1.06 - h * 1.05,
                0.016,
                crowd,
            );
        }
        x += r.range(0.05, 0.08);
    }
}

/// Layered conifers fading into mist.
fn forest(c: &mut Canvas, r: &mut Rng) {
    let s = sky(c, r, &[Mood::Day, Mood::Dawn, Mood::Grey, Mood::Dusk]);
    sun(c, &s, r.range(0.15, 0.85), r.range(0.12, 0.3), 0.07);
    let tree = tone(r, &[hex(0x2f4a3a), hex(0x34483f), hex(0x3d4a34)], 6.0);
    let layers = 5;
    for k in 0..layers {
        let t = k as f32 / (layers - 1) as f32;
        let col = haze(&s, tree, 0.75 * (1.0 - t));
        let base = 0.48 + t * 0.57;
        c.rect(0.0, base - 0.01, 1.0, 1.0, col);
        let mut x = r.range(-0.03, 0.0);
        while x < 1.03 {
            let h = r.range(0.12, 0.22) * (0.6 + t * 1.6);
            pine(c, x, base + r.range(-0.01, 0.01), h, col);
            x += h * r.range(0.18, 0.35) * c.ar();
        }
        if k < layers - 1 {
            c.with_alpha(0.18, |c| c.rect(0.0, base - 0.05, 1.0, base + 0.02, s.bot));
        }
    }
    // Sunbeams.
    let bx = r.range(0.2, 0.8);
    c.with_alpha(0.06, |c| {
        for k in 0..3 {
            let x = bx + k as f32 * 0.08;
            c.poly(
                &[(x, 0.0), (x + 0.04, 0.0), (x - 0.1, 1.0), (x - 0.22, 1.0)],
                s.sun,
            );
        }
    });
}

/// A river curving between green banks.
fn river(c: &mut Canvas, r: &mut Rng) {
    let s = sky(c, r, &[Mood::Day, Mood::Dawn, Mood::Dusk]);
    sun(c, &s, r.range(0.15, 0.85), r.range(0.12, 0.3), 0.065);
    let hy = r.range(0.5, 0.56);
    let green = vary(r, hex(0x6f8a4e), 8.0);
    hills(c, r, hy, 0.1, haze(&s, green, 0.6));
    c.vgrad(hy, 1.0, haze(&s, green, 0.35), mix(green, INK, 0.1));
    let (cx, amp, freq, ph) = (
        r.range(0.4, 0.6),
        r.range(0.12, 0.2),
        r.range(4.0, 6.0),
        r.range(0.0, 6.3),
    );
    let at = |t: f32| {
        let y = hy + (1.02 - hy) * t;
        let x = cx + amp * (t * freq + ph).sin() * (0.3 + t);
        let w = 0.008 + 0.32 * t * t;
        (x, y, w)
    };
    let n = 48;
    let mut bank: Vec<(f32, f32)> = Vec::new();
    let mut left: Vec<(f32, f32)> = Vec::new();
    let mut right: Vec<(f32, f32)> = Vec::new();
    for i in 0..=n {
        let (x, y, w) = at(i as f32 / n as f32);
        left.push((x - w - 0.01, y));
        right.push((x + w + 0.01, y));
    }
    bank.extend(left.iter().copied());
    bank.extend(right.iter().rev().copied());
    c.poly(&bank, hex(0x9a8a6a));
    let water_top = mix(s.bot, hex(0x6d8fa3), 0.4);
    let water_bot = vary(r, hex(0x44687e), 6.0);
    for i in 0..n {
        let (x0, y0, w0) = at(i as f32 / n as f32);
        let (x1, y1, w1) = at((i + 1) as f32 / n as f32);
        let col = mix(water_top, water_bot, i as f32 / n as f32);
        c.poly(
            &[
                (x0 - w0, y0),
                (x0 + w0, y0),
                (x1 + w1, y1 + 0.001),
                (x1 - w1, y1 + 0.001),
            ],
            col,
        );
    }
    c.with_alpha(0.35, |c| {
        for _ in 0..25 {
            let t = r.range(0.1, 1.0);
            let (x, y, w) = at(t);
            let off = r.range(-0.6, 0.6) * w;
            c.line(
                x + off - w * 0.15,
                y,
                x + off + w * 0.15,
                y,
                0.002 + t * 0.003,
                WHITE,
            );
        }
    });
    // Trees along the banks.
    let dark = mix(green, INK, 0.45);
    for _ in 0..r.int(6, 10) {
        let t = r.range(0.05, 0.8);
        let (x, y, w) = at(t);
        let side = if r.chance(0.5) { -1.0 } else { 1.0 };
        let tx = x + side * (w + r.range(0.05, 0.2) * (0.3 + t));
        let h = 0.06 + 0.35 * t;
        if r.chance(0.5) {
            pine(c, tx, y, h, haze(&s, dark, 0.4 * (1.0 - t)));
        } else {
            round_tree(
                c,
                tx,
                y,
                h,
                mix(dark, hex(0x4a3a2c), 0.5),
                haze(&s, dark, 0.4 * (1.0 - t)),
            );
        }
    }
}

/// Stars, a moon and a dark horizon.
fn night_sky(c: &mut Canvas, r: &mut Rng) {
    let top = vary(r, hex(0x0f1524), 5.0);
    let bot = vary(r, hex(0x2f3a58), 8.0);
    c.vgrad(0.0, 1.0, top, bot);
    let s = Sky {
        top,
        bot,
        sun: hex(0xeee8d2),
        night: true,
    };
    // Milky way: a faint glow and a dense drift of tiny stars along a band.
    let (y0, y1) = (r.range(0.0, 0.5), r.range(0.0, 0.5));
    let band = hex(0xc8c6e0);
    c.with_alpha(0.025, |c| {
        for _ in 0..60 {
            let t = r.f();
            let y = y0 + (y1 - y0) * t + r.range(-0.05, 0.05);
            c.circle(t * 1.1 - 0.05, y, r.range(0.06, 0.12), band);
        }
    });
    c.with_alpha(0.5, |c| {
        for _ in 0..500 {
            let t = r.f();
            let off = (r.f() - r.f()) * 0.12;
            c.circle(t * 1.1 - 0.05, y0 + (y1 - y0) * t + off, 0.0012, band);
        }
    });
    let star = hex(0xf3f0e2);
    for _ in 0..260 {
        let (x, y) = (r.f(), r.f() * 0.8);
        let b = r.f();
        c.with_alpha(0.4 + 0.6 * b, |c| {
            c.circle(x, y, 0.0015 + 0.003 * b * b, star)
        });
        if b > 0.97 {
            c.with_alpha(0.6, |c| {
                c.line(x - 0.012, y, x + 0.012, y, 0.0015, star);
                c.line(x, y - 0.02, x, y + 0.02, 0.0015, star);
            });
        }
    }
    let (mx, my) = (r.range(0.15, 0.85), r.range(0.12, 0.3));
    let mr = r.range(0.07, 0.1);
    if r.chance(0.5) {
        sun(c, &s, mx, my, mr);
    } else {
        c.with_alpha(0.12, |c| c.circle(mx, my, mr * 1.8, s.sun));
        c.circle(mx, my, mr, s.sun);
        let off = mix(top, bot, my);
        c.circle(mx + mr * 0.45 * c.ar(), my - mr * 0.15, mr * 0.92, off);
    }
    if r.chance(0.6) {
        let (sx, sy) = (r.range(0.1, 0.7), r.range(0.05, 0.3));
        for k in 0..6 {
            let t = k as f32 / 6.0;
            c.with_alpha(0.15 + 0.15 * t, |c| {
                c.line(
                    sx + t * 0.15,
                    sy + t * 0.06,
                    sx + (t + 0.17) * 0.15,
                    sy + (t + 0.17) * 0.06,
                    0.002 + t * 0.002,
                    star,
                )
            });
        }
    }
    let land = mix(hex(0x0b0f18), bot, 0.2);
    hills(c, r, 0.82, 0.1, land);
    let mut x = r.range(0.0, 0.3);
    while x < 1.0 {
        pine(c, x, 0.86 + r.range(0.0, 0.04), r.range(0.08, 0.16), land);
        x += r.range(0.02, 0.2);
    }
    if r.chance(0.6) {
        let hx = r.range(0.2, 0.8);
        c.rect(hx - 0.03, 0.83, hx + 0.03, 0.9, land);
        c.poly(
            &[(hx - 0.038, 0.835), (hx, 0.79), (hx + 0.038, 0.835)],
            land,
        );
        c.rect(hx - 0.012, 0.85, hx + 0.004, 0.87, WARM);
    }
}

/// Chimneys with drifting smoke over a sawtooth-roofed works.
fn factory(c: &mut Canvas, r: &mut Rng) {
    let s = sky(c, r, &[Mood::Grey, Mood::Dusk, Mood::Storm, Mood::Dawn]);
    let far = haze(&s, INK, 0.6);
    let mut x = -0.02;
    while x < 1.0 {
        let w = r.range(0.04, 0.1);
        c.rect(x, r.range(0.45, 0.6), x + w, 1.0, far);
        x += w;
    }
    let brick = tone(r, &[hex(0x8a5544), hex(0x7a6a5a), hex(0x6d5a52)], 6.0);
    let dark = mix(brick, INK, 0.5);
    let wind = r.range(0.5, 1.5) * if r.chance(0.5) { 1.0 } else { -1.0 };
    // Chimneys (drawn first so the works sits in front of their bases).
    let n = r.int(2, 5);
    let mut tops = Vec::new();
    for i in 0..n {
        let cx = 0.1 + (i as f32 + r.range(0.2, 0.8)) * 0.8 / n as f32;
        let top = r.range(0.12, 0.3);
        let (wt, wb) = (0.014, 0.022);
        c.poly(
            &[
                (cx - wt, top),
                (cx + wt, top),
                (cx + wb, 0.7),
                (cx - wb, 0.7),
            ],
            dark,
        );
        c.rect(
            cx - wt - 0.003,
            top,
            cx + wt + 0.003,
            top + 0.015,
            mix(dark, INK, 0.3),
        );
        for k in 0..2 {
            let y = top + 0.035 + k as f32 * 0.035;
            c.rect(
                cx - wt - 0.001,
                y,
                cx + wt + 0.001,
                y + 0.015,
                hex(0xb5533c),
            );
        }
        tops.push((cx, top));
    }
    // Smoke.
    let smoke = mix(s.bot, WHITE, 0.3);
    let smoke_dark = mix(s.top, INK, 0.1);
    for &(cx, top) in &tops {
        for k in 0..16 {
            let t = k as f32 / 15.0;
            let x = cx + wind * t * 0.25 + r.range(-0.01, 0.01);
            let y = top - 0.02 - t * 0.22 + r.range(-0.01, 0.01);
            let col = mix(smoke_dark, smoke, r.f());
            c.with_alpha(0.75 - 0.55 * t, |c| c.circle(x, y, 0.02 + t * 0.05, col));
        }
    }
    // The works.
    let (wt, wb) = (0.55, 0.92);
    c.rect(0.0, wt, 1.0, wb, brick);
    let teeth = r.int(6, 10);
    let tw = 1.0 / teeth as f32;
    for k in 0..teeth {
        let x0 = k as f32 * tw;
        c.poly(
            &[
                (x0, wt + 0.001),
                (x0, wt - 0.09),
                (x0 + tw * 0.25, wt - 0.09),
                (x0 + tw, wt + 0.001),
            ],
            brick,
        );
        c.rect(
            x0 + 0.004,
            wt - 0.085,
            x0 + tw * 0.22,
            wt - 0.01,
            mix(s.bot, WHITE, 0.2),
        );
    }
    let lit = if s.top[0] < 95 {
        WARM
    } else {
        mix(brick, WHITE, 0.35)
    };
    for k in 0..(teeth * 2) {
        let x0 = (k as f32 + 0.2) * tw * 0.5;
        c.rect(x0, wt + 0.06, x0 + tw * 0.3, wt + 0.18, mix(lit, dark, 0.3));
        c.line(x0, wt + 0.12, x0 + tw * 0.3, wt + 0.12, 0.004, dark);
    }
    // Tanks and fence.
    if r.chance(0.6) {
        let tx = r.range(0.1, 0.9);
        let tank = mix(hex(0x9aa3a8), INK, 0.2);
        c.rect(tx - 0.06, 0.7, tx + 0.06, wb, tank);
        c.dome(tx, 0.7, 0.06, 0.04, tank);
    }
    c.rect(0.0, wb, 1.0, 1.0, mix(INK, s.bot, 0.2));
    c.rect(0.0, wb - 0.04, 1.0, wb - 0.035, INK);
    let mut x = 0.0;
    while x < 1.0 {
        c.rect(x, wb - 0.06, x + 0.003, wb, INK);
        x += 0.015;
    }
}

/// A hospital block with a red cross sign.
fn hospital(c: &mut Canvas, r: &mut Rng) {
    let s = sky(c, r, &[Mood::Day, Mood::Dawn, Mood::Grey]);
    if r.chance(0.6) {
        sun(c, &s, edge_x(r), r.range(0.1, 0.2), 0.06);
    }
    let gy = 0.86;
    c.rect(0.0, gy, 1.0, 1.0, vary(r, hex(0x7f8c6e), 6.0));
    let wall = tone(r, &[hex(0xe6e2d8), hex(0xdcdfe0), hex(0xe4dccb)], 4.0);
    let glass = mix(hex(0x5d7f96), s.top, 0.3);
    let frame = mix(wall, INK, 0.25);
    let cx = r.range(0.4, 0.6);
    // Wings.
    c.rect(cx - 0.42, 0.42, cx + 0.42, gy, wall);
    c.rect(cx - 0.42, 0.41, cx + 0.42, 0.43, frame);
    for row in 0..4 {
        let y = 0.47 + row as f32 * 0.085;
        c.rect(cx - 0.4, y, cx + 0.4, y + 0.045, glass);
        let mut x = cx - 0.4;
        while x < cx + 0.4 {
            c.rect(x, y, x + 0.004, y + 0.045, wall);
            x += 0.04;
        }
    }
    // Central tower with the cross.
    let tw = 0.1;
    c.rect(cx - tw, 0.16, cx + tw, gy, wall);
    c.rect(cx - tw - 0.005, 0.15, cx + tw + 0.005, 0.17, frame);
    let ar = c.ar();
    let (kx, ky, ks) = (cx, 0.28, 0.085);
    c.rect(kx - ks * ar, ky - ks, kx + ks * ar, ky + ks, WHITE);
    let red = vary(r, hex(0xb8372f), 4.0);
    c.rect(
        kx - ks * 0.3 * ar,
        ky - ks * 0.8,
        kx + ks * 0.3 * ar,
        ky + ks * 0.8,
        red,
    );
    c.rect(
        kx - ks * 0.8 * ar,
        ky - ks * 0.3,
        kx + ks * 0.8 * ar,
        ky + ks * 0.3,
        red,
    );
    for row in 0..3 {
        let y = 0.42 + row as f32 * 0.1;
        for col in 0..3 {
            let x = cx - tw + 0.02 + col as f32 * 0.062;
            c.rect(x, y, x + 0.035, y + 0.06, glass);
        }
    }
    // Entrance canopy and doors.
    c.rect(cx - 0.07, gy - 0.09, cx + 0.07, gy, mix(glass, INK, 0.3));
    c.rect(cx - 0.13, gy - 0.115, cx + 0.13, gy - 0.095, frame);
    // Ambulance.
    let ax = if cx < 0.5 {
        r.range(0.7, 0.85)
    } else {
        r.range(0.15, 0.3)
    };
    let ay = 0.97;
    c.rect(ax - 0.09, ay - 0.12, ax + 0.06, ay - 0.02, WHITE);
    c.poly(
        &[
            (ax + 0.06, ay - 0.1),
            (ax + 0.1, ay - 0.06),
            (ax + 0.1, ay - 0.02),
            (ax + 0.06, ay - 0.02),
        ],
        WHITE,
    );
    c.poly(
        &[
            (ax + 0.065, ay - 0.095),
            (ax + 0.092, ay - 0.062),
            (ax + 0.065, ay - 0.062),
        ],
        glass,
    );
    c.rect(ax - 0.09, ay - 0.06, ax + 0.1, ay - 0.045, red);
    c.rect(ax - 0.04, ay - 0.11, ax - 0.028, ay - 0.07, red);
    c.rect(ax - 0.052, ay - 0.096, ax - 0.016, ay - 0.084, red);
    c.rect(ax - 0.01, ay - 0.135, ax + 0.02, ay - 0.12, hex(0x4f7ab0));
    for &wx in &[ax - 0.06, ax + 0.06] {
        c.circle(wx, ay - 0.02, 0.024, INK);
        c.circle(wx, ay - 0.02, 0.01, hex(0x9aa3a8));
    }
    // Trees.
    let leaf = mix(hex(0x5d7a4c), INK, 0.25);
    for &tx in &[cx - 0.46, cx + 0.46] {
        round_tree(c, tx, gy + 0.02, r.range(0.2, 0.28), hex(0x4a3a2c), leaf);
    }
}

/// Blackboard with chalk marks above rows of desks.
fn classroom(c: &mut Canvas, r: &mut Rng) {
    let wall = tone(r, &[hex(0xd9cfb6), hex(0xc8d1c4), hex(0xd6c9b9)], 6.0);
    c.vgrad(0.0, 0.72, mix(wall, WHITE, 0.1), wall);
    let floor = vary(r, hex(0x9a7a58), 6.0);
    c.vgrad(0.72, 1.0, mix(floor, INK, 0.15), floor);
    c.rect(0.0, 0.71, 1.0, 0.725, mix(floor, INK, 0.4));
    // Blackboard.
    let (bx0, bx1, by0, by1) = (
        r.range(0.14, 0.22),
        r.range(0.68, 0.8),
        0.12,
        r.range(0.46, 0.5),
    );
    let wood = hex(0x7a5a3e);
    c.rect(bx0 - 0.012, by0 - 0.02, bx1 + 0.012, by1 + 0.02, wood);
    let board = tone(r, &[hex(0x2f4a3e), hex(0x2d3b3a), hex(0x33463c)], 4.0);
    c.rect(bx0, by0, bx1, by1, board);
    c.rect(bx0 - 0.02, by1 + 0.015, bx1 + 0.02, by1 + 0.03, wood);
    let chalk = mix(WHITE, board, 0.15);
    c.with_alpha(0.85, |c| {
        let mut y = by0 + 0.06;
        while y < by1 - 0.05 {
            let mut x = bx0 + 0.03;
            let end = r.range(bx0 + 0.15, bx1 - 0.2);
            while x < end {
                let w = r.range(0.01, 0.04);
                let pts: Vec<(f32, f32)> = (0..6)
                    .map(|k| {
                        (
                            x + w * k as f32 / 5.0,
                            y + if k % 2 == 0 { 0.0 } else { -0.025 },
                        )
                    })
                    .collect();
                c.path(&pts, 0.004, chalk);
                x += w + 0.018;
            }
            y += 0.07;
        }
        // A diagram: triangle or circle with a radius.
        let (dx, dy) = (bx1 - 0.12, (by0 + by1) * 0.5);
        if r.chance(0.5) {
            c.path(
                &[
                    (dx - 0.06, dy + 0.1),
                    (dx + 0.06, dy + 0.1),
                    (dx - 0.06, dy - 0.1),
                    (dx - 0.06, dy + 0.1),
                ],
                0.004,
                chalk,
            );
        } else {
            let ar = c.ar();
            c.ring(dx, dy, 0.1 * ar, 0.1, 0.004, chalk);
            c.line(dx, dy, dx + 0.1 * ar * 0.7, dy - 0.07, 0.004, chalk);
        }
    });
    // Clock.
    let (cx, cy) = (if bx0 > 0.18 { 0.08 } else { 0.9 }, 0.16);
    c.circle(cx, cy, 0.055, INK);
    c.circle(cx, cy, 0.047, WHITE);
    let (h, m) = (r.range(0.0, 6.3), r.range(0.0, 6.3));
    let ar = c.ar();
    c.line(
        cx,
        cy,
        cx + h.sin() * 0.025 * ar,
        cy - h.cos() * 0.025,
        0.006,
        INK,
    );
    c.line(
        cx,
        cy,
        cx + m.sin() * 0.04 * ar,
        cy - m.cos() * 0.04,
        0.004,
        INK,
    );
    // Desks in two rows, the nearer bigger and lower.
    let desk = vary(r, hex(0xb08a5e), 6.0);
    let leg = mix(INK, WHITE, 0.2);
    for (row, &(y, sc, n)) in [(0.78, 0.7, 5), (0.92, 1.0, 4)].iter().enumerate() {
        let span = 1.0 / n as f32;
        let shift = if row == 0 { 0.0 } else { r.range(-0.03, 0.03) };
        for i in 0..n {
            let x = (i as f32 + 0.5) * span + shift;
            let w = 0.075 * sc;
            let chair = mix(r.pick(ACCENTS), INK, 0.2);
            c.rect(x - w * 0.6, y - 0.1 * sc, x + w * 0.6, y - 0.02 * sc, chair);
            c.rect(x - w * 0.5, y - 0.1 * sc, x - w * 0.4, y + 0.12 * sc, leg);
            c.rect(x + w * 0.4, y - 0.1 * sc, x + w * 0.5, y + 0.12 * sc, leg);
            c.poly(
                &[
                    (x - w * 0.9, y),
                    (x + w * 0.9, y),
                    (x + w, y + 0.04 * sc),
                    (x - w, y + 0.04 * sc),
                ],
                desk,
            );
            c.rect(
                x - w,
                y + 0.04 * sc,
                x + w,
                y + 0.055 * sc,
                mix(desk, INK, 0.35),
            );
            c.rect(x - w * 0.9, y + 0.05 * sc, x - w * 0.8, y + 0.2 * sc, leg);
            c.rect(x + w * 0.8, y + 0.05 * sc, x + w * 0.9, y + 0.2 * sc, leg);
            if r.chance(0.5) {
                c.poly(
                    &[
                        (x - w * 0.3, y + 0.008),
                        (x + w * 0.2, y + 0.008),
                        (x + w * 0.25, y + 0.025 * sc),
                        (x - w * 0.3, y + 0.025 * sc),
                    ],
                    WHITE,
                );
            }
        }
    }
}

/// Draped curtains, a spotlight and a performer.
fn stage(c: &mut Canvas, r: &mut Rng) {
    let back = tone(r, &[hex(0x1e2130), hex(0x24202a), hex(0x1c2428)], 4.0);
    c.vgrad(0.0, 0.74, back, mix(back, WHITE, 0.08));
    let boards = vary(r, hex(0x6e5238), 6.0);
    c.vgrad(0.74, 1.0, mix(boards, INK, 0.3), boards);
    c.with_alpha(0.25, |c| {
        for k in 0..18 {
            let x = k as f32 / 17.0;
            c.line(
                0.5 + (x - 0.5) * 0.8,
                0.74,
                0.5 + (x - 0.5) * 1.4,
                1.0,
                0.002,
                INK,
            );
        }
    });
    let sx = r.range(0.38, 0.62);
    // Spotlight beam and pool.
    let light = mix(WARM, WHITE, 0.4);
    c.with_alpha(0.13, |c| {
        c.poly(
            &[
                (sx - 0.02, -0.01),
                (sx + 0.02, -0.01),
                (sx + 0.13, 0.9),
                (sx - 0.13, 0.9),
            ],
            light,
        )
    });
    c.with_alpha(0.35, |c| c.ellipse(sx, 0.9, 0.14, 0.04, light));
    c.with_alpha(0.45, |c| c.ellipse(sx, 0.9, 0.1, 0.028, light));
    // Performer.
    let fig = mix(INK, back, 0.3);
    person(c, sx, 0.9, 0.42, fig);
    if r.chance(0.6) {
        let mx = sx + 0.05;
        c.line(mx, 0.9, mx, 0.62, 0.005, fig);
        c.line(mx, 0.62, mx - 0.025, 0.6, 0.005, fig);
        c.ellipse(mx - 0.028, 0.6, 0.006, 0.012, fig);
    }
    // Curtains with folds.
    let red = tone(
        r,
        &[hex(0x8c2f2f), hex(0x7a2a3a), hex(0x2f4a6a), hex(0x8a3a2a)],
        6.0,
    );
    let folds = 7;
    for side in [0.0_f32, 1.0] {
        let width = |y: f32| {
            let tie = 0.62;
            if y < tie {
                0.26 - 0.14 * (y / tie).powf(1.5)
            } else {
                0.12 + 0.1 * ((y - tie) / (1.0 - tie)).sqrt()
            }
        };
        for f in 0..folds {
            let (a, b) = (f as f32 / folds as f32, (f + 1) as f32 / folds as f32);
            let mut pts = Vec::new();
            for k in 0..=20 {
                let y = k as f32 / 20.0;
                pts.push((a * width(y), y));
            }
            for k in (0..=20).rev() {
                let y = k as f32 / 20.0;
                pts.push((b * width(y) + 0.002, y));
            }
            if side > 0.5 {
                for p in &mut pts {
                    p.0 = 1.0 - p.0;
                }
            }
            let col = if f % 2 == 0 { red } else { mix(red, INK, 0.3) };
            c.poly(&pts, col);
        }
        let tx = if side > 0.5 { 1.0 - 0.12 } else { 0.12 };
        c.ellipse(tx, 0.62, 0.012, 0.02, hex(0xc9a24a));
    }
    // Valance with a scalloped edge.
    c.rect(0.0, 0.0, 1.0, 0.09, red);
    let n = 12;
    for k in 0..n {
        let x = (k as f32 + 0.5) / n as f32;
        c.ellipse(x, 0.09, 0.5 / n as f32, 0.035, red);
    }
    c.rect(0.0, 0.075, 1.0, 0.085, hex(0xc9a24a));
    // Footlights.
    for k in 0..14 {
        let x = (k as f32 + 0.5) / 14.0;
        c.with_alpha(0.25, |c| c.circle(x, 0.99, 0.03, WARM));
        c.circle(x, 0.99, 0.008, WARM);
    }
}

/// Head-and-shoulders silhouette on a plain backdrop.
fn portrait(c: &mut Canvas, r: &mut Rng) {
    let bg = tone(
        r,
        &[
            hex(0xc9b79a),
            hex(0x9fb0b3),
            hex(0xb7a3a0),
            hex(0xa9b49a),
            hex(0xd2c6ae),
        ],
        6.0,
    );
    c.vgrad(0.0, 1.0, mix(bg, WHITE, 0.2), mix(bg, INK, 0.1));
    let ar = c.ar();
    c.with_alpha(0.2, |c| c.circle(0.5, 0.45, 0.45, mix(bg, WHITE, 0.5)));
    let cx = r.range(0.45, 0.55);
    let fig = tone(r, &[INK, hex(0x3a3330), hex(0x2f3a40)], 4.0);
    let rim = mix(bg, WHITE, 0.45);
    let (hx, hy) = (cx + r.range(-0.01, 0.01), r.range(0.33, 0.37));
    let (hw, hh) = (0.135 * ar, 0.19);
    let hair = r.int(0, 3);
    let draw = |c: &mut Canvas, dx: f32, col: Col| {
        c.dome(cx + dx, 1.12, 0.5 * ar, 0.45, col);
        c.rect(
            hx - hw * 0.5 + dx,
            hy + hh * 0.5,
            hx + hw * 0.5 + dx,
            0.74,
            col,
        );
        c.ellipse(hx + dx, hy, hw, hh, col);
        c.ellipse(hx - hw + dx, hy + 0.02, hw * 0.18, hh * 0.2, col);
        c.ellipse(hx + hw + dx, hy + 0.02, hw * 0.18, hh * 0.2, col);
        c.ellipse(hx + dx, hy - hh * 0.22, hw * 1.06, hh * 0.84, col);
        match hair {
            0 => {
                c.rect(
                    hx - hw * 1.1 + dx,
                    hy - hh * 0.2,
                    hx + hw * 1.1 + dx,
                    hy + hh * 1.4,
                    col,
                );
                c.ellipse(hx + dx, hy + hh * 1.4, hw * 1.1, hh * 0.2, col);
            }
            1 => c.circle(hx + dx, hy - hh * 1.1, hh * 0.35, col),
            _ => {}
        }
    };
    draw(c, 0.007, rim);
    draw(c, 0.0, fig);
    // Collar: a shirt V between jacket lapels, with an optional tie.
    let shirt = mix(WHITE, bg, 0.25);
    let cy = 0.7;
    c.poly(
        &[(hx - hw * 0.62, cy), (hx, cy + 0.16), (hx + hw * 0.62, cy)],
        shirt,
    );
    if r.chance(0.5) {
        let tie = tone(r, ACCENTS, 6.0);
        let t = 0.016 * ar;
        c.poly(
            &[
                (hx - t, cy + 0.015),
                (hx + t, cy + 0.015),
                (hx + t * 0.7, cy + 0.05),
                (hx - t * 0.7, cy + 0.05),
            ],
            tie,
        );
        c.poly(
            &[
                (hx - t * 0.7, cy + 0.05),
                (hx + t * 0.7, cy + 0.05),
                (hx + t * 1.5, cy + 0.26),
                (hx, cy + 0.3),
                (hx - t * 1.5, cy + 0.26),
            ],
            tie,
        );
    }
    let lapel = mix(fig, WHITE, 0.1);
    for side in [-1.0_f32, 1.0] {
        let m = |x: f32| hx + side * x;
        c.poly(
            &[
                (m(hw * 0.62), cy),
                (m(hw * 0.04), cy + 0.17),
                (m(hw * 0.2), cy + 0.35),
                (m(hw * 1.05), cy + 0.1),
            ],
            lapel,
        );
    }
}

/// Cranes and containers on a quay, with a ship alongside.
fn harbour(c: &mut Canvas, r: &mut Rng) {
    let s = sky(c, r, &[Mood::Day, Mood::Dusk, Mood::Grey, Mood::Dawn]);
    if r.chance(0.6) {
        sun(c, &s, r.range(0.1, 0.9), r.range(0.1, 0.25), 0.06);
    }
    let hy = 0.64;
    hills(c, r, hy, 0.06, haze(&s, hex(0x5d6b5a), 0.6));
    let sea = vary(r, hex(0x3f6073), 6.0);
    c.vgrad(hy, 1.0, mix(s.bot, sea, 0.6), sea);
    // Ship alongside.
    let hull = tone(r, &[hex(0x8c3b35), hex(0x2f3a45), hex(0x35557a)], 6.0);
    let (sx0, sx1, deck) = (0.08, 0.92, 0.7);
    c.poly(
        &[
            (sx0, deck),
            (sx1 + 0.04, deck - 0.02),
            (sx1, 0.82),
            (sx0 + 0.03, 0.82),
        ],
        hull,
    );
    c.rect(sx0 + 0.02, 0.79, sx1, 0.82, mix(hull, INK, 0.5));
    c.rect(sx0 + 0.02, deck - 0.12, sx0 + 0.09, deck, WHITE);
    c.rect(sx0 + 0.03, deck - 0.11, sx0 + 0.08, deck - 0.095, INK);
    // Containers stacked on deck.
    let cw = 0.048;
    let mut x = sx0 + 0.11;
    while x + cw < sx1 {
        let stack = r.int(1, 5);
        for k in 0..stack {
            let y = deck - (k + 1) as f32 * 0.045;
            let col = tone(r, ACCENTS, 8.0);
            c.rect(x, y, x + cw - 0.003, y + 0.043, col);
            c.with_alpha(0.25, |c| {
                for j in 1..4 {
                    let lx = x + j as f32 * cw / 4.0;
                    c.line(lx, y + 0.006, lx, y + 0.037, 0.002, INK);
                }
            });
        }
        x += cw;
    }
    // Gantry cranes.
    let crane = tone(
        r,
        &[hex(0xb5533c), hex(0x3f5d7d), hex(0xc9a24a), hex(0xd9d4c8)],
        6.0,
    );
    let n = r.int(2, 4);
    for i in 0..n {
        let cx = 0.15 + (i as f32 + 0.5) * 0.75 / n as f32 + r.range(-0.04, 0.04);
        let top = r.range(0.12, 0.2);
        let leg = 0.05;
        let t = 0.012;
        c.line(cx - leg, 0.86, cx - leg, top, t, crane);
        c.line(cx + leg, 0.86, cx + leg, top, t, crane);
        c.line(cx - leg, 0.52, cx + leg, 0.52, t, crane);
        c.line(cx - leg, 0.52, cx + leg, top + 0.05, 0.004, crane);
        c.line(cx - 0.09, top + 0.04, cx + 0.12, top + 0.04, 0.014, crane);
        c.poly(
            &[
                (cx - leg, top + 0.04),
                (cx, top - 0.08),
                (cx + leg, top + 0.04),
            ],
            crane,
        );
        c.path(
            &[
                (cx - 0.09, top + 0.035),
                (cx, top - 0.08),
                (cx + 0.12, top + 0.035),
            ],
            0.003,
            mix(crane, INK, 0.4),
        );
        let trolley = cx + r.range(-0.06, 0.1);
        c.rect(
            trolley - 0.012,
            top + 0.045,
            trolley + 0.012,
            top + 0.07,
            INK,
        );
        let drop = r.range(0.3, 0.45);
        c.line(trolley, top + 0.07, trolley, top + drop, 0.002, INK);
        let col = tone(r, ACCENTS, 6.0);
        c.rect(
            trolley - cw * 0.5,
            top + drop,
            trolley + cw * 0.5,
            top + drop + 0.043,
            col,
        );
    }
    // Quay.
    c.rect(0.0, 0.86, 1.0, 0.9, hex(0x8b8478));
    c.rect(0.0, 0.9, 1.0, 1.0, mix(sea, INK, 0.2));
    c.with_alpha(0.3, |c| {
        for _ in 0..14 {
            let (x, y) = (r.range(0.0, 1.0), r.range(0.92, 0.99));
            c.line(x, y, x + 0.06, y, 0.003, WHITE);
        }
    });
}

/// A street in perspective lined with lamps.
fn street(c: &mut Canvas, r: &mut Rng) {
    let s = sky(c, r, &[Mood::Dusk, Mood::Night, Mood::Day, Mood::Dusk]);
    let (vx, vy) = (r.range(0.42, 0.58), r.range(0.5, 0.56));
    let p = |xn: f32, yn: f32, d: f32| (vx + (xn - vx) * d, vy + (yn - vy) * d);
    let depth = |z: f32| 1.0 / (1.0 + z);
    // Distant buildings at the vanishing point.
    let far = haze(&s, INK, 0.5);
    c.rect(vx - 0.1, vy - 0.08, vx + 0.1, vy + 0.01, far);
    // Road and pavements.
    let road = mix(INK, s.bot, 0.3);
    let pave = mix(hex(0x8b8478), s.bot, 0.2);
    c.poly(
        &[(vx - 0.12, vy), (vx + 0.12, vy), (1.6, 1.0), (-0.6, 1.0)],
        pave,
    );
    c.poly(
        &[(vx - 0.02, vy), (vx + 0.02, vy), (0.85, 1.0), (0.15, 1.0)],
        road,
    );
    let mut z = 0.1;
    while z < 20.0 {
        let (d0, d1) = (depth(z), depth(z + 0.5));
        let (a, b) = (p(0.495, 1.0, d0), p(0.505, 1.0, d0));
        let (e, f) = (p(0.505, 1.0, d1), p(0.495, 1.0, d1));
        c.poly(&[a, b, e, f], mix(WHITE, road, 0.3));
        z += 1.2;
    }
    // Facades on both sides, built from segments at increasing depth.
    let lit = if s.night || s.top[0] < 95 {
        WARM
    } else {
        mix(s.bot, WHITE, 0.3)
    };
    for xn in [-0.1_f32, 1.1] {
        let mut z = 0.0;
        let base = tone(
            r,
            &[hex(0x8a6a58), hex(0x6d7078), hex(0x9a8a70), hex(0x5a6470)],
            8.0,
        );
        while z < 30.0 {
            let len = r.range(0.8, 2.5);
            let (d0, d1) = (depth(z), depth(z + len));
            let top = 1.0 - r.range(0.9, 1.4);
            let col = haze(&s, vary(r, base, 10.0), (1.0 - d0) * 0.6);
            let q = [
                p(xn, top, d0),
                p(xn, top, d1),
                p(xn, 1.0 - 0.05, d1),
                p(xn, 1.0 - 0.05, d0),
            ];
            c.poly(&q, col);
            // Windows: a few floors along the segment.
            for fl in 0..4 {
                let (y0, y1) = (top + 0.1 + fl as f32 * 0.2, top + 0.2 + fl as f32 * 0.2);
                if y1 > 0.85 {
                    break;
                }
                let wins = (len * 2.0) as u32;
                for w in 0..wins {
                    let t0 = (w as f32 + 0.25) / wins as f32;
                    let t1 = (w as f32 + 0.7) / wins as f32;
                    let (da, db) = (depth(z + len * t0), depth(z + len * t1));
                    let wc = if r.chance(0.5) {
                        lit
                    } else {
                        mix(col, INK, 0.4)
                    };
                    c.poly(
                        &[p(xn, y0, da), p(xn, y0, db), p(xn, y1, db), p(xn, y1, da)],
                        wc,
                    );
                }
            }
            z += len;
        }
    }
    // Lamps along both kerbs.
    let post = mix(INK, s.top, 0.1);
    let mut z = 0.2;
    while z < 12.0 {
        let d = depth(z);
        for &(xn, arm) in &[(0.08_f32, 0.06_f32), (0.92, -0.06)] {
            let (bx, by) = p(xn, 1.0, d);
            let (tx, ty) = p(xn, 0.2, d);
            c.line(bx, by, tx, ty, 0.012 * d, post);
            let (ax, ay) = p(xn + arm, 0.2, d);
            c.line(tx, ty, ax, ay, 0.008 * d, post);
            if s.night || s.top[0] < 95 {
                c.with_alpha(0.18, |c| c.circle(ax, ay + 0.02 * d, 0.09 * d, WARM));
            }
            c.ellipse(ax, ay + 0.015 * d, 0.02 * d * c.ar(), 0.015 * d, WARM);
        }
        z += 1.6;
    }
}

/// A rocket on its pad with a plume of exhaust.
fn rocket(c: &mut Canvas, r: &mut Rng) {
    let s = sky(c, r, &[Mood::Dawn, Mood::Day, Mood::Dusk]);
    let ar = c.ar();
    let gy = 0.86;
    hills(c, r, gy, 0.04, haze(&s, hex(0x6a6d5a), 0.5));
    c.rect(0.0, gy, 1.0, 1.0, vary(r, hex(0x8b8478), 6.0));
    let rx = r.range(0.4, 0.6);
    let lift = if r.chance(0.5) {
        r.range(0.0, 0.12)
    } else {
        0.0
    };
    let hw = 0.05 * ar;
    let (top, bot) = (0.12 - lift, 0.7 - lift);
    // Launch tower.
    let tower = mix(hex(0x9c3f3a), INK, 0.2);
    let tx = rx - hw - 0.07;
    c.line(tx - 0.02, gy, tx - 0.02, top + 0.04, 0.005, tower);
    c.line(tx + 0.02, gy, tx + 0.02, top + 0.04, 0.005, tower);
    let mut y = gy;
    while y > top + 0.06 {
        c.line(tx - 0.02, y, tx + 0.02, y - 0.04, 0.003, tower);
        c.line(tx - 0.02, y - 0.04, tx + 0.02, y - 0.04, 0.003, tower);
        y -= 0.04;
    }
    if lift < 0.01 {
        c.line(tx + 0.02, 0.3, rx - hw, 0.3, 0.006, tower);
        c.line(tx + 0.02, 0.5, rx - hw, 0.5, 0.006, tower);
    }
    // Plume and smoke.
    let flame = hex(0xf2b04a);
    let smoke = mix(WHITE, s.bot, 0.35);
    let smoke2 = mix(smoke, INK, 0.15);
    for _ in 0..40 {
        let dx = r.range(-0.4, 0.4);
        let y = gy - 0.02 - r.range(0.0, 0.12) * (1.0 - dx.abs() * 2.0).max(0.2);
        let col = if r.chance(0.5) { smoke } else { smoke2 };
        c.circle(rx + dx, y, r.range(0.03, 0.07), col);
    }
    c.with_alpha(0.85, |c| {
        c.poly(
            &[(rx - hw * 0.9, bot), (rx + hw * 0.9, bot), (rx, gy + 0.02)],
            flame,
        )
    });
    c.poly(
        &[
            (rx - hw * 0.5, bot),
            (rx + hw * 0.5, bot),
            (rx, bot + (gy - bot) * 0.7),
        ],
        mix(flame, WHITE, 0.6),
    );
    // Rocket body, nose cone, fins and stripes.
    let body = hex(0xeeeae0);
    let shade = mix(body, INK, 0.2);
    let accent = tone(r, &[hex(0x9c3f3a), hex(0x3f5d7d), INK], 4.0);
    let fin = |c: &mut Canvas, side: f32| {
        c.poly(
            &[
                (rx + side * hw, bot - 0.12),
                (rx + side * hw * 2.0, bot),
                (rx + side * hw, bot),
            ],
            accent,
        );
    };
    fin(c, -1.0);
    fin(c, 1.0);
    c.rect(rx - hw, top + 0.1, rx + hw, bot, body);
    c.rect(rx + hw * 0.3, top + 0.1, rx + hw, bot, shade);
    let cone: Vec<(f32, f32)> = (0..=16)
        .map(|i| {
            let t = i as f32 / 16.0;
            (rx - hw * (1.0 - t * t), top + 0.1 - 0.1 * t)
        })
        .chain((0..=16).rev().map(|i| {
            let t = i as f32 / 16.0;
            (rx + hw * (1.0 - t * t), top + 0.1 - 0.1 * t)
        }))
        .collect();
    c.poly(&cone, accent);
    c.rect(rx - hw, top + 0.2, rx + hw, top + 0.23, accent);
    c.rect(rx - hw, bot - 0.08, rx + hw, bot - 0.05, accent);
    c.circle(rx, top + 0.15, 0.014, mix(INK, s.top, 0.3));
    c.poly(
        &[
            (rx - hw * 0.6, bot),
            (rx + hw * 0.6, bot),
            (rx + hw * 0.8, bot + 0.03),
            (rx - hw * 0.8, bot + 0.03),
        ],
        INK,
    );
    c.rect(
        rx - 0.005 * ar,
        top + 0.24,
        rx + 0.005 * ar,
        bot - 0.09,
        mix(body, INK, 0.1),
    );
}

/// A suspension bridge over water.
fn bridge(c: &mut Canvas, r: &mut Rng) {
    let s = sky(c, r, &[Mood::Dusk, Mood::Dawn, Mood::Day, Mood::Grey]);
    sun(c, &s, r.range(0.15, 0.85), r.range(0.15, 0.35), 0.07);
    let hy = 0.7;
    hills(c, r, hy, 0.06, haze(&s, hex(0x5d6b5a), 0.5));
    let sea = vary(r, hex(0x3f6073), 6.0);
    c.vgrad(hy, 1.0, mix(s.bot, sea, 0.5), sea);
    let steel = tone(r, &[hex(0xa4453a), hex(0x5d6670), hex(0x8a5a3a)], 6.0);
    let deck = r.range(0.56, 0.62);
    let (t1, t2) = (r.range(0.2, 0.28), r.range(0.72, 0.8));
    let ttop = r.range(0.1, 0.18);
    let ar = c.ar();
    let cable = |x: f32| -> f32 {
        if x < t1 {
            let u = (t1 - x) / t1;
            ttop + (deck - 0.01 - ttop) * (u * 0.8 + u * u * 0.2)
        } else if x > t2 {
            let u = (x - t2) / (1.0 - t2);
            ttop + (deck - 0.01 - ttop) * (u * 0.8 + u * u * 0.2)
        } else {
            let u = (x - (t1 + t2) * 0.5) / ((t2 - t1) * 0.5);
            deck - 0.03 - (deck - 0.03 - ttop) * u * u
        }
    };
    // Hangers.
    let mut x = 0.0;
    while x <= 1.0 {
        c.line(x, cable(x), x, deck, 0.0025, steel);
        x += 0.018;
    }
    let pts: Vec<(f32, f32)> = (0..=100)
        .map(|i| i as f32 / 100.0)
        .map(|x| (x, cable(x)))
        .collect();
    c.path(&pts, 0.007, steel);
    // Towers and piers.
    for &tx in &[t1, t2] {
        let lw = 0.012 * ar * 1.6;
        let gap = 0.018;
        c.rect(tx - gap - lw, ttop - 0.02, tx - gap, hy + 0.04, steel);
        c.rect(tx + gap, ttop - 0.02, tx + gap + lw, hy + 0.04, steel);
        for &by in &[ttop, ttop + 0.12, ttop + 0.25, deck + 0.06] {
            c.rect(tx - gap, by, tx + gap, by + 0.02, steel);
        }
        c.rect(
            tx - gap - lw - 0.01,
            hy + 0.02,
            tx + gap + lw + 0.01,
            hy + 0.07,
            mix(hex(0x8b8478), INK, 0.3),
        );
        c.with_alpha(0.25, |c| {
            c.rect(tx - gap - lw, hy + 0.07, tx + gap + lw, 0.95, steel)
        });
    }
    // Deck with its truss.
    c.rect(0.0, deck, 1.0, deck + 0.02, mix(steel, INK, 0.3));
    c.rect(0.0, deck + 0.02, 1.0, deck + 0.035, mix(steel, INK, 0.55));
    let mut x = 0.0;
    while x < 1.0 {
        c.line(x, deck + 0.02, x + 0.015, deck + 0.035, 0.002, steel);
        x += 0.015;
    }
    c.with_alpha(0.3, |c| {
        for _ in 0..16 {
            let (x, y) = (r.range(0.0, 1.0), r.range(hy + 0.02, 1.0));
            c.line(x, y, x + 0.05, y, 0.003, WHITE);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scene_is_deterministic_and_seeded() {
        for &name in SCENES.iter().chain(["no-such-scene"].iter()) {
            let a = draw_scene(name, 7, 160, 90);
            let b = draw_scene(name, 7, 160, 90);
            let c = draw_scene(name, 8, 160, 90);
            assert_eq!(a.dimensions(), (160, 90), "{name}");
            assert!(a.as_raw() == b.as_raw(), "{name} is not deterministic");
            assert!(a.as_raw() != c.as_raw(), "{name} ignores the seed");
        }
    }

    #[test]
    fn odd_sizes_work() {
        for &(w, h) in &[(0, 0), (1, 1), (3, 200), (200, 3), (641, 359)] {
            for &name in SCENES {
                assert_eq!(draw_scene(name, 1, w, h).dimensions(), (w, h), "{name}");
            }
        }
    }

    #[test]
    fn scenes_are_not_blank() {
        for &name in SCENES {
            let img = draw_scene(name, 3, 64, 36);
            let first = img.get_pixel(0, 0);
            assert!(img.pixels().any(|p| p != first), "{name} is blank");
        }
    }
}
