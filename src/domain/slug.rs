//! A room's link: an optional readable part from the title and a random
//! part that makes it unguessable.

use std::fmt;

/// Characters of the random part: lower case and digits, so a link read
/// out or typed in any case still works; 36 symbols, so 10 of them carry
/// log2(36^10) ~ 51.7 bits, above the 48 the contract asks for.
pub const RANDOM_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
pub const RANDOM_LEN: usize = 10;
const READABLE_MAX: usize = 40;
const MAX_LEN: usize = READABLE_MAX + 1 + RANDOM_LEN;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSlug;

impl fmt::Display for InvalidSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("No such room. Check the link you were given.")
    }
}

impl std::error::Error for InvalidSlug {}

impl Slug {
    /// Parses a slug from a URL, in any case. Anything that could not have
    /// been issued by [`Slug::generate`] is refused without touching the
    /// database.
    pub fn parse(input: &str) -> Result<Self, InvalidSlug> {
        let input = input.to_ascii_lowercase();
        let ok_len = (RANDOM_LEN..=MAX_LEN).contains(&input.len());
        let ok_chars = input
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let random = input.rsplit('-').next().unwrap_or("");
        if ok_len && ok_chars && random.len() == RANDOM_LEN && !input.starts_with('-') {
            Ok(Self(input))
        } else {
            Err(InvalidSlug)
        }
    }

    /// Builds a slug from a title and `RANDOM_LEN` random symbols, which the
    /// caller draws from the OS RNG (the domain does no I/O).
    pub fn generate(title: &str, random: &[u8; RANDOM_LEN]) -> Self {
        let mut readable = String::new();
        for c in title.chars().flat_map(char::to_lowercase) {
            if readable.len() >= READABLE_MAX {
                break;
            }
            if c.is_ascii_alphanumeric() {
                readable.push(c);
            } else if !readable.is_empty() && !readable.ends_with('-') {
                readable.push('-');
            }
        }
        let random: String = random
            .iter()
            .map(|b| RANDOM_ALPHABET[usize::from(*b) % RANDOM_ALPHABET.len()] as char)
            .collect();
        let readable = readable.trim_end_matches('-');
        if readable.is_empty() {
            Self(random)
        } else {
            Self(format!("{readable}-{random}"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: [u8; RANDOM_LEN] = [0, 1, 2, 3, 26, 27, 34, 35, 36, 37];

    #[test]
    fn readable_part_comes_from_the_title() {
        let slug = Slug::generate("Rust at Scale!", &R);
        assert_eq!(slug.as_str(), "rust-at-scale-abcd0189ab");
        assert_eq!(Slug::parse(slug.as_str()).unwrap(), slug);
    }

    #[test]
    fn links_are_lower_case_and_read_in_any_case() {
        let slug = Slug::generate("Rust at Scale!", &R);
        assert_eq!(Slug::parse("Rust-At-Scale-ABCD0189AB").unwrap(), slug);
    }

    #[test]
    fn titles_without_ascii_give_only_the_random_part() {
        let slug = Slug::generate("日本語 ✨", &R);
        assert_eq!(slug.as_str(), "abcd0189ab");
        assert!(Slug::parse(slug.as_str()).is_ok());
    }

    #[test]
    fn long_titles_are_cut() {
        let slug = Slug::generate(&"word ".repeat(50), &R);
        assert!(slug.as_str().len() <= MAX_LEN);
        assert!(Slug::parse(slug.as_str()).is_ok());
    }

    #[test]
    fn malformed_slugs_are_refused() {
        for bad in [
            "",
            "short",
            "has space-ABCDEFGHIJ",
            "../../etc-ABCDEFGHIJ",
            "-ABCDEFGHIJ",
            "title-ABC",
            &"a".repeat(200),
            "ünïcode-ABCDEFGHIJ",
        ] {
            assert_eq!(Slug::parse(bad), Err(InvalidSlug), "{bad:?}");
        }
    }
}
