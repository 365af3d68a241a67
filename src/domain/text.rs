//! Text limits of the contract: trimmed, counted in characters, control
//! characters refused.

use std::fmt;

/// Why a piece of user text was refused. `field` names it for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextError {
    pub field: &'static str,
    pub kind: TextErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextErrorKind {
    Empty,
    TooLong { max: usize },
    ControlCharacter,
}

/// Messages speak to the person who typed the text: the page shows them
/// as they are.
impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, ask) = match self.field {
            "name" => ("Your name", "Please enter your name."),
            "title" => ("The title", "Please enter a title."),
            "password" => ("The password", "Please enter the room password."),
            "message" => ("Your message", "Please write a message."),
            "question" => ("Your question", "Please write your question."),
            "answer" => ("The answer", "Please write an answer."),
            "poll question" => ("The poll's question", "Please write the poll's question."),
            "option" => ("An option", "Please fill in every option."),
            other => (other, "Please fill this in."),
        };
        match self.kind {
            TextErrorKind::Empty => f.write_str(ask),
            TextErrorKind::TooLong { max } => {
                write!(f, "{what} is too long: use at most {max} characters.")
            }
            TextErrorKind::ControlCharacter => {
                write!(
                    f,
                    "{what} contains invisible control characters: please remove them."
                )
            }
        }
    }
}

impl std::error::Error for TextError {}

/// Whether line breaks are part of the text (chat, questions, answers) or
/// not (names, titles, passwords).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    Single,
    Multi,
}

/// Trims `input` and checks it against `min..=max` characters.
pub fn bounded(
    field: &'static str,
    input: &str,
    min: usize,
    max: usize,
    lines: Lines,
) -> Result<String, TextError> {
    let text = input.trim();
    let err = |kind| TextError { field, kind };
    let allowed = |c: char| lines == Lines::Multi && (c == '\n' || c == '\t');
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(err(TextErrorKind::ControlCharacter));
    }
    let len = text.chars().count();
    if len < min || (min > 0 && len == 0) {
        return Err(err(TextErrorKind::Empty));
    }
    if len > max {
        return Err(err(TextErrorKind::TooLong { max }));
    }
    Ok(text.to_owned())
}

/// Serde for text newtypes, through their `parse` (what crosses between
/// nodes is checked again) and back to their text.
macro_rules! read_back {
    ($($t:ident),+) => {$(
        impl TryFrom<String> for $t {
            type Error = super::text::TextError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
    )+};
}
pub(crate) use read_back;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_keeps_inner_text_verbatim() {
        assert_eq!(
            bounded("name", "  Ada  Lovelace ", 1, 60, Lines::Single).unwrap(),
            "Ada  Lovelace"
        );
    }

    #[test]
    fn counts_characters_not_bytes() {
        let name = "é".repeat(60);
        assert!(bounded("name", &name, 1, 60, Lines::Single).is_ok());
        let err = bounded("name", &"é".repeat(61), 1, 60, Lines::Single).unwrap_err();
        assert_eq!(err.kind, TextErrorKind::TooLong { max: 60 });
        assert_eq!(
            err.to_string(),
            "Your name is too long: use at most 60 characters."
        );
    }

    #[test]
    fn refuses_blank_and_control_characters() {
        let err = bounded("title", " \t ", 1, 200, Lines::Single).unwrap_err();
        assert_eq!(err.kind, TextErrorKind::Empty);
        let err = bounded("name", "a\u{0}b", 1, 60, Lines::Single).unwrap_err();
        assert_eq!(err.kind, TextErrorKind::ControlCharacter);
        let err = bounded("name", "a\nb", 1, 60, Lines::Single).unwrap_err();
        assert_eq!(err.kind, TextErrorKind::ControlCharacter);
        let err = bounded("body", "a\u{1b}[31mb", 1, 2000, Lines::Multi).unwrap_err();
        assert_eq!(err.kind, TextErrorKind::ControlCharacter);
    }

    #[test]
    fn multi_line_text_keeps_line_breaks() {
        assert_eq!(
            bounded("body", "first\nsecond", 1, 2000, Lines::Multi).unwrap(),
            "first\nsecond"
        );
    }

    #[test]
    fn zero_minimum_allows_empty() {
        assert_eq!(bounded("answer", "  ", 0, 5000, Lines::Multi).unwrap(), "");
    }
}
