package txverify

import (
	"errors"
	"fmt"
	"math/big"
)

// A strict RLP reader (Ethereum Yellow Paper, appendix B). Strict means the
// canonical encoding only: a single byte below 0x80 must stand for itself,
// length prefixes are minimal and without leading zeros, integers have no
// leading zero bytes, and nothing may follow the top-level item. Geth
// refuses non-canonical transactions too, so a lax reader here could only
// ever accept bytes that no node would broadcast, and two readers that
// disagree on a byte string are how verification gets fooled.

// rlpItem is one decoded RLP item: a byte string, or a list whose content
// still has to be split with rlpList.
type rlpItem struct {
	list    bool
	content []byte
}

var errRLPTruncated = errors.New("truncated RLP")

// rlpNext splits the first item off b.
func rlpNext(b []byte) (item rlpItem, rest []byte, err error) {
	if len(b) == 0 {
		return rlpItem{}, nil, errRLPTruncated
	}
	p := b[0]
	var n uint64 // content length
	hdr := 1
	switch {
	case p < 0x80:
		return rlpItem{content: b[:1]}, b[1:], nil
	case p <= 0xb7:
		n = uint64(p - 0x80)
	case p <= 0xbf:
		if n, hdr, err = rlpLongLength(b, int(p-0xb7)); err != nil {
			return rlpItem{}, nil, err
		}
	case p <= 0xf7:
		item.list = true
		n = uint64(p - 0xc0)
	default:
		item.list = true
		if n, hdr, err = rlpLongLength(b, int(p-0xf7)); err != nil {
			return rlpItem{}, nil, err
		}
	}
	if n > uint64(len(b)-hdr) {
		return rlpItem{}, nil, errRLPTruncated
	}
	item.content = b[hdr : hdr+int(n)]
	if !item.list && n == 1 && item.content[0] < 0x80 {
		return rlpItem{}, nil, errors.New("non-canonical RLP: single byte below 0x80 encoded as a string")
	}
	return item, b[hdr+int(n):], nil
}

// rlpLongLength reads the big-endian length of a long string or list whose
// length takes size bytes after the prefix.
func rlpLongLength(b []byte, size int) (n uint64, hdr int, err error) {
	if len(b) < 1+size {
		return 0, 0, errRLPTruncated
	}
	if b[1] == 0 {
		return 0, 0, errors.New("non-canonical RLP: length with leading zero")
	}
	if size > 8 {
		return 0, 0, errors.New("RLP length does not fit in 64 bits")
	}
	for _, c := range b[1 : 1+size] {
		n = n<<8 | uint64(c)
	}
	if n < 56 {
		return 0, 0, errors.New("non-canonical RLP: long form for a length below 56")
	}
	return n, 1 + size, nil
}

// rlpSingle decodes b as exactly one item with nothing after it.
func rlpSingle(b []byte) (rlpItem, error) {
	item, rest, err := rlpNext(b)
	if err != nil {
		return rlpItem{}, err
	}
	if len(rest) != 0 {
		return rlpItem{}, fmt.Errorf("%d bytes after the RLP item", len(rest))
	}
	return item, nil
}

// rlpList splits a list's content into its items.
func rlpList(content []byte) ([]rlpItem, error) {
	var items []rlpItem
	for len(content) > 0 {
		item, rest, err := rlpNext(content)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
		content = rest
	}
	return items, nil
}

// rlpUint reads a byte-string item as a canonical unsigned integer of at
// most maxBytes bytes; field names it in errors.
func rlpUint(it rlpItem, maxBytes int, field string) (*big.Int, error) {
	if it.list {
		return nil, fmt.Errorf("%s is a list, want an integer", field)
	}
	if len(it.content) > maxBytes {
		return nil, fmt.Errorf("%s is %d bytes, more than %d", field, len(it.content), maxBytes)
	}
	if len(it.content) > 0 && it.content[0] == 0 {
		return nil, fmt.Errorf("%s has a leading zero byte (non-canonical)", field)
	}
	return new(big.Int).SetBytes(it.content), nil
}

// rlpUint64 is rlpUint for a 64-bit field.
func rlpUint64(it rlpItem, field string) (uint64, error) {
	v, err := rlpUint(it, 8, field)
	if err != nil {
		return 0, err
	}
	return v.Uint64(), nil
}

// rlpBytes reads a byte-string item.
func rlpBytes(it rlpItem, field string) ([]byte, error) {
	if it.list {
		return nil, fmt.Errorf("%s is a list, want bytes", field)
	}
	return it.content, nil
}
