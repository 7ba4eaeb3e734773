//! Images to WebP within a square (1920×1920 by default), with the `image`
//! crate. Its WebP encoder is lossless only, so the WebP is lossless: a
//! photo may come out larger than its JPEG, never blurrier.
//!
//! Every conversion keeps within a memory budget, counted from the image's
//! header before a pixel is decoded: the decoded pixels (as the file stores
//! them: 16-bit channels and alpha included), the scaled copy, the turned
//! copy, the 8-bit copy the encoder takes and the encoder's own buffers.
//! The `image` crate's [`Limits`] check the sides (`max_image_width`,
//! `max_image_height`, in the decoder's `set_limits`) and do the budget's
//! arithmetic (`max_alloc`, `reserve`); but `ImageReader::into_decoder` and
//! `DynamicImage::from_decoder`, which reading the EXIF orientation needs,
//! never reserve the decoded buffer (only `ImageReader::decode` does), so
//! the whole conversion is reserved here, before `from_decoder` allocates.

use std::io::{BufReader, BufWriter};
use std::path::Path;

use image::codecs::webp::WebPEncoder;
use image::imageops::FilterType;
use image::{ColorType, DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// Largest width or height decoded (a larger image is refused unread).
pub const MAX_DECODE_SIDE: u32 = 16_384;

/// What the lossless WebP encoder takes per pixel of its input: its own
/// RGBA copy (4 bytes), counted twice for its output and working state.
const ENCODER_BYTES_PER_PIXEL: u64 = 8;

/// What the triangle filter keeps per pixel between its two passes: an
/// RGBA copy in 32-bit floats.
const FILTER_BYTES_PER_PIXEL: u64 = 16;

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("the image could not be read: {0}")]
    Decode(String),
    #[error("the image is too large to convert: {0}")]
    TooLarge(String),
    #[error("the image could not be written: {0}")]
    Encode(String),
}

/// How an image is brought within its square.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scaling {
    /// It fits already.
    Keep,
    /// Averaging boxes of source pixels, each counted once: for a
    /// reduction of 2× or more, where it does not alias, and it takes no
    /// memory beyond its output.
    Average(u32, u32),
    /// The triangle filter, for a reduction under 2× (where averaging
    /// would alias): it keeps a float copy of source width × new height.
    Filter(u32, u32),
}

/// The scaling that fits `width`×`height` into a `side`×`side` square,
/// the aspect kept, never up.
fn scaling(width: u32, height: u32, side: u32) -> Scaling {
    if width <= side && height <= side {
        return Scaling::Keep;
    }
    let ratio = (f64::from(side) / f64::from(width)).min(f64::from(side) / f64::from(height));
    let new = |n: u32| ((f64::from(n) * ratio).round() as u32).clamp(1, side);
    let (w, h) = (new(width), new(height));
    if width >= 2 * w && height >= 2 * h {
        Scaling::Average(w, h)
    } else {
        Scaling::Filter(w, h)
    }
}

/// The most memory converting an image of this header takes at once:
/// `decoded` bytes of pixels (`width`×`height` of `color`), its scaled
/// copy (with the filter's float copy when filtering), its turned copy,
/// the encoder's 8-bit copy and the encoder's working memory.
fn conversion_bytes(decoded: u64, width: u32, height: u32, color: ColorType, side: u32) -> u64 {
    let pixel = u64::from(color.bytes_per_pixel());
    let area = |w: u32, h: u32| u64::from(w) * u64::from(h);
    let (scaled, out) = match scaling(width, height, side) {
        Scaling::Keep => (0, area(width, height)),
        Scaling::Average(w, h) => (area(w, h) * pixel, area(w, h)),
        Scaling::Filter(w, h) => (
            area(width, h) * FILTER_BYTES_PER_PIXEL + area(w, h) * pixel,
            area(w, h),
        ),
    };
    let turned = out * pixel;
    let eight_bit = out * 4;
    decoded
        .saturating_add(scaled)
        .saturating_add(turned)
        .saturating_add(eight_bit)
        .saturating_add(out.saturating_mul(ENCODER_BYTES_PER_PIXEL))
}

