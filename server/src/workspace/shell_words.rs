//! Splitting a make-expanded command fragment into words the way `/bin/sh` does for a recipe
//! (quotes and backslashes; no expansions, which natmod flags do not use).

/// Splits `s` into words; `Err` names an unterminated quote.
pub fn split(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err(format!("unterminated ' in: {s}")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.peek() {
                            Some(&n @ ('$' | '`' | '"' | '\\')) => {
                                cur.push(n);
                                chars.next();
                            }
                            Some('\n') => {
                                chars.next();
                            }
                            _ => cur.push('\\'),
                        },
                        Some(c) => cur.push(c),
                        None => return Err(format!("unterminated \" in: {s}")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') | None => {}
                    Some(n) => cur.push(n),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn splits_like_sh() {
        assert_eq!(
            split(r#"-I. -DMP_CONFIGFILE='<build/m.config.h>'  -U _FORTIFY_SOURCE -D"A=\"b c\"" x\ y ''"#)
                .unwrap(),
            vec![
                "-I.",
                "-DMP_CONFIGFILE=<build/m.config.h>",
                "-U",
                "_FORTIFY_SOURCE",
                "-DA=\"b c\"",
                "x y",
                ""
            ]
        );
        assert!(split("-D'oops").is_err());
        assert_eq!(split("  ").unwrap(), Vec::<String>::new());
    }
}
