//! `bdecode` and `bencode`: between Python objects and core's bencode, without recursion.

use crate::errors::{guard, Failure};
use bittern_core::bencode::{decode, encode, DecodeOptions, Entries, Items, Limits, Node, Value};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyInt, PyList, PyString, PyTuple};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Decodes one bencoded value into `int`, `bytes`, `list` or `dict` (bytes keys, in input
/// order).
///
/// `strict=True` accepts canonical BEP 3 only; `strict=False` also accepts what is non-canonical
/// but unambiguous (unsorted keys, leading zeros, `i-0e`, trailing bytes). Nesting is limited
/// to 100 levels. Raises `BencodeError` (with `.offset`) for malformed input.
#[pyfunction]
#[pyo3(signature = (data, *, strict = true))]
pub(crate) fn bdecode<'py>(
    py: Python<'py>,
    data: Cow<'_, [u8]>,
    strict: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let options = if strict {
        DecodeOptions::strict()
    } else {
        DecodeOptions::tolerant()
    };
    Ok(guard(|| -> Result<_, Failure> {
        let document = decode(&*data, options)?;
        Ok(to_python(py, document.root())?)
    })?)
}

/// Encodes `int`, `bytes`, `bytearray`, `str` (as UTF-8), `list`, `tuple` and `dict` (keys
/// `bytes` or `str`, written sorted by their bytes).
///
/// Raises `TypeError` for any other type (`bool` included), `OverflowError` for an int beyond
/// 64 bits, and `ValueError` for a reference cycle or nesting deeper than 100 levels.
#[pyfunction]
pub(crate) fn bencode<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let value = to_value(obj)?;
    let encoded = guard(|| Ok::<_, Failure>(encode(&value)))?;
    Ok(PyBytes::new(py, &encoded))
}

/// Builds the Python object for a decoded value. Depth was bounded by the decoder, and an
/// explicit stack is used anyway.
fn to_python<'py>(py: Python<'py>, root: Node<'_>) -> PyResult<Bound<'py, PyAny>> {
    /// A list or dict being filled, with its children still to do.
    enum Open<'py, 'd> {
        List(Bound<'py, PyList>, Items<'d>),
        Dict(Bound<'py, PyDict>, Entries<'d>),
    }
    /// Makes the object for `node`; a container starts empty and is pushed to be filled.
    fn make<'py, 'd>(
        py: Python<'py>,
        node: Node<'d>,
        stack: &mut Vec<Open<'py, 'd>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Some(items) = node.as_list() {
            let list = PyList::empty(py);
            stack.push(Open::List(list.clone(), items));
            Ok(list.into_any())
        } else if let Some(entries) = node.as_dict() {
            let dict = PyDict::new(py);
            stack.push(Open::Dict(dict.clone(), entries));
            Ok(dict.into_any())
        } else if let Some(bytes) = node.as_bytes() {
            Ok(PyBytes::new(py, bytes).into_any())
        } else {
            Ok(node
                .as_int()
                .unwrap_or_default()
                .into_pyobject(py)?
                .into_any())
        }
    }

    let mut stack = Vec::new();
    let top = make(py, root, &mut stack)?;
    while let Some(open) = stack.last_mut() {
        match open {
            Open::List(list, items) => match items.next() {
                Some(child) => {
                    let list = list.clone();
                    list.append(make(py, child, &mut stack)?)?;
                }
                None => {
                    stack.pop();
                }
            },
            Open::Dict(dict, entries) => match entries.next() {
                Some((key, child)) => {
                    let dict = dict.clone();
                    dict.set_item(PyBytes::new(py, key), make(py, child, &mut stack)?)?;
                }
                None => {
                    stack.pop();
                }
            },
        }
    }
    Ok(top)
}

