//! Polls: their text limits, their life (draft, open, closed, never back)
//! and what a vote may choose.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::text::{bounded, Lines, TextError};

/// A poll's question, 1..=300 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PollQuestion(String);

impl PollQuestion {
    pub fn parse(input: &str) -> Result<Self, TextError> {
        bounded("poll question", input, 1, 300, Lines::Multi).map(Self)
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A poll's options: 2..=10 of 1..=100 characters each, all different.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct PollOptions(Vec<String>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PollError {
    #[error("{0}")]
    Text(#[from] TextError),
    #[error("A poll has 2 to 10 options.")]
    OptionCount,
    #[error("Two options of a poll read the same: make each one different.")]
    SameOption,
    #[error("Choose one option.")]
    OneChoice,
    #[error("Choose at least one option.")]
    NoChoice,
    #[error("There is no option {0} in this poll.")]
    NoSuchOption(usize),
    #[error("An option was chosen twice.")]
    ChosenTwice,
    #[error("A poll that is {from} cannot become {to}.")]
    Transition { from: PollStatus, to: PollStatus },
}

impl PollOptions {
    pub fn parse(options: &[String]) -> Result<Self, PollError> {
        if !(2..=10).contains(&options.len()) {
            return Err(PollError::OptionCount);
        }
        let parsed = options
            .iter()
            .map(|o| bounded("option", o, 1, 100, Lines::Single))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, o) in parsed.iter().enumerate() {
            if parsed[..i].contains(o) {
                return Err(PollError::SameOption);
            }
        }
        Ok(Self(parsed))
    }
    pub fn into_inner(self) -> Vec<String> {
        self.0
    }
}

super::text::read_back!(PollQuestion);

impl TryFrom<Vec<String>> for PollOptions {
    type Error = PollError;
    fn try_from(v: Vec<String>) -> Result<Self, PollError> {
        Self::parse(&v)
    }
}

impl From<PollOptions> for Vec<String> {
    fn from(v: PollOptions) -> Vec<String> {
        v.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PollStatus {
    Draft,
    Open,
    Closed,
}

impl PollStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PollStatus::Draft => "draft",
            PollStatus::Open => "open",
            PollStatus::Closed => "closed",
        }
    }

    /// Draft -> open -> closed; a draft may also close unopened. Asking for
    /// the status it has is no change, and no error.
    pub fn to(self, next: PollStatus) -> Result<PollStatus, PollError> {
        use PollStatus::*;
        match (self, next) {
            (a, b) if a == b => Ok(b),
            (Draft, Open) | (Draft, Closed) | (Open, Closed) => Ok(next),
            (from, to) => Err(PollError::Transition { from, to }),
        }
    }
}

impl fmt::Display for PollStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PollStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "draft" => Ok(PollStatus::Draft),
            "open" => Ok(PollStatus::Open),
            "closed" => Ok(PollStatus::Closed),
            other => Err(format!(
                "a poll's status is draft, open or closed, not {other:?}"
            )),
        }
    }
}

/// A vote's choice, checked against the poll: the option indices in
/// ascending order.
pub fn choice(chosen: &[usize], options: usize, multiple: bool) -> Result<Vec<i16>, PollError> {
    if chosen.is_empty() {
        return Err(PollError::NoChoice);
    }
    if !multiple && chosen.len() > 1 {
        return Err(PollError::OneChoice);
    }
    let mut sorted = chosen.to_vec();
    sorted.sort_unstable();
    if let Some(bad) = sorted.iter().find(|i| **i >= options) {
        return Err(PollError::NoSuchOption(*bad));
    }
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(PollError::ChosenTwice);
    }
    // At most 10 options: every index fits.
    Ok(sorted.into_iter().map(|i| i as i16).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_are_two_to_ten_different_ones() {
        assert_eq!(
            PollOptions::parse(&opts(&["a"])),
            Err(PollError::OptionCount)
        );
        assert_eq!(
            PollOptions::parse(&opts(&["a"; 11])),
            Err(PollError::OptionCount)
        );
        assert_eq!(
            PollOptions::parse(&opts(&["a", " a "])),
            Err(PollError::SameOption)
        );
        assert!(matches!(
            PollOptions::parse(&opts(&["a", ""])),
            Err(PollError::Text(_))
        ));
        assert!(PollOptions::parse(&opts(&["a", &"b".repeat(101)])).is_err());
        assert_eq!(
            PollOptions::parse(&opts(&[" yes", "no "]))
                .unwrap()
                .into_inner(),
            ["yes", "no"]
        );
        assert!(PollQuestion::parse(&"q".repeat(301)).is_err());
    }

    #[test]
    fn a_poll_goes_forward_only() {
        use PollStatus::*;
        assert_eq!(Draft.to(Open), Ok(Open));
        assert_eq!(Open.to(Closed), Ok(Closed));
        assert_eq!(Open.to(Open), Ok(Open));
        assert!(Closed.to(Open).is_err());
        assert!(Open.to(Draft).is_err());
        assert_eq!("open".parse::<PollStatus>(), Ok(Open));
        assert!("reopened".parse::<PollStatus>().is_err());
    }

    #[test]
    fn a_choice_fits_the_poll() {
        assert_eq!(choice(&[1], 3, false), Ok(vec![1]));
        assert_eq!(choice(&[2, 0], 3, true), Ok(vec![0, 2]));
        assert_eq!(choice(&[0, 1], 3, false), Err(PollError::OneChoice));
        assert_eq!(choice(&[], 3, true), Err(PollError::NoChoice));
        assert_eq!(choice(&[3], 3, false), Err(PollError::NoSuchOption(3)));
        assert_eq!(choice(&[1, 1], 3, true), Err(PollError::ChosenTwice));
    }
}
