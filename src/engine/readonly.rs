//! Which ad-hoc statements may run: only reads (SELECT, WITH, SHOW, DESCRIBE,
//! EXPLAIN of a read), checked on the statement's text before any engine sees it, so
//! `cplogs query` can never create, change or drop anything on Athena.

/// Why a statement was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The statement is not a read.
    #[error(
        "{0} statements are refused: cplogs query runs only SELECT, WITH, SHOW, DESCRIBE and EXPLAIN"
    )]
    NotARead(String),
    /// `EXPLAIN ANALYZE` runs the statement it explains.
    #[error(
        "EXPLAIN ANALYZE of a {0} statement is refused: it would run it (cplogs query only reads)"
    )]
    ExplainAnalyze(String),
    /// More than one statement.
    #[error("only one statement can run at a time: remove everything after the first `;`")]
    Several,
    /// Nothing but whitespace and comments.
    #[error("the query is empty")]
    Empty,
}

/// The statement kinds that only read.
const READS: [&str; 6] = ["SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN"];

/// A lexical token: a word (upper-cased) or one punctuation character. Quoted text
/// and comments are skipped, so a `;` or a keyword inside them does not count.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Punct(char),
}

fn tokens(sql: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '-' if chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            '\'' | '"' | '`' => {
                // A doubled quote inside is an escaped quote: the string goes on.
                loop {
                    match chars.next() {
                        None => break,
                        Some(q) if q == c => {
                            if chars.peek() == Some(&c) {
                                chars.next();
                            } else {
                                break;
                            }
                        }
                        Some(_) => {}
                    }
                }
                out.push(Token::Word(String::new()));
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut w = c.to_uppercase().collect::<String>();
                while let Some(&n) = chars.peek() {
                    if n.is_alphanumeric() || n == '_' {
                        w.extend(n.to_uppercase());
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Word(w));
            }
            c => out.push(Token::Punct(c)),
        }
    }
    out
}

/// The first word of `tokens`, past opening parentheses: `(SELECT …)` is a query.
fn first_word(tokens: &[Token]) -> Option<(usize, &str)> {
    tokens.iter().enumerate().find_map(|(i, t)| match t {
        Token::Punct('(') => None,
        Token::Word(w) => Some(Some((i, w.as_str()))),
        Token::Punct(_) => Some(None),
    })?
}

/// Checks that `sql` is one statement that only reads.
pub fn check(sql: &str) -> Result<(), Refused> {
    let tokens = tokens(sql);
    // A trailing `;` is fine; anything after one is a second statement.
    if let Some(semi) = tokens.iter().position(|t| *t == Token::Punct(';'))
        && tokens[semi + 1..].iter().any(|t| *t != Token::Punct(';'))
    {
        return Err(Refused::Several);
    }
    check_tokens(&tokens)
}

fn check_tokens(tokens: &[Token]) -> Result<(), Refused> {
    let Some((at, word)) = first_word(tokens) else {
        return Err(match tokens.first() {
            None => Refused::Empty,
            Some(Token::Punct(c)) => Refused::NotARead(c.to_string()),
            Some(Token::Word(w)) => Refused::NotARead(w.clone()),
        });
    };
    if !READS.contains(&word) {
        let kind = if word.is_empty() { "quoted" } else { word };
        return Err(Refused::NotARead(kind.to_owned()));
    }
    if word != "EXPLAIN" {
        return Ok(());
    }
    // EXPLAIN [ANALYZE] [VERBOSE] [(option, …)] statement: ANALYZE executes it, so
    // the explained statement must itself be a read.
    let mut rest = &tokens[at + 1..];
    let mut analyze = false;
    loop {
        match rest.first() {
            Some(Token::Word(w)) if w == "ANALYZE" => analyze = true,
            Some(Token::Word(w)) if w == "VERBOSE" => {}
            Some(Token::Punct('(')) if !matches!(rest.get(1), Some(Token::Word(w)) if READS.contains(&w.as_str())) =>
            {
                let close = rest
                    .iter()
                    .position(|t| *t == Token::Punct(')'))
                    .unwrap_or(rest.len() - 1);
                rest = &rest[close..];
            }
            _ => break,
        }
        rest = &rest[1..];
    }
    check_tokens(rest).map_err(|e| match (e, analyze) {
        (Refused::NotARead(kind), true) => Refused::ExplainAnalyze(kind),
        (e, _) => e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pass() {
        for sql in [
            "SELECT 1",
            "select * from t;",
            "  -- a comment\n/* another; DROP */ WITH x AS (SELECT 1) SELECT * FROM x",
            "(SELECT 1) UNION ALL (SELECT 2)",
            "SHOW TABLES",
            "show partitions pipeline_execution_state_change",
            "DESCRIBE action_execution_state_change",
            "EXPLAIN SELECT 1",
            "EXPLAIN (TYPE DISTRIBUTED) SELECT 1",
            "EXPLAIN ANALYZE SELECT count(*) FROM t",
            "SELECT 'a; DROP TABLE t' AS x",
            "SELECT \"weird;\"\"name\" FROM t",
        ] {
            assert_eq!(check(sql), Ok(()), "{sql}");
        }
    }

    #[test]
    fn everything_else_is_refused_and_named() {
        for (sql, kind) in [
            ("CREATE TABLE x AS SELECT 1", "CREATE"),
            (
                "create external table x (a int) location 's3://b/'",
                "CREATE",
            ),
            ("INSERT INTO t SELECT * FROM t", "INSERT"),
            (
                "UNLOAD (SELECT 1) TO 's3://b/' WITH (format = 'JSON')",
                "UNLOAD",
            ),
            ("DROP TABLE pipeline_execution_state_change", "DROP"),
            ("MSCK REPAIR TABLE t", "MSCK"),
            ("ALTER TABLE t ADD PARTITION (dt='x')", "ALTER"),
            ("DELETE FROM t", "DELETE"),
            ("UPDATE t SET a = 1", "UPDATE"),
            (
                "MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE",
                "MERGE",
            ),
            ("VACUUM t", "VACUUM"),
            ("OPTIMIZE t REWRITE DATA USING BIN_PACK", "OPTIMIZE"),
            ("PREPARE p FROM SELECT 1", "PREPARE"),
            ("/* SELECT */ DROP TABLE t", "DROP"),
        ] {
            assert_eq!(check(sql), Err(Refused::NotARead(kind.into())), "{sql}");
        }
        assert_eq!(
            check("EXPLAIN ANALYZE INSERT INTO t SELECT 1"),
            Err(Refused::ExplainAnalyze("INSERT".into()))
        );
        assert_eq!(
            check("EXPLAIN DROP TABLE t"),
            Err(Refused::NotARead("DROP".into()))
        );
        assert_eq!(check("SELECT 1; DROP TABLE t"), Err(Refused::Several));
        assert_eq!(check("SELECT 1;;"), Ok(()));
        assert_eq!(check(" -- nothing\n"), Err(Refused::Empty));
        assert!(check("'DROP'").is_err());
    }
}
