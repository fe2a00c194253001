//! What the normaliser throws away but a reader hears: clause breaks, exclamation and question
//! marks, symbols. One pass over the original text. (Emoji themselves are matched as symbol
//! literals by the lexicon.)

/// Surface cues of one turn, in original char offsets.
#[derive(Debug, Default, Clone)]
pub(crate) struct Surface {
    /// Clause ends: (char offset of the breaking char or text length, clause is a question).
    pub breaks: Vec<(u32, bool)>,
    /// `!`/`！` count.
    pub exclaims: u32,
    /// Runs of two or more `!?！？` (？？？, !!!).
    pub agitated_runs: u32,
    /// Those of the runs that hold a question mark (？？？, ?!).
    pub question_runs: u32,
    /// Symbol chars (not letters, digits, spaces or clause breaks): emoji, ✔, ：）… — whether
    /// the symbol literals need a look.
    pub symbols: u32,
    /// ASCII or full-width digits present (a cheap gate for entity extraction).
    pub digits: u32,
    /// ASCII letters present.
    pub letters: u32,
    /// 元/块 present (Chinese-numeral amounts: 三十块).
    pub money: u32,
}

fn is_break(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '！'
            | '？'
            | '；'
            | ','
            | '.'
            | '!'
            | '?'
            | ';'
            | '\n'
            | '~'
            | '～'
            | '…'
            | '、'
    )
}

fn is_question_particle(c: char) -> bool {
    matches!(c, '吗' | '吧' | '么' | '呢' | '嘛' | '麼' | '嗎')
}

impl Surface {
    pub(crate) fn scan(&mut self, text: &str) {
        self.breaks.clear();
        self.exclaims = 0;
        self.agitated_runs = 0;
        self.question_runs = 0;
        self.symbols = 0;
        self.digits = 0;
        self.letters = 0;
        self.money = 0;
        let mut run = 0u32;
        let mut run_q = false;
        let mut run_counted_q = false;
        // Last "word" char seen (not noise), to tell 吗-questions without a question mark.
        let mut last_word = ' ';
        let mut pending_break: Option<(u32, bool)> = None;
        let mut n = 0u32;
        for (i, c) in text.chars().enumerate() {
            let i = i as u32;
            n = i + 1;
            match c {
                '!' | '！' | '?' | '？' => {
                    run += 1;
                    run_q |= matches!(c, '?' | '？');
                    if run == 2 {
                        self.agitated_runs += 1;
                    }
                    if run >= 2 && run_q && !run_counted_q {
                        self.question_runs += 1;
                        run_counted_q = true;
                    }
                    if matches!(c, '!' | '！') {
                        self.exclaims += 1;
                    }
                }
                _ => {
                    run = 0;
                    run_q = false;
                    run_counted_q = false;
                }
            }
            if c.is_ascii_digit() || ('０'..='９').contains(&c) {
                self.digits += 1;
            } else if c.is_ascii_alphabetic() || ('Ａ'..='ｚ').contains(&c) {
                self.letters += 1;
            } else if matches!(c, '元' | '块' | '塊') {
                self.money += 1;
            }
            if is_break(c) {
                let q = matches!(c, '?' | '？') || is_question_particle(last_word);
                match &mut pending_break {
                    // A run of breaks (？！。) is one clause end; a question mark anywhere in it
                    // makes it a question.
                    Some((_, pq)) => *pq |= q,
                    None => pending_break = Some((i, q)),
                }
                continue;
            }
            if let Some(b) = pending_break.take() {
                self.breaks.push(b);
            }
            if c.is_alphanumeric() {
                last_word = c;
            } else if !c.is_whitespace() {
                self.symbols += 1;
            }
        }
        match pending_break.take() {
            Some(b) => self.breaks.push(b),
            None => self.breaks.push((n, is_question_particle(last_word))),
        }
    }

    /// Whether a clause break lies in original chars `[from, to)`.
    pub(crate) fn break_between(&self, from: u32, to: u32) -> bool {
        self.breaks.iter().any(|&(b, _)| b >= from && b < to)
    }

    /// Index of the clause holding original char `pos`.
    pub(crate) fn clause_of(&self, pos: u32) -> usize {
        self.breaks.partition_point(|&(b, _)| b < pos)
    }

    /// Whether clause `i` ends as a question.
    pub(crate) fn clause_is_question(&self, i: usize) -> bool {
        self.breaks.get(i).is_some_and(|b| b.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_questions_and_emoji() {
        let mut s = Surface::default();
        s.scan("这个会漏电吗，我好怕😰？？");
        assert_eq!(s.breaks.len(), 2);
        assert!(s.clause_is_question(0));
        assert!(s.clause_is_question(1));
        assert_eq!(s.agitated_runs, 1);
        assert_eq!(s.question_runs, 1);
        assert_eq!(s.symbols, 1);
        s.scan("气死了！！！");
        assert_eq!(s.exclaims, 3);
        assert!(!s.clause_is_question(0));
        assert_eq!(s.clause_of(1), 0);
    }
}
