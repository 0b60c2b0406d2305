package txverify

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"tssgate/internal/decimal"
)

// A general Solidity ABI decoder for contract calls (tx.call). It decodes
// static and dynamic types, tuples and nested arrays, then re-encodes the
// values canonically and requires the result to be the calldata byte for
// byte: trailing bytes, dirty padding, a bool of 2, out-of-order or
// overlapping offsets all fail. Contracts ignore some of these, so a
// lenient reading could show policy arguments other than the ones the
// contract acts on; exact re-encoding leaves one reading.

// abiT is one ABI type.
type abiT struct {
	kind  byte // 'u' uint, 'i' int, 'a' address, 'b' bool, 'f' bytesN, 'y' bytes, 's' string, 't' tuple, 'l' T[], 'x' T[n]
	width int  // bits for u/i, bytes for f, length for x
	elem  *abiT
	comps []abiParam
}

// abiParam is a named parameter or tuple component.
type abiParam struct {
	name string
	typ  *abiT
}

// abiFunc is one function of an ABI.
type abiFunc struct {
	name      string
	inputs    []abiParam
	signature string
	selector  [4]byte
}

// Limits: ABI nesting and array sizes far beyond real calls, low enough
// that a hostile calldata cannot make decoding expensive.
const (
	maxABIDepth    = 16
	maxABIElements = 1 << 14
	maxStaticHead  = 1 << 20
)

// canonical is the type's name in a signature.
func (t *abiT) canonical() string {
	switch t.kind {
	case 'u':
		return "uint" + strconv.Itoa(t.width)
	case 'i':
		return "int" + strconv.Itoa(t.width)
	case 'a':
		return "address"
	case 'b':
		return "bool"
	case 'f':
		return "bytes" + strconv.Itoa(t.width)
	case 'y':
		return "bytes"
	case 's':
		return "string"
	case 't':
		parts := make([]string, len(t.comps))
		for i, c := range t.comps {
			parts[i] = c.typ.canonical()
		}
		return "(" + strings.Join(parts, ",") + ")"
	case 'l':
		return t.elem.canonical() + "[]"
	case 'x':
		return t.elem.canonical() + "[" + strconv.Itoa(t.width) + "]"
	}
	return "?"
}

// dynamic reports whether the type is encoded in the tail.
func (t *abiT) dynamic() bool {
	switch t.kind {
	case 'y', 's', 'l':
		return true
	case 'x':
		return t.elem.dynamic()
	case 't':
		for _, c := range t.comps {
			if c.typ.dynamic() {
				return true
			}
		}
	}
	return false
}

// headSize is the size of the type's head: 32 for dynamic types, the
// whole encoding for static ones.
func (t *abiT) headSize() int {
	if t.dynamic() {
		return 32
	}
	switch t.kind {
	case 'x':
		return t.width * t.elem.headSize()
	case 't':
		n := 0
		for _, c := range t.comps {
			n += c.typ.headSize()
		}
		return n
	}
	return 32
}

// parseABIType reads a type string; components are for "tuple" types.
func parseABIType(s string, comps []abiParam) (*abiT, error) {
	if i := strings.LastIndexByte(s, '['); i >= 0 && strings.HasSuffix(s, "]") {
		elem, err := parseABIType(s[:i], comps)
		if err != nil {
			return nil, err
		}
		n := s[i+1 : len(s)-1]
		if n == "" {
			return &abiT{kind: 'l', elem: elem}, nil
		}
		k, err := strconv.Atoi(n)
		if err != nil || k <= 0 || k > maxABIElements || n[0] == '0' {
			return nil, fmt.Errorf("array size %q", n)
		}
		// Bounded at every level, so no head size computed later can
		// overflow: a static head of over 1 MiB is no real calldata.
		if !elem.dynamic() && k*elem.headSize() > maxStaticHead {
			return nil, fmt.Errorf("type %s is over %d bytes", short(s), maxStaticHead)
		}
		return &abiT{kind: 'x', width: k, elem: elem}, nil
	}
	if s == "tuple" {
		if len(comps) == 0 {
			return nil, errors.New("tuple without components")
		}
		t := &abiT{kind: 't', comps: comps}
		if !t.dynamic() && t.headSize() > maxStaticHead {
			return nil, fmt.Errorf("tuple is over %d bytes", maxStaticHead)
		}
		return t, nil
	}
	if k, ok := atomicType(s); ok {
		switch k.kind {
		case 'u', 'i', 'f':
			return &abiT{kind: k.kind, width: k.width}, nil
		case 'a', 'b', 'y', 's':
			return &abiT{kind: k.kind}, nil
		}
	}
	switch s {
	case "uint":
		return &abiT{kind: 'u', width: 256}, nil
	case "int":
		return &abiT{kind: 'i', width: 256}, nil
	}
	return nil, fmt.Errorf("unknown ABI type %q", short(s))
}

// newABIFunc builds a function and its signature and selector.
func newABIFunc(name string, inputs []abiParam) abiFunc {
	parts := make([]string, len(inputs))
	for i, p := range inputs {
		parts[i] = p.typ.canonical()
	}
	f := abiFunc{name: name, inputs: inputs, signature: name + "(" + strings.Join(parts, ",") + ")"}
	h := keccak256([]byte(f.signature))
	copy(f.selector[:], h[:4])
	return f
}

