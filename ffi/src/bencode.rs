//! `bittern_bencode`: a decoded bencode document and its nodes.
//!
//! A document is a flat list of nodes (values, keys included) in input order; the root is node
//! 0, and C refers to every node by its index, which stays valid for the document's life.

use crate::{
    arg, arg_bytes, arg_out, bittern_result, free_handle, guard, guard_value, into_handle,
    CStrCache, Failure,
};
use bittern_core::bencode::{decode, DecodeOptions, Document, Kind, Node};
use std::ffi::c_char;

/// A decoded bencode document. It owns a copy of the input, so the caller's buffer may be
/// freed once `bittern_bencode_decode` returns.
///
/// Thread safety: every `bittern_bencode_*` function only reads the document, so one document
/// may be used from several threads at once. Free it once, when no thread uses it any more.
pub struct bittern_bencode {
    doc: Document<Vec<u8>>,
    warnings: CStrCache<usize>,
}

/// The type of a bencode value.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bittern_bencode_type {
    /// An integer (`i42e`).
    Int = 0,
    /// A byte string (`4:spam`).
    Bytes = 1,
    /// A list (`l...e`).
    List = 2,
    /// A dictionary (`d...e`).
    Dict = 3,
}

impl bittern_bencode {
    fn node(&self, index: usize) -> Result<Node<'_>, Failure> {
        self.doc.node(index).ok_or_else(|| {
            Failure::invalid(format!(
                "no node {index}: the document has {} nodes",
                self.doc.token_count()
            ))
        })
    }
}

fn options(strict: bool) -> DecodeOptions {
    if strict {
        DecodeOptions::strict()
    } else {
        DecodeOptions::tolerant()
    }
}

fn wrong_type(node: Node<'_>, wanted: &str) -> Failure {
    let is = match node.kind() {
        Kind::Int => "an integer",
        Kind::Bytes => "a byte string",
        Kind::List => "a list",
        Kind::Dict => "a dictionary",
    };
    Failure::invalid(format!("node {} is {is}, not {wanted}", node.index()))
}

/// Checks that `data[0..len]` is one bencoded value, without keeping anything.
///
/// `strict` accepts only canonical BEP 3 (sorted unique keys, no leading zeros, no `i-0e`, no
/// trailing bytes); otherwise non-canonical but unambiguous input is accepted. A malformed input
/// gives `BITTERN_RESULT_BENCODE`, with the byte offset in `bittern_last_error_offset`.
///
/// Ownership: `data` is only read during the call (it may be NULL when `len` is 0).
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_bencode_check(
    data: *const u8,
    len: usize,
    strict: bool,
) -> bittern_result {
    guard(|| {
        let input = unsafe { arg_bytes(data, len, "data") }?;
        decode(input, options(strict))?;
        Ok(())
    })
}

/// Decodes `data[0..len]` into a new document at `*doc_out` (see `bittern_bencode_check` for
/// `strict` and the errors).
///
/// Ownership: the document holds its own copy of the input; free it with
/// `bittern_bencode_free`. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_bencode_decode(
    data: *const u8,
    len: usize,
    strict: bool,
    doc_out: *mut *mut bittern_bencode,
) -> bittern_result {
    guard(|| {
        let input = unsafe { arg_bytes(data, len, "data") }?;
        let out = unsafe { arg_out(doc_out, "doc_out") }?;
        let doc = decode(input.to_vec(), options(strict))?;
        out.put(into_handle(bittern_bencode {
            doc,
            warnings: CStrCache::default(),
        }));
        Ok(())
    })
}

/// Frees a document and everything borrowed from it. NULL is a no-op.
///
/// Ownership: takes ownership of `doc`. Thread safety: no other thread may be using `doc`.
#[no_mangle]
pub extern "C" fn bittern_bencode_free(doc: *mut bittern_bencode) {
    guard_value((), || {
        unsafe { free_handle(doc) };
        Ok(())
    })
}

/// The number of nodes in the document (every value, dictionary keys included); node indexes
/// run from 0 (the root) to this minus 1. Returns 0 when `doc` is NULL.
///
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_bencode_node_count(doc: *const bittern_bencode) -> usize {
    guard_value(0, || Ok(unsafe { arg(doc, "doc") }?.doc.token_count()))
}