/// Decodes the image at `from` (format from its content), scales it down
/// to fit `max_side`×`max_side` (never up), turns it as its EXIF
/// orientation says, and writes it to `to` as WebP; all within `budget`
/// bytes of memory, refused before decoding otherwise. Answers its size.
/// Blocking: run it off the async threads.
pub fn to_webp(
    from: &Path,
    to: &Path,
    max_side: u32,
    budget: u64,
) -> Result<(u32, u32), ConvertError> {
    let decode = |e: &dyn std::fmt::Display| ConvertError::Decode(e.to_string());
    let file = std::fs::File::open(from).map_err(|e| decode(&e))?;
    let mut reader = ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .map_err(|e| decode(&e))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODE_SIDE);
    limits.max_image_height = Some(MAX_DECODE_SIDE);
    limits.max_alloc = Some(budget);
    reader.limits(limits.clone());
    let jpeg = reader.format() == Some(ImageFormat::Jpeg);
    // Reads the header only; the decoder refuses sides over the limits.
    let mut decoder = reader.into_decoder().map_err(|e| match e {
        image::ImageError::Limits(e) => ConvertError::TooLarge(e.to_string()),
        e => decode(&e),
    })?;
    let (width, height) = decoder.dimensions();
    // A progressive JPEG keeps every coefficient (two bytes a sample)
    // until its last scan; its header does not say here whether it is
    // progressive, so every JPEG is counted so.
    let coefficients = match jpeg {
        true => decoder.total_bytes().saturating_mul(2),
        false => 0,
    };
    let needed = conversion_bytes(
        decoder.total_bytes(),
        width,
        height,
        decoder.color_type(),
        max_side,
    )
    .saturating_add(coefficients);
    limits.reserve(needed).map_err(|_| {
        ConvertError::TooLarge(format!(
            "it needs {needed} bytes of memory, {budget} are allowed"
        ))
    })?;
    let orientation = decoder.orientation().map_err(|e| decode(&e))?;
    let image = DynamicImage::from_decoder(decoder).map_err(|e| decode(&e))?;
    let mut image = fit(image, max_side);
    // After scaling: a turn of the small copy (the square is the same
    // either way round).
    image.apply_orientation(orientation);
    write_webp(&image, to)?;
    Ok((image.width(), image.height()))
}

/// `image` scaled down to fit a `side`×`side` square, its aspect kept.
pub fn fit(image: DynamicImage, side: u32) -> DynamicImage {
    match scaling(image.width(), image.height(), side) {
        Scaling::Keep => image,
        Scaling::Average(w, h) => image.thumbnail_exact(w, h),
        Scaling::Filter(w, h) => image.resize_exact(w, h, FilterType::Triangle),
    }
}

