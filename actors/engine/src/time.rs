//! Times as confab sends them: `2024-01-15T10:30:00.123Z` (RFC 3339, UTC,
//! milliseconds). The one formatter of every layer above: the chat
//! contract's wire styles, the services' events, the server API, the admin
//! UI; here, below them all, so that none imports another for it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the epoch as RFC 3339. A time past year 9999, which
/// RFC 3339 cannot write, is written as that year's last millisecond.
pub fn iso_millis(ms: u64) -> String {
    const LAST: u64 = 253_402_300_799_999;
    let at = UNIX_EPOCH + Duration::from_millis(ms.min(LAST));
    humantime::format_rfc3339_millis(at).to_string()
}

/// A clock time as RFC 3339 (one before the epoch as the epoch).
pub fn iso(at: SystemTime) -> String {
    let ms = at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    iso_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times() {
        assert_eq!(iso_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_millis(1_705_314_600_123), "2024-01-15T10:30:00.123Z");
        assert_eq!(iso_millis(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso_millis(u64::MAX), "9999-12-31T23:59:59.999Z");
        let at = UNIX_EPOCH + Duration::from_millis(1_705_314_600_123);
        assert_eq!(iso(at), "2024-01-15T10:30:00.123Z");
        assert_eq!(
            iso(UNIX_EPOCH - Duration::from_secs(1)),
            "1970-01-01T00:00:00.000Z"
        );
    }
}