/// The number of warnings: what tolerant decoding accepted that is not canonical (always 0 for
/// a strict decode). Returns 0 when `doc` is NULL.
///
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_bencode_warning_count(doc: *const bittern_bencode) -> usize {
    guard_value(0, || Ok(unsafe { arg(doc, "doc") }?.doc.warnings().len()))
}

/// Warning `index`: its byte offset in the input and a NUL-terminated message.
///
/// Ownership: the message belongs to the document and lives until `bittern_bencode_free`.
/// Thread safety: read-only. A bad index gives `BITTERN_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn bittern_bencode_warning_get(
    doc: *const bittern_bencode,
    index: usize,
    offset_out: *mut usize,
    message_out: *mut *const c_char,
) -> bittern_result {
    guard(|| {
        let doc = unsafe { arg(doc, "doc") }?;
        let offset_out = unsafe { arg_out(offset_out, "offset_out") }?;
        let message_out = unsafe { arg_out(message_out, "message_out") }?;
        let warnings = doc.doc.warnings();
        let warning = warnings.get(index).ok_or_else(|| {
            Failure::invalid(format!("no warning {index}: there are {}", warnings.len()))
        })?;
        offset_out.put(warning.offset);
        message_out.put(doc.warnings.get(index, || warning.message()));
        Ok(())
    })
}

/// The type of node `node`.
///
/// Thread safety: read-only. A bad index gives `BITTERN_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn bittern_bencode_node_type(
    doc: *const bittern_bencode,
    node: usize,
    type_out: *mut bittern_bencode_type,
) -> bittern_result {
    guard(|| {
        let doc = unsafe { arg(doc, "doc") }?;
        let out = unsafe { arg_out(type_out, "type_out") }?;
        out.put(match doc.node(node)?.kind() {
            Kind::Int => bittern_bencode_type::Int,
            Kind::Bytes => bittern_bencode_type::Bytes,
            Kind::List => bittern_bencode_type::List,
            Kind::Dict => bittern_bencode_type::Dict,
        });
        Ok(())
    })
}

/// The value of integer node `node`.
///
/// Thread safety: read-only. A bad index, or a node that is not an integer, gives
/// `BITTERN_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn bittern_bencode_node_int(
    doc: *const bittern_bencode,
    node: usize,
    value_out: *mut i64,
) -> bittern_result {
    guard(|| {
        let doc = unsafe { arg(doc, "doc") }?;
        let out = unsafe { arg_out(value_out, "value_out") }?;
        let n = doc.node(node)?;
        out.put(n.as_int().ok_or_else(|| wrong_type(n, "an integer"))?);
        Ok(())
    })
}

/// The payload of byte-string node `node`: `*data_out` points at `*len_out` bytes (not
/// NUL-terminated, may hold any byte).
///
/// Ownership: the bytes belong to the document and live until `bittern_bencode_free`.
/// Thread safety: read-only. A bad index, or a node that is not a byte string, gives
/// `BITTERN_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn bittern_bencode_node_bytes(
    doc: *const bittern_bencode,
    node: usize,
    data_out: *mut *const u8,
    len_out: *mut usize,
) -> bittern_result {
    guard(|| {
        let doc = unsafe { arg(doc, "doc") }?;
        let data_out = unsafe { arg_out(data_out, "data_out") }?;
        let len_out = unsafe { arg_out(len_out, "len_out") }?;
        let n = doc.node(node)?;
        let bytes = n.as_bytes().ok_or_else(|| wrong_type(n, "a byte string"))?;
        data_out.put(bytes.as_ptr());
        len_out.put(bytes.len());
        Ok(())
    })
}

/// The number of items of list node `node`, or of entries (key-value pairs) of dictionary node
/// `node`.
///
/// Thread safety: read-only. A bad index, or an integer or byte string node, gives
/// `BITTERN_RESULT_INVALID_ARGUMENT` (`bittern_bencode_node_bytes` gives a string's length).
#[no_mangle]
pub extern "C" fn bittern_bencode_node_len(
    doc: *const bittern_bencode,
    node: usize,
    len_out: *mut usize,
) -> bittern_result {
    guard(|| {
        let doc = unsafe { arg(doc, "doc") }?;
        let out = unsafe { arg_out(len_out, "len_out") }?;
        let n = doc.node(node)?;
        if !matches!(n.kind(), Kind::List | Kind::Dict) {
            return Err(wrong_type(n, "a list or a dictionary"));
        }
        out.put(n.len());
        Ok(())
    })
}