// abiDecoder reads calldata arguments. addr renders a 20-byte address (EVM
// lower-case hex, TRON base58check).
type abiDecoder struct {
	addr func([]byte) string
	// budget counts the values left to decode. A canonical encoding
	// spends at least 32 bytes on every value, so more values than
	// len(data)/32 means offsets that overlap, which would otherwise let
	// a short calldata make decoding quadratic or worse.
	budget *int
}

// decodeCall decodes data (without the selector) as f's inputs into
// canonical values keyed by parameter name, and requires data to be
// exactly their canonical encoding.
func (d abiDecoder) decodeCall(f abiFunc, data []byte) (map[string]any, []any, error) {
	tuple := &abiT{kind: 't', comps: f.inputs}
	budget := len(data)/32 + 1
	d.budget = &budget
	vals, err := d.decodeTuple(tuple, data, 0)
	if err != nil {
		return nil, nil, err
	}
	if enc := encodeABI(tuple, vals); !bytes.Equal(enc, data) {
		return nil, nil, fmt.Errorf("the arguments are not canonically encoded (%d bytes, the canonical encoding of what they decode to has %d or differs)", len(data), len(enc))
	}
	out, err := d.canonicalTuple(f.inputs, vals)
	return out, vals, err
}

// abiVal is a decoded value before rendering: *big.Int, bool, []byte
// (address: 20 bytes, bytesN, bytes), string, or []any (tuples, arrays).
type abiVal = any

func word32(data []byte, at int) ([]byte, error) {
	if at < 0 || at+32 > len(data) || at+32 < at {
		return nil, fmt.Errorf("reading 32 bytes at %d of %d", at, len(data))
	}
	return data[at : at+32], nil
}

// readOffset reads a length or offset word that must fit the data.
func readOffset(data []byte, at int) (int, error) {
	w, err := word32(data, at)
	if err != nil {
		return 0, err
	}
	n := new(big.Int).SetBytes(w)
	if !n.IsInt64() || n.Int64() > int64(len(data)) {
		return 0, fmt.Errorf("offset or length %s at %d exceeds the %d bytes of data", short(n.String()), at, len(data))
	}
	return int(n.Int64()), nil
}

// decodeTuple decodes the components of t from the encoding that starts
// at base (the tuple's own offset).
func (d abiDecoder) decodeTuple(t *abiT, data []byte, depth int) ([]any, error) {
	types := make([]*abiT, len(t.comps))
	for i, c := range t.comps {
		types[i] = c.typ
	}
	return d.decodeSeq(types, data, depth)
}

