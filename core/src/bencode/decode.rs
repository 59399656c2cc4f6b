use super::{
    BencodeError, BencodeErrorKind as E, DecodeOptions, Mode, Value, Warning, WarningKind,
};
use std::collections::BTreeMap;
use std::ops::Range;

/// The type of a bencoded value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Bytes,
    List,
    Dict,
}

/// One value in the flat token list. 16 bytes: spans are 32-bit.
#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    /// Offset of the value's first byte.
    start: u32,
    /// Offset one past the value's last byte.
    end: u32,
    /// Containers: index of the token after the whole subtree. Strings: offset of the payload.
    aux: u32,
}

/// A decoded document: the input and a flat token list over it.
///
/// `B` is whatever holds the input: `&[u8]` to borrow it, `Vec<u8>` to own it.
#[derive(Debug, Clone)]
pub struct Document<B> {
    input: B,
    tokens: Vec<Token>,
    warnings: Vec<Warning>,
}

/// Decodes one bencoded value that must span the whole input.
///
/// See the [module documentation](super) for the modes and limits.
pub fn decode<B: AsRef<[u8]>>(input: B, options: DecodeOptions) -> Result<Document<B>> {
    let (tokens, warnings, _) = Tokenizer::new(input.as_ref(), options).run(false)?;
    Ok(Document {
        input,
        tokens,
        warnings,
    })
}

/// Decodes one bencoded value at the start of the input, which may go on after it; returns the
/// document and the value's length in bytes.
///
/// For messages that carry raw bytes after a dictionary (BEP 9's `data`). The rules are those of
/// [`decode`] in the same mode, except that what follows the value is neither an error nor a
/// warning: it is the caller's to read, from the returned length on. The document's
/// [`input`](Document::input) is the whole input, bytes after the value included.
pub fn decode_prefix<B: AsRef<[u8]>>(
    input: B,
    options: DecodeOptions,
) -> Result<(Document<B>, usize)> {
    let (tokens, warnings, len) = Tokenizer::new(input.as_ref(), options).run(true)?;
    Ok((
        Document {
            input,
            tokens,
            warnings,
        },
        len,
    ))
}

impl<B: AsRef<[u8]>> Document<B> {
    /// The top-level value.
    pub fn root(&self) -> Node<'_> {
        Node {
            input: self.input.as_ref(),
            tokens: &self.tokens,
            index: 0,
        }
    }

    /// The value whose token index is `index` (see [`Node::index`]), if there is one.
    pub fn node(&self, index: usize) -> Option<Node<'_>> {
        (index < self.tokens.len()).then(|| Node {
            input: self.input.as_ref(),
            tokens: &self.tokens,
            index,
        })
    }

    /// What tolerant decoding accepted that is not canonical (always empty in strict mode).
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    pub fn input(&self) -> &[u8] {
        self.input.as_ref()
    }

    /// Number of values in the document, keys included.
    pub fn token_count(&self) -> usize {
        self.tokens.len()
    }

    pub fn into_input(self) -> B {
        self.input
    }
}

/// A value inside a [`Document`]: cheap to copy, borrows the document.
#[derive(Clone, Copy)]
pub struct Node<'d> {
    input: &'d [u8],
    tokens: &'d [Token],
    index: usize,
}

impl std::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("kind", &self.kind())
            .field("span", &self.span())
            .finish()
    }
}

impl<'d> Node<'d> {
    fn token(&self) -> Token {
        self.tokens[self.index]
    }

