//! Text that is safe to open in a spreadsheet. A cell starting with `=`,
//! `+`, `-`, `@`, a tab or a carriage return is read as a formula by common
//! spreadsheet programs, so user text gets a leading apostrophe there
//! (OWASP's advice for CSV injection). Quoting is the CSV writer's job.

pub fn neutralise(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_plain_text_kept() {
        assert_eq!(neutralise("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(neutralise("+1"), "'+1");
        assert_eq!(neutralise("-2"), "'-2");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("\tx"), "'\tx");
        assert_eq!(neutralise("Why Rust?"), "Why Rust?");
        assert_eq!(neutralise("a=b"), "a=b");
        assert_eq!(neutralise(""), "");
    }
}