// decodeSeq decodes a head-tail sequence of types from data.
func (d abiDecoder) decodeSeq(ts []*abiT, data []byte, depth int) ([]any, error) {
	if depth > maxABIDepth {
		return nil, fmt.Errorf("nested more than %d deep", maxABIDepth)
	}
	out := make([]any, len(ts))
	head := 0
	for i, t := range ts {
		if t.dynamic() {
			off, err := readOffset(data, head)
			if err != nil {
				return nil, err
			}
			v, err := d.decodeValue(t, data[off:], depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = v
			head += 32
			continue
		}
		hs := t.headSize()
		if head+hs > len(data) {
			return nil, fmt.Errorf("data ends inside argument %d", i)
		}
		v, err := d.decodeValue(t, data[head:], depth+1)
		if err != nil {
			return nil, err
		}
		out[i] = v
		head += hs
	}
	return out, nil
}

// decodeValue decodes one value of t whose encoding starts data.
func (d abiDecoder) decodeValue(t *abiT, data []byte, depth int) (abiVal, error) {
	// Every word value and every length word occupies 32 bytes of its
	// own in a canonical encoding; tuples and fixed arrays add none.
	if t.kind != 't' && t.kind != 'x' {
		if *d.budget--; *d.budget < 0 {
			return nil, errors.New("more values than the data can canonically encode (overlapping offsets)")
		}
	}
	switch t.kind {
	case 'u', 'i', 'a', 'b', 'f':
		w, err := word32(data, 0)
		if err != nil {
			return nil, err
		}
		return decodeWord(t, w)
	case 'y', 's':
		n, err := readOffset(data, 0)
		if err != nil {
			return nil, err
		}
		if 32+n > len(data) {
			return nil, fmt.Errorf("%d bytes claimed, %d present", n, len(data)-32)
		}
		b := append([]byte(nil), data[32:32+n]...)
		if t.kind == 's' {
			if !utf8.Valid(b) {
				return nil, errors.New("string argument is not valid UTF-8")
			}
			return string(b), nil
		}
		return b, nil
	case 'l', 'x':
		n, body := t.width, data
		if t.kind == 'l' {
			var err error
			if n, err = readOffset(data, 0); err != nil {
				return nil, err
			}
			body = data[32:]
		}
		if n > maxABIElements || n*t.elem.headSize() > len(body) {
			return nil, fmt.Errorf("array of %d elements does not fit %d bytes", n, len(body))
		}
		ts := make([]*abiT, n)
		for i := range ts {
			ts[i] = t.elem
		}
		return d.decodeSeq(ts, body, depth)
	case 't':
		return d.decodeTuple(t, data, depth)
	}
	return nil, fmt.Errorf("unknown type %s", t.canonical())
}

// decodeWord reads a static 32-byte value. Padding is checked by the
// re-encoding, but ranges are checked here so that values are exact.
func decodeWord(t *abiT, w []byte) (abiVal, error) {
	switch t.kind {
	case 'u':
		n := new(big.Int).SetBytes(w)
		if n.BitLen() > t.width {
			return nil, fmt.Errorf("%s out of range", t.canonical())
		}
		return n, nil
	case 'i':
		n := new(big.Int).SetBytes(w)
		if w[0]&0x80 != 0 {
			n.Sub(n, new(big.Int).Lsh(big.NewInt(1), 256))
		}
		lo, hi := integerRange(atomicKind{kind: 'i', width: t.width})
		if n.Cmp(lo) < 0 || n.Cmp(hi) > 0 {
			return nil, fmt.Errorf("%s out of range", t.canonical())
		}
		return n, nil
	case 'a':
		return append([]byte(nil), w[12:]...), nil
	case 'b':
		return w[31] == 1, nil
	case 'f':
		return append([]byte(nil), w[:t.width]...), nil
	}
	return nil, errors.New("not a static word type")
}

// encodeABI is the canonical encoding of a tuple's values.
func encodeABI(t *abiT, vals []any) []byte {
	ts := make([]*abiT, len(t.comps))
	for i, c := range t.comps {
		ts[i] = c.typ
	}
	return encodeSeq(ts, vals)
}

func encodeSeq(ts []*abiT, vals []any) []byte {
	headLen := 0
	for _, t := range ts {
		headLen += t.headSize()
	}
	var head, tail []byte
	for i, t := range ts {
		enc := encodeValue(t, vals[i])
		if t.dynamic() {
			head = append(head, uintWord(uint64(headLen+len(tail)))...)
			tail = append(tail, enc...)
		} else {
			head = append(head, enc...)
		}
	}
	return append(head, tail...)
}

func uintWord(n uint64) []byte {
	w := make([]byte, 32)
	new(big.Int).SetUint64(n).FillBytes(w)
	return w
}

func encodeValue(t *abiT, v any) []byte {
	w := make([]byte, 32)
	switch t.kind {
	case 'u', 'i':
		n := new(big.Int).Set(v.(*big.Int))
		if n.Sign() < 0 {
			n.Add(n, new(big.Int).Lsh(big.NewInt(1), 256))
		}
		n.FillBytes(w)
		return w
	case 'a':
		copy(w[12:], v.([]byte))
		return w
	case 'b':
		if v.(bool) {
			w[31] = 1
		}
		return w
	case 'f':
		copy(w, v.([]byte))
		return w
	case 'y', 's':
		var b []byte
		if s, ok := v.(string); ok {
			b = []byte(s)
		} else {
			b = v.([]byte)
		}
		out := uintWord(uint64(len(b)))
		out = append(out, b...)
		if pad := len(b) % 32; pad != 0 {
			out = append(out, make([]byte, 32-pad)...)
		}
		return out
	case 'l', 'x':
		list := v.([]any)
		ts := make([]*abiT, len(list))
		for i := range ts {
			ts[i] = t.elem
		}
		enc := encodeSeq(ts, list)
		if t.kind == 'l' {
			return append(uintWord(uint64(len(list))), enc...)
		}
		return enc
	case 't':
		return encodeABI(t, v.([]any))
	}
	return nil
}

// paramName is a parameter's name, or argN when unnamed.
func paramName(p abiParam, i int) string {
	if p.name == "" {
		return "arg" + strconv.Itoa(i)
	}
	return p.name
}

func (d abiDecoder) canonicalTuple(ps []abiParam, vals []any) (map[string]any, error) {
	out := make(map[string]any, len(ps))
	for i, p := range ps {
		name := paramName(p, i)
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("two parameters are named %s", name)
		}
		c, err := d.canonicalValue(p.typ, vals[i])
		if err != nil {
			return nil, err
		}
		out[name] = c
	}
	return out, nil
}

// canonicalValue renders a decoded value for policy.
func (d abiDecoder) canonicalValue(t *abiT, v any) (any, error) {
	switch t.kind {
	case 'u', 'i':
		return decimal.New(v.(*big.Int), 0), nil
	case 'a':
		return d.addr(v.([]byte)), nil
	case 'b':
		return v.(bool), nil
	case 'f', 'y':
		return "0x" + hex.EncodeToString(v.([]byte)), nil
	case 's':
		return v.(string), nil
	case 'l', 'x':
		list := v.([]any)
		out := make([]any, len(list))
		for i, e := range list {
			c, err := d.canonicalValue(t.elem, e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case 't':
		return d.canonicalTuple(t.comps, v.([]any))
	}
	return nil, fmt.Errorf("unknown type %s", t.canonical())
}