    fn at(&self, index: usize) -> Node<'d> {
        Node { index, ..*self }
    }

    /// Index of the token after this value and everything inside it.
    fn next(&self) -> usize {
        match self.token().kind {
            Kind::List | Kind::Dict => self.token().aux as usize,
            Kind::Int | Kind::Bytes => self.index + 1,
        }
    }

    pub fn kind(&self) -> Kind {
        self.token().kind
    }

    /// This value's position in its document's token list (stable for the document's life).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The byte range of the whole value in the input.
    pub fn span(&self) -> Range<usize> {
        let t = self.token();
        t.start as usize..t.end as usize
    }

    /// The exact input bytes of the whole value.
    pub fn raw(&self) -> &'d [u8] {
        &self.input[self.span()]
    }

    pub fn as_int(&self) -> Option<i64> {
        (self.kind() == Kind::Int).then(|| {
            let digits = &self.raw()[1..self.raw().len() - 1];
            // Validated by the tokenizer: fits in i64 and is well formed.
            let (negative, digits) = match digits.split_first() {
                Some((b'-', rest)) => (true, rest),
                _ => (false, digits),
            };
            let magnitude = digits
                .iter()
                .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
            if negative {
                0i64.wrapping_sub_unsigned(magnitude)
            } else {
                magnitude as i64
            }
        })
    }

    /// The payload of a byte string.
    pub fn as_bytes(&self) -> Option<&'d [u8]> {
        let t = self.token();
        (t.kind == Kind::Bytes).then(|| &self.input[t.aux as usize..t.end as usize])
    }

    /// The payload of a byte string that is valid UTF-8.
    pub fn as_str(&self) -> Option<&'d str> {
        self.as_bytes().and_then(|b| std::str::from_utf8(b).ok())
    }

    /// The items of a list.
    pub fn as_list(&self) -> Option<Items<'d>> {
        (self.kind() == Kind::List).then(|| Items {
            node: self.at(self.index + 1),
            end: self.next(),
        })
    }

    /// The entries of a dictionary, in input order.
    pub fn as_dict(&self) -> Option<Entries<'d>> {
        (self.kind() == Kind::Dict).then(|| Entries {
            items: Items {
                node: self.at(self.index + 1),
                end: self.next(),
            },
        })
    }

    /// Looks `key` up in a dictionary; `None` for a missing key or a value that is not a dictionary.
    pub fn get(&self, key: &[u8]) -> Option<Node<'d>> {
        self.as_dict()?.find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Items of a list or entries of a dictionary; 0 for a scalar.
    pub fn len(&self) -> usize {
        match self.kind() {
            Kind::List => self.as_list().map_or(0, |i| i.count()),
            Kind::Dict => self.as_dict().map_or(0, |e| e.count()),
            Kind::Int | Kind::Bytes => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies this value into an owned tree (without recursion; depth was bounded by decoding).
    pub fn to_value(&self) -> Value {
        enum Open {
            List(Vec<Value>),
            Dict(BTreeMap<Vec<u8>, Value>, Option<Vec<u8>>),
        }
        // Each open container with the token index where it ends.
        let mut stack: Vec<(Open, usize)> = Vec::new();
        let mut index = self.index;
        loop {
            let node = self.at(index);
            let mut done = match node.kind() {
                Kind::Int => Some(Value::Int(node.as_int().unwrap_or_default())),
                Kind::Bytes => Some(Value::Bytes(node.as_bytes().unwrap_or_default().to_vec())),
                Kind::List => {
                    stack.push((Open::List(Vec::new()), node.next()));
                    None
                }
                Kind::Dict => {
                    stack.push((Open::Dict(BTreeMap::new(), None), node.next()));
                    None
                }
            };
            index += 1;
            loop {
                if let Some(value) = done.take() {
                    match stack.last_mut() {
                        None => return value,
                        Some((Open::List(items), _)) => items.push(value),
                        Some((Open::Dict(entries, key), _)) => match (key.take(), value) {
                            (Some(k), v) => {
                                entries.insert(k, v);
                            }
                            (None, Value::Bytes(k)) => *key = Some(k),
                            (None, _) => unreachable!("the tokenizer only lets strings be keys"),
                        },
                    }
                }
                match stack.last() {
                    Some((_, end)) if *end == index => {
                        done = Some(match stack.pop() {
                            Some((Open::List(items), _)) => Value::List(items),
                            Some((Open::Dict(entries, _), _)) => Value::Dict(entries),
                            None => unreachable!(),
                        });
                    }
                    _ => break,
                }
            }
        }
    }
}

/// Iterator over the items of a list.
#[derive(Clone)]
pub struct Items<'d> {
    node: Node<'d>,
    end: usize,
}

impl<'d> Iterator for Items<'d> {
    type Item = Node<'d>;
    fn next(&mut self) -> Option<Node<'d>> {
        (self.node.index < self.end).then(|| {
            let item = self.node;
            self.node.index = item.next();
            item
        })
    }
}

/// Iterator over the `(key, value)` entries of a dictionary.
#[derive(Clone)]
pub struct Entries<'d> {
    items: Items<'d>,
}

impl<'d> Iterator for Entries<'d> {
    type Item = (&'d [u8], Node<'d>);
    fn next(&mut self) -> Option<Self::Item> {
        let key = self.items.next()?;
        let value = self.items.next()?;
        Some((key.as_bytes().unwrap_or_default(), value))
    }
}

/// An open list or dictionary while tokenizing.
struct Frame {
    token: usize,
    dict: bool,
    expect_key: bool,
    /// Payload span of the previous key, to check order.
    last_key: Option<Range<usize>>,
    /// A key came out of order (tolerant mode): duplicates are checked when the dictionary closes.
    unsorted: bool,
}

struct Tokenizer<'a> {
    input: &'a [u8],
    pos: usize,
    options: DecodeOptions,
    tokens: Vec<Token>,
    warnings: Vec<Warning>,
    stack: Vec<Frame>,
}

