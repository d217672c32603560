"""benchmarks/aws_cost_meter.py sizes items by DynamoDB's published rules (CapacityUnitCalculations):
name + value bytes; numbers 1 byte per two significant digits + 1; maps and lists 3 bytes + 1 per
element; null and booleans 1 byte. The BOOK item's size test and the cost benchmark rely on it."""

from __future__ import annotations

from benchmarks.aws_cost_meter import Index, index_writes, item_size, number_size, wru


def test_scalars_are_name_plus_value_bytes() -> None:
    assert item_size({"pk": {"S": "STOCK#ACME"}}) == 2 + 10
    assert item_size({"n": {"S": "é"}}) == 1 + 2  # UTF-8 bytes, not characters
    assert item_size({"b": {"B": b"\x00\x01\x02"}}) == 1 + 3  # raw bytes, not base64
    assert item_size({"t": {"BOOL": True}, "z": {"NULL": True}}) == (1 + 1) + (1 + 1)


def test_numbers_count_significant_digits() -> None:
    assert number_size("12345") == 3 + 1  # ceil(5 / 2) + 1
    assert number_size("1000") == number_size("1") == 2  # trailing zeroes trimmed
    assert number_size("0.0012") == 2  # leading zeroes trimmed: "12"
    assert number_size("-123456") == 3 + 1


def test_maps_and_lists_have_3_bytes_and_1_per_element() -> None:
    assert item_size({"m": {"M": {}}}) == 1 + 3
    assert item_size({"l": {"L": [{"S": "ab"}, {"N": "7"}]}}) == 1 + 3 + (2 + 1) + (2 + 1)
    assert item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)


def test_write_units_and_index_writes() -> None:
    assert (wru(0), wru(1024), wru(1025)) == (1, 1, 2)
    ix = [Index("open", ("book_symbol", "book_seq"), "ALL", ("pk", "sk"))]
    base = {"pk": {"S": "U"}, "sk": {"S": "O"}}
    resting = {**base, "book_symbol": {"S": "ACME"}, "book_seq": {"N": "1"}}
    assert index_writes(ix, base, resting) == 1  # enters the index
    assert index_writes(ix, resting, {**resting, "book_seq": {"N": "2"}}) == 2  # key changed
    assert index_writes(ix, resting, base) == 1  # leaves it
    assert index_writes(ix, base, {**base, "x": {"N": "1"}}) == 0  # never in it
