//! Stable hashes for names that must come out the same on every run and machine
//! (replayed and migrated files, legacy event ids, cache entries): FNV-1a, which is
//! not a security boundary; a collision would only make two names one.

/// FNV-1a's offset basis.
const BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a, 64 bits, of `text`, starting from `seed`.
pub fn fnv1a(seed: u64, text: &str) -> u64 {
    text.bytes().fold(seed, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// 64 bits of `text` as 16 hex digits.
pub fn hex64(text: &str) -> String {
    format!("{:016x}", fnv1a(BASIS, text))
}

/// 128 bits of `text` (two FNV-1a runs with different seeds) as 32 hex digits.
pub fn hex128(text: &str) -> String {
    format!(
        "{:016x}{:016x}",
        fnv1a(BASIS, text),
        fnv1a(0x6c62_272e_07bb_0142, text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_distinct() {
        // FNV-1a 64 of "a" is a published test vector.
        assert_eq!(hex64("a"), "af63dc4c8601ec8c");
        assert_eq!(hex128("x").len(), 32);
        assert_ne!(hex128("x"), hex128("y"));
        assert_eq!(hex128("x"), hex128("x"));
    }
}