type Result<T> = std::result::Result<T, BencodeError>;

fn err<T>(offset: usize, kind: super::BencodeErrorKind) -> Result<T> {
    Err(BencodeError { offset, kind })
}

impl<'a> Tokenizer<'a> {
    fn new(input: &'a [u8], options: DecodeOptions) -> Self {
        // Torrents average a value per 7 or 8 bytes: reserving that avoids most regrowth.
        let tokens = Vec::with_capacity((input.len() / 8).min(options.limits.max_tokens));
        Tokenizer {
            input,
            pos: 0,
            options,
            tokens,
            warnings: Vec::new(),
            stack: Vec::new(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn end_error<T>(&self, expected: &'static str) -> Result<T> {
        err(self.input.len(), E::UnexpectedEnd { expected })
    }

    fn byte_error<T>(&self, expected: &'static str) -> Result<T> {
        match self.peek() {
            Some(found) => err(self.pos, E::UnexpectedByte { found, expected }),
            None => self.end_error(expected),
        }
    }

    /// In strict mode a non-canonical form is an error; in tolerant mode a warning.
    fn non_canonical(
        &mut self,
        offset: usize,
        error: super::BencodeErrorKind,
        warning: WarningKind,
    ) -> Result<()> {
        match self.options.mode {
            Mode::Strict => err(offset, error),
            Mode::Tolerant => {
                self.warnings.push(Warning {
                    offset,
                    kind: warning,
                });
                Ok(())
            }
        }
    }

    fn push_token(&mut self, kind: Kind, start: usize, end: usize, aux: usize) -> Result<usize> {
        if self.tokens.len() >= self.options.limits.max_tokens {
            return err(
                start,
                E::TokenLimit {
                    limit: self.options.limits.max_tokens,
                },
            );
        }
        self.tokens.push(Token {
            kind,
            start: start as u32,
            end: end as u32,
            aux: aux as u32,
        });
        Ok(self.tokens.len() - 1)
    }

    /// Tokenizes one value; `prefix` lets bytes follow it. Returns the value's length too.
    fn run(mut self, prefix: bool) -> Result<(Vec<Token>, Vec<Warning>, usize)> {
        if self.input.len() >= u32::MAX as usize {
            return err(
                0,
                E::InputTooLarge {
                    size: self.input.len(),
                },
            );
        }
        self.value("a value")?;
        while let Some(top) = self.stack.last() {
            let (dict, expect_key) = (top.dict, top.expect_key);
            match (dict, expect_key, self.peek()) {
                (_, _, Some(b'e')) if !dict || expect_key => self.close()?,
                (true, true, Some(b'0'..=b'9')) => self.key()?,
                (true, true, Some(b'i' | b'l' | b'd' | b'-')) => {
                    return err(self.pos, E::NonStringKey)
                }
                (true, true, _) => return self.byte_error("a dictionary key or 'e'"),
                (true, false, Some(b'e')) => return err(self.pos, E::MissingValue),
                (true, false, _) => self.value("a dictionary value")?,
                (false, _, _) => self.value("a list item or 'e'")?,
            }
        }
        if !prefix && self.pos < self.input.len() {
            self.non_canonical(self.pos, E::TrailingBytes, WarningKind::TrailingBytes)?;
        }
        Ok((self.tokens, self.warnings, self.pos))
    }

    /// Parses a value where one is expected; containers are opened, not finished.
    fn value(&mut self, expected: &'static str) -> Result<()> {
        match self.peek() {
            Some(b'i') => self.integer()?,
            Some(b'0'..=b'9') => {
                self.string()?;
            }
            Some(b'-') if matches!(self.input.get(self.pos + 1), Some(b'0'..=b'9')) => {
                return err(self.pos, E::NegativeLength)
            }
            Some(b @ (b'l' | b'd')) => return self.open(b == b'd'),
            _ => return self.byte_error(expected),
        }
        self.finished_value();
        Ok(())
    }

    /// After a whole value: a dictionary that held it now wants a key.
    fn finished_value(&mut self) {
        if let Some(top) = self.stack.last_mut() {
            if top.dict {
                top.expect_key = true;
            }
        }
    }

    fn open(&mut self, dict: bool) -> Result<()> {
        if self.stack.len() >= self.options.limits.max_depth {
            return err(
                self.pos,
                E::DepthLimit {
                    limit: self.options.limits.max_depth,
                },
            );
        }
        let kind = if dict { Kind::Dict } else { Kind::List };
        let token = self.push_token(kind, self.pos, self.pos, 0)?;
        self.stack.push(Frame {
            token,
            dict,
            expect_key: true,
            last_key: None,
            unsorted: false,
        });
        self.pos += 1;
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        self.pos += 1;
        let Some(frame) = self.stack.pop() else {
            unreachable!("close with no open container")
        };
        let next = self.tokens.len();
        let token = &mut self.tokens[frame.token];
        token.end = self.pos as u32;
        token.aux = next as u32;
        if frame.unsorted {
            self.check_unique_keys(frame.token)?;
        }
        self.finished_value();
        Ok(())
    }

    fn key(&mut self) -> Result<()> {
        let token = self.string()?;
        let (start, payload) = {
            let t = self.tokens[token];
            (t.start as usize, t.aux as usize..t.end as usize)
        };
        let frame = self.stack.last_mut().expect("key inside a dictionary");
        frame.expect_key = false;
        let previous = frame.last_key.replace(payload.clone());
        if let Some(previous) = previous {
            match self.input[previous].cmp(&self.input[payload]) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => return err(start, E::DuplicateKey),
                std::cmp::Ordering::Greater => {
                    self.stack.last_mut().expect("open dictionary").unsorted = true;
                    self.non_canonical(start, E::UnsortedKey, WarningKind::UnsortedKey)?;
                }
            }
        }
        Ok(())
    }

    /// A dictionary whose keys came out of order may still repeat one: sort its keys to see.
    fn check_unique_keys(&self, dict: usize) -> Result<()> {
        let document = Node {
            input: self.input,
            tokens: &self.tokens,
            index: dict,
        };
        let mut keys: Vec<(&[u8], usize)> = Vec::new();
        let mut items = document.as_list_unchecked();
        while let Some(key) = items.next() {
            keys.push((key.as_bytes().unwrap_or_default(), key.span().start));
            items.next();
        }
        keys.sort_unstable();
        match keys.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            Some(pair) => err(pair[0].1.max(pair[1].1), E::DuplicateKey),
            None => Ok(()),
        }
    }

    fn digits(&mut self) -> Range<usize> {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        start..self.pos
    }

    /// `i<digits>e` with an optional `-`.
    fn integer(&mut self) -> Result<()> {
        let start = self.pos;
        self.pos += 1;
        let negative = match self.peek() {
            Some(b'-') => {
                self.pos += 1;
                true
            }
            Some(b'+') => return err(self.pos, E::PlusSign),
            _ => false,
        };
        let digits = self.digits();
        if digits.is_empty() {
            return match self.peek() {
                Some(b'e') => err(start, E::EmptyInteger),
                _ => self.byte_error("a digit"),
            };
        }
        if self.peek() != Some(b'e') {
            return self.byte_error("a digit or 'e'");
        }
        self.pos += 1;
        let limit = if negative {
            i64::MIN.unsigned_abs()
        } else {
            i64::MAX as u64
        };
        let magnitude = self.input[digits.clone()]
            .iter()
            .try_fold(0u64, |n, &d| {
                n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
            })
            .filter(|&m| m <= limit);
        let Some(magnitude) = magnitude else {
            return err(start, E::IntegerOverflow);
        };
        if digits.len() > 1 && self.input[digits.start] == b'0' {
            self.non_canonical(
                digits.start,
                E::LeadingZeroInteger,
                WarningKind::LeadingZeroInteger,
            )?;
        }
        if negative && magnitude == 0 {
            self.non_canonical(start, E::NegativeZero, WarningKind::NegativeZero)?;
        }
        self.push_token(Kind::Int, start, self.pos, 0)?;
        Ok(())
    }

    /// `<length>:<bytes>`; returns the token index.
    fn string(&mut self) -> Result<usize> {
        let start = self.pos;
        let digits = self.digits();
        if self.peek() != Some(b':') {
            return self.byte_error("a digit or ':'");
        }
        self.pos += 1;
        let available = self.input.len() - self.pos;
        let length = self.input[digits.clone()]
            .iter()
            .try_fold(0u64, |n, &d| {
                n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
            })
            .unwrap_or(u64::MAX);
        if length > available as u64 {
            return err(start, E::StringTooLong { length, available });
        }
        if digits.len() > 1 && self.input[digits.start] == b'0' {
            self.non_canonical(start, E::LeadingZeroLength, WarningKind::LeadingZeroLength)?;
        }
        let payload = self.pos;
        self.pos += length as usize;
        self.push_token(Kind::Bytes, start, self.pos, payload)
    }
}

impl<'d> Node<'d> {
    /// Children of a container, whatever its kind (the tokenizer uses it on dictionaries).
    fn as_list_unchecked(&self) -> Items<'d> {
        Items {
            node: self.at(self.index + 1),
            end: self.next(),
        }
    }
}
