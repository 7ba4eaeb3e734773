//! What a file is, from its first bytes (the `infer` crate's magic-byte
//! matchers), and whether that fits the kind it is uploaded as and the name
//! it comes with. The name alone never decides: an executable named
//! `cat.jpg` is refused whatever kind it is uploaded as, and a native
//! executable (ELF, PE, Mach-O, DEX, Java class, WebAssembly) is refused by
//! its content whatever its name, unless the operator allows executables.
//! Scripts (`#!` first) are text and stay files: refusing the two bytes
//! would stop nothing (the same script without them runs as well), and the
//! interpreter, not the file, is what runs.

use confab_chat::store::MessageType;

/// How many leading bytes are looked at.
pub const HEAD_LEN: usize = 8192;

/// The seed's video formats.
pub const VIDEO_FORMATS: &[&str] = &["mp4", "avi", "mov", "wmv", "flv", "webm", "mkv"];
/// Images the converter decodes.
pub const IMAGE_FORMATS: &[&str] = &["jpg", "png", "gif", "webp", "bmp"];

/// An accepted file: what its content is, and the extension it is stored
/// under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    pub mime: String,
    pub ext: String,
}

/// Why a file's content is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    #[error("executables are not accepted")]
    Executable,
    #[error("the file's content does not match its name (.{0})")]
    Disguised(String),
    #[error("not an image (accepted: jpg, png, gif, webp, bmp)")]
    NotImage,
    #[error("not an audio file (accepted: mp3, wav, ogg, m4a, aac, flac, wma)")]
    NotAudio,
    #[error("not a video (accepted: mp4, avi, mov, wmv, flv, webm, mkv)")]
    NotVideo,
    #[error("text messages take no file (messageType 1 to 4)")]
    Text,
}

/// Extensions that name the same container, so that a name and a content
/// of one family agree (`photo.jpeg` holding JPEG, `song.m4a` holding an
/// MP4 container).
fn family(ext: &str) -> &str {
    match ext {
        "jpg" | "jpeg" | "jpe" | "jfif" => "jpg",
        "tif" | "tiff" => "tiff",
        "mp4" | "m4v" | "m4a" | "m4b" | "mov" | "qt" | "3gp" | "3g2" => "iso-bmff",
        "mkv" | "webm" | "mka" | "mk3d" => "matroska",
        "ogg" | "oga" | "ogv" | "opus" | "spx" => "ogg",
        "wma" | "wmv" | "asf" => "asf",
        "zip" | "docx" | "xlsx" | "pptx" | "odt" | "ods" | "odp" | "epub" | "jar" | "apk"
        | "ipa" | "xpi" | "vsix" => "zip",
        "exe" | "dll" | "sys" | "scr" | "com" | "efi" | "cpl" | "ocx" => "pe",
        "doc" | "xls" | "ppt" | "msi" | "msg" => "cfb",
        "mid" | "midi" => "midi",
        "htm" | "html" => "html",
        other => other,
    }
}

/// Whether the content family of an extension can be recognised from
/// magic bytes (so a name with it makes a claim that can be checked).
fn claim_checkable(ext: &str) -> bool {
    let f = family(ext);
    f != ext || infer::is_supported(ext)
}

/// Program formats: refused by content, or, where executables are
/// allowed, unless the name says what they are.
fn is_program(kind: &infer::Type) -> bool {
    matches!(
        kind.extension(),
        "elf" | "exe" | "dll" | "mach" | "dex" | "dey" | "class" | "wasm" | "macho"
    ) || matches!(
        kind.mime_type(),
        "application/x-executable"
            | "application/vnd.microsoft.portable-executable"
            | "application/x-mach-binary"
    )
}

/// The names a program may honestly have: its own extensions, or none.
fn program_name_ok(kind: &infer::Type, ext: Option<&str>) -> bool {
    match ext {
        None => true,
        Some(ext) => {
            family(ext) == family(kind.extension())
                || matches!(
                    (kind.extension(), ext),
                    ("elf", "so" | "bin" | "out" | "run" | "appimage")
                        | ("mach", "dylib" | "bundle" | "app")
                        | ("exe" | "dll", "exe" | "dll" | "sys" | "scr" | "efi")
                        | ("dex", "apk")
                )
        }
    }
}

