use super::Value;

/// Writes bencode. The caller gives dictionary keys in sorted order (as [`Value::Dict`] does).
#[derive(Debug, Default, Clone)]
pub struct Encoder {
    out: Vec<u8>,
}

impl Encoder {
    pub fn new() -> Self {
        Encoder::default()
    }

    /// An encoder with room for `bytes` before it grows.
    pub fn with_capacity(bytes: usize) -> Self {
        Encoder {
            out: Vec::with_capacity(bytes),
        }
    }

    pub fn int(&mut self, n: i64) -> &mut Self {
        self.out.push(b'i');
        self.out
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        self.out.push(b'e');
        self
    }

    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(b.len()).as_bytes());
        self.out.push(b':');
        self.out.extend_from_slice(b);
        self
    }

    pub fn begin_list(&mut self) -> &mut Self {
        self.out.push(b'l');
        self
    }

    pub fn begin_dict(&mut self) -> &mut Self {
        self.out.push(b'd');
        self
    }

    /// Closes the innermost open list or dictionary.
    pub fn end(&mut self) -> &mut Self {
        self.out.push(b'e');
        self
    }

    /// Appends an already encoded value as it is (how `info` keeps its exact bytes).
    pub fn raw(&mut self, encoded: &[u8]) -> &mut Self {
        self.out.extend_from_slice(encoded);
        self
    }

    /// Appends a whole value, without recursion.
    pub fn value(&mut self, value: &Value) -> &mut Self {
        enum Step<'v> {
            Value(&'v Value),
            Key(&'v [u8]),
            End,
        }
        let mut todo = vec![Step::Value(value)];
        while let Some(step) = todo.pop() {
            match step {
                Step::Key(k) => {
                    self.bytes(k);
                }
                Step::End => {
                    self.end();
                }
                Step::Value(Value::Int(n)) => {
                    self.int(*n);
                }
                Step::Value(Value::Bytes(b)) => {
                    self.bytes(b);
                }
                Step::Value(Value::List(items)) => {
                    self.begin_list();
                    todo.push(Step::End);
                    todo.extend(items.iter().rev().map(Step::Value));
                }
                Step::Value(Value::Dict(entries)) => {
                    self.begin_dict();
                    todo.push(Step::End);
                    for (k, v) in entries.iter().rev() {
                        todo.push(Step::Value(v));
                        todo.push(Step::Key(k));
                    }
                }
            }
        }
        self
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// Encodes a value canonically (dictionary keys sorted by their bytes).
pub fn encode(value: &Value) -> Vec<u8> {
    let mut e = Encoder::new();
    e.value(value);
    e.finish()
}
