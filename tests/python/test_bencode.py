"""bdecode and bencode beyond the shared vectors."""

from __future__ import annotations

import pytest

import bittern


@pytest.mark.parametrize(
    "value,encoded",
    [
        (0, b"i0e"),
        (-42, b"i-42e"),
        (2**63 - 1, b"i9223372036854775807e"),
        (-(2**63), b"i-9223372036854775808e"),
        (b"", b"0:"),
        (b"\x00\xff", b"2:\x00\xff"),
        ([], b"le"),
        ([1, [b"x", []]], b"li1el1:xleee"),
        ({}, b"de"),
        ({b"b": 1, b"a": [2]}, b"d1:ali2ee1:bi1ee"),
    ],
)
def test_round_trip(value: object, encoded: bytes) -> None:
    assert bittern.bencode(value) == encoded
    assert bittern.bdecode(encoded) == value


def test_python_conveniences() -> None:
    assert bittern.bencode("spam") == b"4:spam"
    assert bittern.bencode("é") == b"2:\xc3\xa9"
    assert bittern.bencode(bytearray(b"ab")) == b"2:ab"
    assert bittern.bencode((1, 2)) == b"li1ei2ee"
    assert bittern.bencode({"spam": [1, b"eggs"]}) == b"d4:spamli1e4:eggsee"


def test_keys_sorted_by_bytes() -> None:
    value = {"b": 1, b"a": 2, "\xe9": 3, "B": 4, "aa": 5}
    assert bittern.bencode(value) == b"d1:Bi4e1:ai2e2:aai5e1:bi1e2:\xc3\xa9i3ee"


def test_int_subclass_is_an_int() -> None:
    import enum

    class Level(enum.IntEnum):
        HIGH = 7

    assert bittern.bencode(Level.HIGH) == b"i7e"


@pytest.mark.parametrize(
    "value",
    [True, False, None, 1.5, {1, 2}, object(), [1, None], {b"k": True}, memoryview(b"x")],
    ids=repr,
)
def test_unsupported_types_raise_type_error(value: object) -> None:
    with pytest.raises(TypeError):
        bittern.bencode(value)


@pytest.mark.parametrize("key", [1, None, (b"a",), 1.0])
def test_bad_dict_keys_raise_type_error(key: object) -> None:
    with pytest.raises(TypeError):
        bittern.bencode({key: 1})


@pytest.mark.parametrize("n", [2**63, -(2**63) - 1, 10**30])
def test_int_beyond_64_bits(n: int) -> None:
    with pytest.raises(OverflowError):
        bittern.bencode(n)


def test_same_key_as_str_and_bytes_is_value_error() -> None:
    with pytest.raises(ValueError):
        bittern.bencode({"a": 1, b"a": 2})


def test_cycles_are_value_errors() -> None:
    a: list[object] = []
    a.append(a)
    with pytest.raises(ValueError):
        bittern.bencode(a)
    d: dict[bytes, object] = {}
    d[b"self"] = [d]
    with pytest.raises(ValueError):
        bittern.bencode(d)


def test_shared_but_acyclic_values_encode() -> None:
    shared = [1]
    assert bittern.bencode([shared, shared, {b"x": shared}]) == b"lli1eeli1eed1:xli1eeee"


def nested(depth: int) -> object:
    value: object = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_nesting_limit_matches_the_decoder() -> None:
    encoded = bittern.bencode(nested(100))
    assert encoded == b"l" * 100 + b"e" * 100
    assert bittern.bdecode(encoded) == nested(100)
    with pytest.raises(ValueError):
        bittern.bencode(nested(101))
    with pytest.raises(bittern.BencodeError) as info:
        bittern.bdecode(b"l" * 101 + b"e" * 101)
    assert info.value.offset == 100


def test_very_deep_input_is_an_error_not_a_crash() -> None:
    with pytest.raises(ValueError):
        bittern.bencode(nested(200_000))
    with pytest.raises(bittern.BencodeError):
        bittern.bdecode(b"l" * 1_000_000)
    with pytest.raises(bittern.BencodeError):
        bittern.bdecode(b"d1:a" * 200_000)


def test_tolerant_decoding_keeps_input_order() -> None:
    value = bittern.bdecode(b"d3:fooi1e3:bari2ee", strict=False)
    assert list(value) == [b"foo", b"bar"]
    assert bittern.bencode(value) == b"d3:bari2e3:fooi1ee"


def test_decoded_types() -> None:
    value = bittern.bdecode(b"d1:ali1e2:xye1:bi-3ee")
    assert value == {b"a": [1, b"xy"], b"b": -3}
    assert all(type(k) is bytes for k in value)
    assert type(value[b"a"][1]) is bytes
    assert type(value[b"b"]) is int


def test_bdecode_accepts_bytes_like_only() -> None:
    assert bittern.bdecode(bytearray(b"i1e")) == 1
    with pytest.raises(TypeError):
        bittern.bdecode("i1e")  # type: ignore[arg-type]


def test_bencode_error_details() -> None:
    with pytest.raises(bittern.BencodeError) as info:
        bittern.bdecode(b"d3:fooi1e3:bari2ee")
    e = info.value
    assert e.offset == 9
    assert "9" in str(e)
    assert isinstance(e, ValueError) and isinstance(e, bittern.Error)
    with pytest.raises(bittern.BencodeError) as info:
        bittern.bdecode(b"i1ei2e")
    assert info.value.offset == 3