/// The lower-case extension of a file name, if it has a plausible one.
pub fn extension(name: Option<&str>) -> Option<String> {
    let name = name?.rsplit(['/', '\\']).next()?;
    let (stem, ext) = name.rsplit_once('.')?;
    let ext = ext.to_ascii_lowercase();
    (!stem.is_empty()
        && !ext.is_empty()
        && ext.len() <= 10
        && ext.bytes().all(|b| b.is_ascii_alphanumeric()))
    .then_some(ext)
}

/// Checks `head` (the file's first bytes) against the kind it is uploaded
/// as and its file name. A program is refused, unless `allow_executables`
/// and its name is one a program may have.
pub fn check(
    kind: MessageType,
    head: &[u8],
    name: Option<&str>,
    allow_executables: bool,
) -> Result<Sniffed, Mismatch> {
    let found = infer::get(head);
    let claimed = extension(name);
    if let Some(kind) = &found
        && is_program(kind)
    {
        let honest = program_name_ok(kind, claimed.as_deref());
        if !honest && let Some(ext) = claimed {
            return Err(Mismatch::Disguised(ext));
        }
        if !allow_executables || !honest {
            return Err(Mismatch::Executable);
        }
    }
    if let Some(ext) = claimed.as_deref()
        && claim_checkable(ext)
    {
        let agrees = found
            .as_ref()
            .is_some_and(|k| family(k.extension()) == family(ext));
        if !agrees {
            return Err(Mismatch::Disguised(ext.to_owned()));
        }
    }
    let sniffed = |ext: &str, mime: &str| Sniffed {
        mime: mime.to_owned(),
        ext: ext.to_owned(),
    };
    match kind {
        MessageType::Text => Err(Mismatch::Text),
        MessageType::Image => match &found {
            Some(k) if IMAGE_FORMATS.contains(&k.extension()) => {
                Ok(sniffed(k.extension(), k.mime_type()))
            }
            _ => Err(Mismatch::NotImage),
        },
        MessageType::Audio => {
            let k = found.as_ref().ok_or(Mismatch::NotAudio)?;
            match k.extension() {
                ext @ ("mp3" | "wav" | "ogg" | "m4a" | "aac" | "flac") => {
                    Ok(sniffed(ext, k.mime_type()))
                }
                "opus" => Ok(sniffed("ogg", "audio/ogg")),
                // ASF is WMA's container as well as WMV's.
                "wmv" => Ok(sniffed("wma", "audio/x-ms-wma")),
                // An MP4 container is audio when its name says `.m4a`.
                "mp4" | "m4v" if family(claimed.as_deref().unwrap_or("")) == "iso-bmff" => {
                    Ok(sniffed("m4a", "audio/mp4"))
                }
                _ => Err(Mismatch::NotAudio),
            }
        }
        MessageType::Video => match &found {
            Some(k) if VIDEO_FORMATS.contains(&k.extension()) => {
                Ok(sniffed(k.extension(), k.mime_type()))
            }
            Some(k) if k.extension() == "m4v" => Ok(sniffed("mp4", "video/mp4")),
            _ => Err(Mismatch::NotVideo),
        },
        MessageType::File => Ok(match (&found, claimed) {
            (Some(k), _) => sniffed(k.extension(), k.mime_type()),
            (None, Some(ext)) => sniffed(&ext, "application/octet-stream"),
            (None, None) => sniffed("bin", "application/octet-stream"),
        }),
    }
}