fn write_webp(image: &DynamicImage, to: &Path) -> Result<(), ConvertError> {
    let encode = |e: &dyn std::fmt::Display| ConvertError::Encode(e.to_string());
    // The encoder takes 8-bit grey or colour, with or without alpha.
    let image = if image.color().has_alpha() {
        DynamicImage::ImageRgba8(image.to_rgba8())
    } else {
        DynamicImage::ImageRgb8(image.to_rgb8())
    };
    let file = std::fs::File::create(to).map_err(|e| encode(&e))?;
    let mut out = BufWriter::new(file);
    image
        .write_with_encoder(WebPEncoder::new_lossless(&mut out))
        .map_err(|e| encode(&e))?;
    let file = out.into_inner().map_err(|e| encode(&e))?;
    file.sync_all().map_err(|e| encode(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::sniff::tests::PNG;

    const BUDGET: u64 = 256 * 1024 * 1024;

    /// A PNG's signature, header and the start of its data: what a decoder
    /// reads before it allocates (the pixels never follow).
    fn png_header(width: u32, height: u32, depth: u8, color: u8) -> Vec<u8> {
        fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let start = out.len();
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            let crc = crc32(&out[start..]);
            out.extend_from_slice(&crc.to_be_bytes());
        }
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[depth, color, 0, 0, 0]);
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &[0x78, 0x9c, 0x00]);
        out
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn the_crate_refuses_sides_over_the_limit_from_the_header() {
        let (from, to) = (temp("wide.png"), temp("wide.webp"));
        std::fs::write(&from, png_header(MAX_DECODE_SIDE + 1, 1, 8, 0)).unwrap();
        let err = to_webp(&from, &to, 1920, u64::MAX).unwrap_err();
        assert!(matches!(err, ConvertError::TooLarge(_)), "{err}");
    }

    #[test]
    fn the_budget_is_checked_before_decoding_16_bit_and_alpha_counted() {
        // 16384² 16-bit RGB: 1.5 GiB decoded; the file holds no pixels, so
        // only a refusal from the header can answer TooLarge.
        let (from, to) = (temp("bomb.png"), temp("bomb.webp"));
        std::fs::write(&from, png_header(16_384, 16_384, 16, 2)).unwrap();
        let err = to_webp(&from, &to, 1920, BUDGET).unwrap_err();
        assert!(
            err.to_string().contains("it needs 1"),
            "refused from the header: {err}"
        );
        // Within the budget, the same kind of file goes on to decoding
        // (and fails there, having no pixels).
        std::fs::write(&from, png_header(64, 64, 16, 6)).unwrap();
        assert!(matches!(
            to_webp(&from, &to, 1920, BUDGET),
            Err(ConvertError::Decode(_))
        ));
        // Alpha and 16-bit channels count: 8 bytes a pixel for RGBA16.
        let rgba16 = conversion_bytes(8 * 4096 * 4096, 4096, 4096, ColorType::Rgba16, 1920);
        let rgb8 = conversion_bytes(3 * 4096 * 4096, 4096, 4096, ColorType::Rgb8, 1920);
        assert!(rgba16 > rgb8 + 5 * 4096 * 4096, "{rgba16} {rgb8}");
    }

    #[test]
    fn the_crate_alone_would_not_reserve_the_decoded_buffer() {
        // Why the conversion reserves for itself: with a 32 KiB max_alloc,
        // `decode` refuses a 64 KiB image, but `into_decoder` then
        // `from_decoder` (the path that reads the orientation) does not.
        let from = temp("small.png");
        DynamicImage::new_rgba8(128, 128).save(&from).unwrap();
        let reader = || {
            let mut limits = Limits::default();
            limits.max_alloc = Some(32 * 1024);
            let mut reader = ImageReader::open(&from).unwrap();
            reader.limits(limits);
            reader
        };
        assert!(matches!(
            reader().decode(),
            Err(image::ImageError::Limits(_))
        ));
        let decoder = reader().into_decoder().unwrap();
        assert!(DynamicImage::from_decoder(decoder).is_ok());
        // The conversion refuses it within the same budget.
        assert!(matches!(
            to_webp(&from, &temp("small.webp"), 1920, 32 * 1024),
            Err(ConvertError::TooLarge(_))
        ));
    }

    #[test]
    fn a_jpeg_counts_its_coefficients() {
        // 64×64 RGB: 73,728 bytes as a PNG, 24,576 more as a JPEG.
        let (png, jpeg) = (temp("c.png"), temp("c.jpg"));
        DynamicImage::new_rgb8(64, 64).save(&png).unwrap();
        DynamicImage::new_rgb8(64, 64).save(&jpeg).unwrap();
        let budget = 80_000;
        assert!(to_webp(&png, &temp("c1.webp"), 1920, budget).is_ok());
        assert!(matches!(
            to_webp(&jpeg, &temp("c2.webp"), 1920, budget),
            Err(ConvertError::TooLarge(_))
        ));
        assert!(to_webp(&jpeg, &temp("c3.webp"), 1920, 100_000).is_ok());
    }

    #[test]
    fn big_reductions_average_small_ones_filter() {
        assert_eq!(scaling(1000, 500, 1920), Scaling::Keep);
        assert_eq!(scaling(2400, 1200, 1920), Scaling::Filter(1920, 960));
        assert_eq!(scaling(8000, 6000, 1920), Scaling::Average(1920, 1440));
        // The filter's float copy is counted: 2400 × 960 × 16 bytes.
        let filtered = conversion_bytes(0, 2400, 1200, ColorType::Rgb8, 1920);
        assert!(filtered > 2400 * 960 * 16, "{filtered}");
    }

    fn temp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "confab-convert-{}-{}",
            std::process::id(),
            confab_chat::store::now_millis()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn a_png_becomes_a_webp() {
        let (from, to) = (temp("in.png"), temp("out.webp"));
        std::fs::write(&from, PNG).unwrap();
        assert_eq!(to_webp(&from, &to, 1920, BUDGET).unwrap(), (1, 1));
        let out = std::fs::read(&to).unwrap();
        assert_eq!(infer::get(&out).unwrap().mime_type(), "image/webp");
        let back = image::load_from_memory(&out).unwrap();
        assert_eq!((back.width(), back.height()), (1, 1));
    }

    #[test]
    fn large_images_are_scaled_down_to_fit_never_up() {
        let wide = DynamicImage::new_rgb8(2400, 1200);
        let fitted = fit(wide, 1920);
        assert_eq!((fitted.width(), fitted.height()), (1920, 960));
        let tall = DynamicImage::new_rgba8(500, 4000);
        let fitted = fit(tall, 1920);
        assert_eq!((fitted.width(), fitted.height()), (240, 1920));
        let small = DynamicImage::new_rgb8(30, 20);
        let fitted = fit(small, 1920);
        assert_eq!((fitted.width(), fitted.height()), (30, 20));

        let (from, to) = (temp("big.png"), temp("big.webp"));
        DynamicImage::new_rgb8(2000, 100).save(&from).unwrap();
        assert_eq!(to_webp(&from, &to, 1920, BUDGET).unwrap(), (1920, 96));
    }

    #[test]
    fn what_is_not_an_image_is_refused() {
        let (from, to) = (temp("bad.png"), temp("bad.webp"));
        // A PNG signature with nothing valid after it.
        std::fs::write(&from, &PNG[..20]).unwrap();
        assert!(matches!(
            to_webp(&from, &to, 1920, BUDGET),
            Err(ConvertError::Decode(_))
        ));
    }
}