/// Where node `node` stands in the input: its exact encoded bytes are `input[*start_out ..
/// *end_out]` (end exclusive). For a dictionary this is what a hash over it (such as the
/// info-hash) must cover.
///
/// Thread safety: read-only. A bad index gives `BITTERN_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn bittern_bencode_node_span(
    doc: *const bittern_bencode,
    node: usize,
    start_out: *mut usize,
    end_out: *mut usize,
) -> bittern_result {
    guard(|| {
        let doc = unsafe { arg(doc, "doc") }?;
        let start_out = unsafe { arg_out(start_out, "start_out") }?;
        let end_out = unsafe { arg_out(end_out, "end_out") }?;
        let span = doc.node(node)?.span();
        start_out.put(span.start);
        end_out.put(span.end);
        Ok(())
    })
}

/// The node index of item `index` of list node `list`. Takes time in proportion to `index`.
///
/// Thread safety: read-only. A bad node or item index, or a node that is not a list, gives
/// `BITTERN_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn bittern_bencode_list_get(
    doc: *const bittern_bencode,
    list: usize,
    index: usize,
    node_out: *mut usize,
) -> bittern_result {
    guard(|| {
        let doc = unsafe { arg(doc, "doc") }?;
        let out = unsafe { arg_out(node_out, "node_out") }?;
        let n = doc.node(list)?;
        let mut items = n.as_list().ok_or_else(|| wrong_type(n, "a list"))?;
        let item = items
            .nth(index)
            .ok_or_else(|| Failure::invalid(format!("no item {index} in list node {list}")))?;
        out.put(item.index());
        Ok(())
    })
}

/// The node indexes of the key (a byte string) and the value of entry `index` of dictionary
/// node `dict`, in input order. Takes time in proportion to `index`.
///
/// Thread safety: read-only. A bad node or entry index, or a node that is not a dictionary,
/// gives `BITTERN_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn bittern_bencode_dict_entry(
    doc: *const bittern_bencode,
    dict: usize,
    index: usize,
    key_out: *mut usize,
    value_out: *mut usize,
) -> bittern_result {
    guard(|| {
        let doc = unsafe { arg(doc, "doc") }?;
        let key_out = unsafe { arg_out(key_out, "key_out") }?;
        let value_out = unsafe { arg_out(value_out, "value_out") }?;
        let n = doc.node(dict)?;
        let mut entries = n.as_dict().ok_or_else(|| wrong_type(n, "a dictionary"))?;
        let (_, value) = entries.nth(index).ok_or_else(|| {
            Failure::invalid(format!("no entry {index} in dictionary node {dict}"))
        })?;
        // A key is one byte-string node, just before its value.
        key_out.put(value.index() - 1);
        value_out.put(value.index());
        Ok(())
    })
}

/// The node index of the value under key `key[0..key_len]` in dictionary node `dict`.
///
/// Returns `BITTERN_RESULT_NOT_FOUND` when the key is absent. Ownership: `key` is only read
/// during the call (NULL is allowed when `key_len` is 0). Thread safety: read-only. A bad
/// index, or a node that is not a dictionary, gives `BITTERN_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn bittern_bencode_dict_get(
    doc: *const bittern_bencode,
    dict: usize,
    key: *const u8,
    key_len: usize,
    value_out: *mut usize,
) -> bittern_result {
    guard(|| {
        let doc = unsafe { arg(doc, "doc") }?;
        let key = unsafe { arg_bytes(key, key_len, "key") }?;
        let out = unsafe { arg_out(value_out, "value_out") }?;
        let n = doc.node(dict)?;
        let mut entries = n.as_dict().ok_or_else(|| wrong_type(n, "a dictionary"))?;
        let (_, value) = entries.find(|(k, _)| *k == key).ok_or_else(|| {
            Failure::not_found(format!(
                "no key \"{}\" in dictionary node {dict}",
                String::from_utf8_lossy(key).escape_default()
            ))
        })?;
        out.put(value.index());
        Ok(())
    })
}