/// Whether the first bytes look like a video: only a video may be larger
/// than the other kinds' limit.
pub fn looks_like_video(head: &[u8]) -> bool {
    infer::get(head).is_some_and(|k| k.matcher_type() == infer::MatcherType::Video)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A 1×1 PNG.
    pub const PNG: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8,
        0xCF, 0xC0, 0xF0, 0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00,
        0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];
    pub const ELF: &[u8] =
        b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00";
    /// A 64-bit Mach-O header.
    const MACHO: &[u8] = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01\x03\x00\x00\x00\x02\x00\x00\x00";
    const PE: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00";
    const MP3: &[u8] = b"ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x00";
    const WAV: &[u8] = b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00";
    const FLAC: &[u8] = b"fLaC\x00\x00\x00\x22\x10\x00\x10\x00";
    const OGG: &[u8] = b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00";
    const MP4: &[u8] = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41";
    const M4A: &[u8] = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom\x00\x00";
    const WEBM: &[u8] = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm\x42\x87\x81\x04";
    const ASF: &[u8] = b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c";
    const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";

    /// The operator's default: executables refused.
    fn check(kind: MessageType, head: &[u8], name: Option<&str>) -> Result<Sniffed, Mismatch> {
        super::check(kind, head, name, false)
    }

    /// `bytes` padded with zeros, as a file's first bytes would run on
    /// (some matchers need 257 bytes or more).
    pub fn padded(bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        out.resize(out.len().max(512), 0);
        out
    }

    #[test]
    fn images_by_content() {
        let ok = check(MessageType::Image, PNG, Some("cat.png")).unwrap();
        assert_eq!((ok.ext.as_str(), ok.mime.as_str()), ("png", "image/png"));
        // No name, or a name of no known type: the content decides.
        assert!(check(MessageType::Image, PNG, None).is_ok());
        assert!(check(MessageType::Image, PNG, Some("cat")).is_ok());
        assert_eq!(
            check(MessageType::Image, b"hello", Some("cat.txt")),
            Err(Mismatch::NotImage)
        );
        assert_eq!(
            check(MessageType::Image, &padded(PDF), None),
            Err(Mismatch::NotImage)
        );
        // A PNG named .jpg claims another format.
        assert_eq!(
            check(MessageType::Image, PNG, Some("cat.jpg")),
            Err(Mismatch::Disguised("jpg".into()))
        );
    }

    #[test]
    fn an_executable_renamed_jpg_is_refused_whatever_its_kind() {
        for kind in [
            MessageType::Image,
            MessageType::File,
            MessageType::Audio,
            MessageType::Video,
        ] {
            assert_eq!(
                check(kind, &padded(ELF), Some("holiday.jpg")),
                Err(Mismatch::Disguised("jpg".into())),
                "{kind:?}"
            );
            assert_eq!(
                check(kind, &padded(PE), Some("song.mp3")),
                Err(Mismatch::Disguised("mp3".into()))
            );
            assert_eq!(
                check(kind, &padded(ELF), Some("notes.txt")),
                Err(Mismatch::Disguised("txt".into()))
            );
        }
        // Whatever its name, or with none, a program is refused by content.
        for (head, name) in [
            (&padded(ELF), Some("tool")),
            (&padded(ELF), None),
            (&padded(ELF), Some("libx.so")),
            (&padded(PE), Some("setup.exe")),
            (&padded(MACHO), Some("tool")),
        ] {
            assert_eq!(
                check(MessageType::File, head, name),
                Err(Mismatch::Executable),
                "{name:?}"
            );
        }
        assert_eq!(
            check(MessageType::Image, &padded(ELF), None),
            Err(Mismatch::Executable)
        );
    }

    #[test]
    fn executables_pass_as_files_where_the_operator_allows_them() {
        let allowed = |head: &[u8], name| super::check(MessageType::File, head, name, true);
        assert_eq!(allowed(&padded(ELF), Some("tool")).unwrap().ext, "elf");
        assert_eq!(allowed(&padded(ELF), None).unwrap().ext, "elf");
        assert_eq!(allowed(&padded(ELF), Some("libx.so")).unwrap().ext, "elf");
        assert_eq!(allowed(&padded(PE), Some("setup.exe")).unwrap().ext, "exe");
        // A misleading name is still refused, and a program is no image.
        assert_eq!(
            allowed(&padded(ELF), Some("holiday.jpg")),
            Err(Mismatch::Disguised("jpg".into()))
        );
        assert_eq!(
            super::check(MessageType::Image, &padded(ELF), None, true),
            Err(Mismatch::NotImage)
        );
        // A script is text, allowed or not.
        assert!(check(MessageType::File, b"#!/bin/sh\nrm -rf /\n", Some("x.sh")).is_ok());
    }

    #[test]
    fn audio_formats_of_the_seed() {
        for (head, ext) in [
            (&padded(MP3), "mp3"),
            (&padded(WAV), "wav"),
            (&padded(FLAC), "flac"),
            (&padded(OGG), "ogg"),
            (&padded(M4A), "m4a"),
            (&padded(ASF), "wma"),
        ] {
            assert_eq!(check(MessageType::Audio, head, None).unwrap().ext, ext);
        }
        // An MP4 container named .m4a is audio; unnamed, it is a video.
        assert_eq!(
            check(MessageType::Audio, &padded(MP4), Some("voice.m4a"))
                .unwrap()
                .ext,
            "m4a"
        );
        assert_eq!(
            check(MessageType::Audio, &padded(MP4), None),
            Err(Mismatch::NotAudio)
        );
        assert_eq!(
            check(MessageType::Audio, PNG, None),
            Err(Mismatch::NotAudio)
        );
        assert_eq!(
            check(MessageType::Audio, b"just text", Some("a.txt")),
            Err(Mismatch::NotAudio)
        );
    }

    #[test]
    fn video_formats_of_the_seed() {
        assert_eq!(
            check(MessageType::Video, &padded(MP4), Some("clip.mp4"))
                .unwrap()
                .ext,
            "mp4"
        );
        assert_eq!(
            check(MessageType::Video, &padded(MP4), Some("clip.mov"))
                .unwrap()
                .ext,
            "mp4"
        );
        assert_eq!(
            check(MessageType::Video, &padded(WEBM), Some("clip.webm"))
                .unwrap()
                .ext,
            "webm"
        );
        assert_eq!(
            check(MessageType::Video, &padded(ASF), Some("clip.wmv"))
                .unwrap()
                .ext,
            "wmv"
        );
        assert_eq!(
            check(MessageType::Video, &padded(MP3), None),
            Err(Mismatch::NotVideo)
        );
        assert_eq!(
            check(MessageType::Video, &padded(MP4), Some("clip.avi")),
            Err(Mismatch::Disguised("avi".into()))
        );
        assert!(looks_like_video(&padded(MP4)));
        assert!(looks_like_video(&padded(WEBM)));
        assert!(!looks_like_video(PNG));
        assert!(!looks_like_video(b"plain text"));
    }

    #[test]
    fn files_take_any_honest_content() {
        let pdf = check(MessageType::File, &padded(PDF), Some("report.pdf")).unwrap();
        assert_eq!(
            (pdf.ext.as_str(), pdf.mime.as_str()),
            ("pdf", "application/pdf")
        );
        let text = check(MessageType::File, b"a,b\n1,2\n", Some("data.CSV")).unwrap();
        assert_eq!(
            (text.ext.as_str(), text.mime.as_str()),
            ("csv", "application/octet-stream")
        );
        assert_eq!(check(MessageType::File, b"?", None).unwrap().ext, "bin");
        assert_eq!(
            check(MessageType::File, PNG, Some("scan.jpeg")),
            Err(Mismatch::Disguised("jpeg".into()))
        );
        assert_eq!(
            check(MessageType::File, b"not a pdf", Some("x.pdf")),
            Err(Mismatch::Disguised("pdf".into()))
        );
        assert_eq!(
            check(MessageType::Text, &padded(PDF), None),
            Err(Mismatch::Text)
        );
    }

    #[test]
    fn extensions() {
        assert_eq!(extension(Some("a.JPG")).as_deref(), Some("jpg"));
        assert_eq!(extension(Some("dir/a.tar.gz")).as_deref(), Some("gz"));
        assert_eq!(extension(Some(".bashrc")), None);
        assert_eq!(extension(Some("noext")), None);
        assert_eq!(extension(Some("bad.e x")), None);
        assert_eq!(extension(None), None);
    }
}