/// Converts a Python object to a core [`Value`], without recursion: nesting deeper than the
/// decoder accepts, and reference cycles, are `ValueError`s.
fn to_value(root: &Bound<'_, PyAny>) -> PyResult<Value> {
    /// A list or dict being converted.
    struct Open<'py> {
        /// The container's address, to find cycles.
        address: usize,
        /// Children still to convert, with their keys (empty for list items).
        todo: std::vec::IntoIter<(Vec<u8>, Bound<'py, PyAny>)>,
        done: Done,
        /// Its key in its parent.
        key: Vec<u8>,
    }
    enum Done {
        List(Vec<Value>),
        Dict(BTreeMap<Vec<u8>, Value>),
    }
    enum Step<'py> {
        Value(Value),
        Open(Open<'py>),
    }
    impl Done {
        fn put(&mut self, key: Vec<u8>, value: Value) -> PyResult<()> {
            match self {
                Done::List(items) => items.push(value),
                Done::Dict(entries) => {
                    if entries.insert(key, value).is_some() {
                        return Err(PyValueError::new_err(
                            "cannot bencode a dict with a key given both as str and as bytes",
                        ));
                    }
                }
            }
            Ok(())
        }
    }
    fn key_bytes(key: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
        if let Ok(b) = key.cast::<PyBytes>() {
            Ok(b.as_bytes().to_vec())
        } else if let Ok(s) = key.cast::<PyString>() {
            Ok(s.to_cow()?.as_bytes().to_vec())
        } else {
            Err(PyTypeError::new_err(format!(
                "cannot bencode a dict key of type {} (keys must be bytes or str)",
                key.get_type().name()?
            )))
        }
    }
    fn step<'py>(obj: Bound<'py, PyAny>) -> PyResult<Step<'py>> {
        let open = |todo: Vec<(Vec<u8>, Bound<'py, PyAny>)>, done| {
            Step::Open(Open {
                address: obj.as_ptr() as usize,
                todo: todo.into_iter(),
                done,
                key: Vec::new(),
            })
        };
        if obj.is_instance_of::<PyBool>() {
            Err(PyTypeError::new_err("cannot bencode a bool (use 0 or 1)"))
        } else if obj.is_instance_of::<PyInt>() {
            let n = obj.extract().map_err(|_| {
                PyOverflowError::new_err("cannot bencode an int beyond 64 bits (signed)")
            })?;
            Ok(Step::Value(Value::Int(n)))
        } else if let Ok(b) = obj.cast::<PyBytes>() {
            Ok(Step::Value(Value::Bytes(b.as_bytes().to_vec())))
        } else if let Ok(b) = obj.cast::<PyByteArray>() {
            Ok(Step::Value(Value::Bytes(b.to_vec())))
        } else if let Ok(s) = obj.cast::<PyString>() {
            Ok(Step::Value(Value::Bytes(s.to_cow()?.as_bytes().to_vec())))
        } else if let Ok(list) = obj.cast::<PyList>() {
            let todo = list.iter().map(|item| (Vec::new(), item)).collect();
            Ok(open(todo, Done::List(Vec::new())))
        } else if let Ok(tuple) = obj.cast::<PyTuple>() {
            let todo = tuple.iter().map(|item| (Vec::new(), item)).collect();
            Ok(open(todo, Done::List(Vec::new())))
        } else if let Ok(dict) = obj.cast::<PyDict>() {
            let todo = dict
                .iter()
                .map(|(k, v)| Ok((key_bytes(&k)?, v)))
                .collect::<PyResult<_>>()?;
            Ok(open(todo, Done::Dict(BTreeMap::new())))
        } else {
            Err(PyTypeError::new_err(format!(
                "cannot bencode an object of type {}",
                obj.get_type().name()?
            )))
        }
    }

    let mut stack = match step(root.clone())? {
        Step::Value(value) => return Ok(value),
        Step::Open(open) => vec![open],
    };
    while let Some(top) = stack.last_mut() {
        match top.todo.next() {
            Some((key, child)) => match step(child)? {
                Step::Value(value) => top.done.put(key, value)?,
                Step::Open(mut open) => {
                    if stack.len() >= Limits::DEFAULT_MAX_DEPTH {
                        return Err(PyValueError::new_err(format!(
                            "cannot bencode nesting deeper than {} levels",
                            Limits::DEFAULT_MAX_DEPTH
                        )));
                    }
                    if stack.iter().any(|o| o.address == open.address) {
                        return Err(PyValueError::new_err(
                            "cannot bencode a container that contains itself",
                        ));
                    }
                    open.key = key;
                    stack.push(open);
                }
            },
            None => {
                let Some(closed) = stack.pop() else { break };
                let value = match closed.done {
                    Done::List(items) => Value::List(items),
                    Done::Dict(entries) => Value::Dict(entries),
                };
                match stack.last_mut() {
                    None => return Ok(value),
                    Some(parent) => parent.done.put(closed.key, value)?,
                }
            }
        }
    }
    Err(PyValueError::new_err("cannot bencode: nothing to encode"))
}
