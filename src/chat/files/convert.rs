//! Images to WebP within a square (1920×1920 by default), with the `image`
//! crate. Its WebP encoder is lossless only, so the WebP is lossless: a
//! photo may come out larger than its JPEG, never blurrier.

use std::io::{BufReader, BufWriter};
use std::path::Path;

use image::codecs::webp::WebPEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

/// Largest width or height decoded (a larger image is refused unread).
pub const MAX_DECODE_SIDE: u32 = 16_384;
/// Most memory the decoder may take for one image.
pub const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("the image could not be read: {0}")]
    Decode(String),
    #[error("the image could not be written: {0}")]
    Encode(String),
}

/// Decodes the image at `from` (format from its content), turns it as its
/// EXIF orientation says, scales it down to fit `max_side`×`max_side`
/// (never up), and writes it to `to` as WebP. Answers its size then.
/// Blocking: run it off the async threads.
pub fn to_webp(from: &Path, to: &Path, max_side: u32) -> Result<(u32, u32), ConvertError> {
    let decode = |e: &dyn std::fmt::Display| ConvertError::Decode(e.to_string());
    let file = std::fs::File::open(from).map_err(|e| decode(&e))?;
    let mut reader = ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .map_err(|e| decode(&e))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODE_SIDE);
    limits.max_image_height = Some(MAX_DECODE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| decode(&e))?;
    let orientation = decoder.orientation().map_err(|e| decode(&e))?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| decode(&e))?;
    image.apply_orientation(orientation);
    let image = fit(image, max_side);
    write_webp(&image, to)?;
    Ok((image.width(), image.height()))
}

/// `image` scaled down to fit a `side`×`side` square, its aspect kept.
pub fn fit(image: DynamicImage, side: u32) -> DynamicImage {
    if image.width() <= side && image.height() <= side {
        image
    } else {
        image.resize(side, side, FilterType::Triangle)
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
    use crate::chat::files::sniff::tests::PNG;

    fn temp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "confab-convert-{}-{}",
            std::process::id(),
            confab_actors::store::now_millis()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn a_png_becomes_a_webp() {
        let (from, to) = (temp("in.png"), temp("out.webp"));
        std::fs::write(&from, PNG).unwrap();
        assert_eq!(to_webp(&from, &to, 1920).unwrap(), (1, 1));
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
        assert_eq!(to_webp(&from, &to, 1920).unwrap(), (1920, 96));
    }

    #[test]
    fn what_is_not_an_image_is_refused() {
        let (from, to) = (temp("bad.png"), temp("bad.webp"));
        // A PNG signature with nothing valid after it.
        std::fs::write(&from, &PNG[..20]).unwrap();
        assert!(matches!(
            to_webp(&from, &to, 1920),
            Err(ConvertError::Decode(_))
        ));
    }
}
