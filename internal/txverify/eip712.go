package txverify

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"tssgate/internal/decimal"
	"tssgate/internal/protocol"
)

// EIP-712 typed data, hashed as eth_signTypedData_v4 does (PROTOCOL.md
// 12.2, 12.3): digest = keccak256(0x19 0x01 ‖ hashStruct(EIP712Domain,
// domain) ‖ hashStruct(primaryType, message)). The JSON spelling of values
// is loose in Cobo's data (chainId "0x38", nonce "6", operation 0), so
// every value is read by its declared type and range checked; anything
// the encoder cannot place exactly (a missing member, a null, an
// undeclared or cyclic type, a uint8 of 256) is an error, never a guess.

// typedMember is one member of a struct type, in declaration order.
type typedMember struct {
	name, typ string
}

// typedData is parsed typed data, ready to hash.
type typedData struct {
	types       map[string][]typedMember
	primaryType string
	domain      map[string]any
	message     map[string]any
	typeHashes  map[string][32]byte // keccak256(encodeType), computed once per type
}

// typedResult is what hashing established.
type typedResult struct {
	digest, domainHash, messageHash [32]byte
	domain                          protocol.TypedDomain
	message, undeclared             map[string]any
}

// Limits on typed data: far above any real permit or Safe transaction,
// low enough that hashing a hostile document stays cheap.
const (
	maxTypedTypes   = 64
	maxTypedMembers = 64
	maxTypedDepth   = 16
	maxTypedArray   = 1024
	// maxTypedTotalMembers bounds the members of all types together, so
	// the type checks and encodeType stay small whatever the per-type
	// limits allow (64 types of 64 members would be 4096).
	maxTypedTotalMembers = 512
	// maxTypedDataBytes bounds one structured_data or raw_structured_data
	// document: a Safe transaction with a long data field fits easily.
	maxTypedDataBytes = 1 << 18
)

// isIdentifier reports whether s is a Solidity identifier:
// [A-Za-z_$][A-Za-z0-9_$]*.
func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c == '_', c == '$':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// arraySuffix splits "T[n]" or "T[]" into T and n ("" for a dynamic
// array); ok is false when t does not end in an array suffix.
func arraySuffix(t string) (elem, n string, ok bool) {
	if !strings.HasSuffix(t, "]") {
		return "", "", false
	}
	i := strings.LastIndexByte(t, '[')
	if i < 0 {
		return "", "", false
	}
	n = t[i+1 : len(t)-1]
	if strings.Trim(n, "0123456789") != "" {
		return "", "", false
	}
	return t[:i], n, true
}

// standardDomain are the EIP712Domain members EIP-712 defines, with their
// types; a domain declaring any other member is refused.
var standardDomain = map[string]string{
	"name": "string", "version": "string", "chainId": "uint256",
	"verifyingContract": "address", "salt": "bytes32",
}

// parseTypedData reads typed data from JSON already parsed by the strict
// reader (map[string]any, []any, string, bool, nil, json.Number).
func parseTypedData(v any) (*typedData, error) {
	root, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("typed data is not a JSON object")
	}
	rawTypes, ok := root["types"].(map[string]any)
	if !ok {
		return nil, errors.New("types is missing or not an object")
	}
	if len(rawTypes) > maxTypedTypes {
		return nil, fmt.Errorf("types declares %d types, more than %d", len(rawTypes), maxTypedTypes)
	}
	td := &typedData{types: make(map[string][]typedMember, len(rawTypes))}
	for name, rv := range rawTypes {
		if !isIdentifier(name) {
			return nil, fmt.Errorf("types: %q is not a valid type name", short(name))
		}
		if _, basic := atomicType(name); basic {
			return nil, fmt.Errorf("types: %q redefines an atomic type", name)
		}
		list, ok := rv.([]any)
		if !ok {
			return nil, fmt.Errorf("types.%s is not an array", name)
		}
		if len(list) > maxTypedMembers {
			return nil, fmt.Errorf("types.%s has %d members, more than %d", name, len(list), maxTypedMembers)
		}
		members := make([]typedMember, 0, len(list))
		for i, mv := range list {
			m, ok := mv.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("types.%s[%d] is not an object", name, i)
			}
			mn, ok1 := m["name"].(string)
			mt, ok2 := m["type"].(string)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("types.%s[%d] needs string name and type", name, i)
			}
			if !isIdentifier(mn) {
				return nil, fmt.Errorf("types.%s[%d]: %q is not a valid member name", name, i, short(mn))
			}
			if slices.ContainsFunc(members, func(o typedMember) bool { return o.name == mn }) {
				return nil, fmt.Errorf("types.%s declares member %s twice", name, mn)
			}
			members = append(members, typedMember{name: mn, typ: mt})
		}
		td.types[name] = members
	}
	if _, ok := td.types["EIP712Domain"]; !ok {
		return nil, errors.New("types does not declare EIP712Domain")
	}
	for _, m := range td.types["EIP712Domain"] {
		if want, ok := standardDomain[m.name]; !ok || want != m.typ {
			return nil, fmt.Errorf("types.EIP712Domain: member %s %s is not one EIP-712 defines", short(m.typ), m.name)
		}
	}
	// Every member type must be well formed and every referenced type
	// declared; no type may reach itself (a cyclic type has no finite
	// encodeType), and the type graph is walked once per type.
	totalMembers := 0
	for name, members := range td.types {
		totalMembers += len(members)
		for _, m := range members {
			base, err := parseMemberType(m.typ)
			if err != nil {
				return nil, fmt.Errorf("types.%s.%s: %v", name, m.name, err)
			}
			if _, ok := atomicType(base); ok {
				continue
			}
			if _, ok := td.types[base]; !ok {
				return nil, fmt.Errorf("types.%s.%s: type %q is not declared", name, m.name, short(m.typ))
			}
		}
	}
	if totalMembers > maxTypedTotalMembers {
		return nil, fmt.Errorf("types declare %d members in all, more than %d", totalMembers, maxTypedTotalMembers)
	}
	if err := td.checkAcyclic(); err != nil {
		return nil, err
	}
	pt, ok := root["primaryType"].(string)
	if !ok || pt == "" {
		return nil, errors.New("primaryType is missing or not a string")
	}
	if _, ok := td.types[pt]; !ok {
		return nil, fmt.Errorf("primaryType %q is not declared in types", short(pt))
	}
	if pt == "EIP712Domain" {
		return nil, errors.New("primaryType EIP712Domain (a bare domain separator) is refused")
	}
	td.primaryType = pt
	if td.domain, ok = root["domain"].(map[string]any); !ok {
		return nil, errors.New("domain is missing or not an object")
	}
	if td.message, ok = root["message"].(map[string]any); !ok {
		return nil, errors.New("message is missing or not an object")
	}
	return td, nil
}

// checkAcyclic refuses a cyclic type graph, or one whose longest chain
// of nested types is deeper than maxTypedDepth. Each type is coloured
// white (unvisited), grey (on the current path) or black (done, with the
// length of its longest chain known), so the walk is linear in types plus
// members however many paths the graph has.
func (td *typedData) checkAcyclic() error {
	const (
		white = iota
		grey
		black
	)
	colour := make(map[string]int, len(td.types))
	height := make(map[string]int, len(td.types))
	var path []string
	var visit func(name string) error
	visit = func(name string) error {
		switch colour[name] {
		case grey:
			return fmt.Errorf("types: %s is cyclic (%s)", name, strings.Join(append(path, name), " -> "))
		case black:
			return nil
		}
		colour[name] = grey
		path = append(path, name)
		h := 0
		for _, m := range td.types[name] {
			b := baseType(m.typ)
			if _, ok := td.types[b]; !ok {
				continue
			}
			if err := visit(b); err != nil {
				return err
			}
			h = max(h, height[b]+1)
		}
		if h > maxTypedDepth {
			return fmt.Errorf("types: %s nests more than %d deep", name, maxTypedDepth)
		}
		path = path[:len(path)-1]
		colour[name], height[name] = black, h
		return nil
	}
	names := make([]string, 0, len(td.types))
	for name := range td.types {
		names = append(names, name)
	}
	// Sorted, so that the same document always gets the same error.
	slices.Sort(names)
	for _, name := range names {
		if err := visit(name); err != nil {
			return err
		}
	}
	return nil
}

// parseMemberType checks a member's type string and returns its base
// type: exactly an atomic type or an identifier (a struct name), followed
// only by array suffixes "[]" or "[n]" with n canonical decimal, at least
// 1 and at most maxTypedArray. The type string is written verbatim into
// encodeType, so anything looser ("uint256[] x,uint256[]") could stand
// for another member list with the same type hash.
func parseMemberType(t string) (string, error) {
	base, suffixes := t, ""
	if i := strings.IndexByte(t, '['); i >= 0 {
		base, suffixes = t[:i], t[i:]
	}
	if _, ok := atomicType(base); !ok && !isIdentifier(base) {
		return "", fmt.Errorf("type %q is not an atomic type or a struct name", short(t))
	}
	for suffixes != "" {
		end := strings.IndexByte(suffixes, ']')
		if suffixes[0] != '[' || end < 0 {
			return "", fmt.Errorf("type %q has a malformed array suffix", short(t))
		}
		if n := suffixes[1:end]; n != "" {
			v, err := strconv.Atoi(n)
			if err != nil || n[0] == '0' || v < 1 || v > maxTypedArray || strconv.Itoa(v) != n {
				return "", fmt.Errorf("type %q: array length %q is not a decimal from 1 to %d", short(t), short(n), maxTypedArray)
			}
		}
		suffixes = suffixes[end+1:]
	}
	return base, nil
}

// baseType strips every array suffix: "Person[][2]" -> "Person".
func baseType(t string) string {
	if i := strings.IndexByte(t, '['); i >= 0 {
		return t[:i]
	}
	return t
}

// atomicKind is how an atomic EIP-712 type encodes.
type atomicKind struct {
	kind  byte // 'u' uint, 'i' int, 'a' address, 'b' bool, 'f' bytesN, 'y' bytes, 's' string
	width int  // bits for u/i, bytes for f
}

// atomicType recognises the atomic types: uint8..uint256, int8..int256 in
// steps of 8, address, bool, bytes1..bytes32, bytes, string. "uint" and
// "int" without a width are not EIP-712 types.
func atomicType(t string) (atomicKind, bool) {
	switch t {
	case "address":
		return atomicKind{kind: 'a'}, true
	case "bool":
		return atomicKind{kind: 'b'}, true
	case "bytes":
		return atomicKind{kind: 'y'}, true
	case "string":
		return atomicKind{kind: 's'}, true
	}
	num := func(prefix string) (int, bool) {
		rest, ok := strings.CutPrefix(t, prefix)
		if !ok || rest == "" || rest[0] == '0' {
			return 0, false
		}
		n, err := strconv.Atoi(rest)
		return n, err == nil
	}
	if n, ok := num("uint"); ok && n%8 == 0 && n >= 8 && n <= 256 {
		return atomicKind{kind: 'u', width: n}, true
	}
	if n, ok := num("int"); ok && n%8 == 0 && n >= 8 && n <= 256 {
		return atomicKind{kind: 'i', width: n}, true
	}
	if n, ok := num("bytes"); ok && n >= 1 && n <= 32 {
		return atomicKind{kind: 'f', width: n}, true
	}
	return atomicKind{}, false
}

// encodeType is the EIP-712 encodeType of name: itself, then every type
// it references, sorted by name.
func (td *typedData) encodeType(name string) string {
	deps := map[string]bool{}
	var collect func(string)
	collect = func(n string) {
		for _, m := range td.types[n] {
			b := baseType(m.typ)
			if _, ok := td.types[b]; ok && !deps[b] && b != name {
				deps[b] = true
				collect(b)
			}
		}
	}
	collect(name)
	sorted := make([]string, 0, len(deps))
	for d := range deps {
		sorted = append(sorted, d)
	}
	slices.Sort(sorted)
	var b strings.Builder
	for _, n := range append([]string{name}, sorted...) {
		b.WriteString(n)
		b.WriteByte('(')
		for i, m := range td.types[n] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(m.typ)
			b.WriteByte(' ')
			b.WriteString(m.name)
		}
		b.WriteByte(')')
	}
	return b.String()
}

// hashStruct returns keccak256(typeHash ‖ encodeData) and the canonical
// value of every declared member; undeclared members of v are returned
// apart (canonicalJSON), since they are not hashed.
func (td *typedData) hashStruct(name string, v map[string]any, path string, depth int) ([32]byte, map[string]any, map[string]any, error) {
	if depth > maxTypedDepth {
		return [32]byte{}, nil, nil, fmt.Errorf("%s: nested more than %d deep", path, maxTypedDepth)
	}
	typeHash, ok := td.typeHashes[name]
	if !ok {
		typeHash = keccak256([]byte(td.encodeType(name)))
		if td.typeHashes == nil {
			td.typeHashes = map[string][32]byte{}
		}
		td.typeHashes[name] = typeHash
	}
	enc := make([]byte, 0, 32*(1+len(td.types[name])))
	enc = append(enc, typeHash[:]...)
	canon := make(map[string]any, len(td.types[name]))
	for _, m := range td.types[name] {
		val, ok := v[m.name]
		if !ok {
			return [32]byte{}, nil, nil, fmt.Errorf("%s.%s (%s) is missing", path, m.name, m.typ)
		}
		word, c, err := td.encodeField(m.typ, val, path+"."+m.name, depth)
		if err != nil {
			return [32]byte{}, nil, nil, err
		}
		enc = append(enc, word[:]...)
		canon[m.name] = c
	}
	var undeclared map[string]any
	for k, val := range v {
		if _, declared := canon[k]; declared {
			continue
		}
		if undeclared == nil {
			undeclared = map[string]any{}
		}
		c, err := canonicalJSON(val, path+"."+k, depth+1)
		if err != nil {
			return [32]byte{}, nil, nil, err
		}
		undeclared[k] = c
	}
	return keccak256(enc), canon, undeclared, nil
}

// encodeField encodes one value of type t as its 32-byte word in
// encodeData, with its canonical value.
func (td *typedData) encodeField(t string, v any, path string, depth int) ([32]byte, any, error) {
	if v == nil {
		return [32]byte{}, nil, fmt.Errorf("%s (%s) is null", path, t)
	}
	if elem, size, isArray := arraySuffix(t); isArray {
		list, ok := v.([]any)
		if !ok {
			return [32]byte{}, nil, fmt.Errorf("%s (%s) is not an array", path, t)
		}
		if size != "" {
			n, err := strconv.Atoi(size)
			if err != nil || n == 0 || size[0] == '0' || n != len(list) {
				return [32]byte{}, nil, fmt.Errorf("%s (%s) has %d elements", path, t, len(list))
			}
		}
		if len(list) > maxTypedArray {
			return [32]byte{}, nil, fmt.Errorf("%s has %d elements, more than %d", path, len(list), maxTypedArray)
		}
		enc := make([]byte, 0, 32*len(list))
		canon := make([]any, len(list))
		for i, e := range list {
			w, c, err := td.encodeField(elem, e, fmt.Sprintf("%s[%d]", path, i), depth+1)
			if err != nil {
				return [32]byte{}, nil, err
			}
			enc = append(enc, w[:]...)
			canon[i] = c
		}
		return keccak256(enc), canon, nil
	}
	if _, ok := td.types[t]; ok {
		obj, ok := v.(map[string]any)
		if !ok {
			return [32]byte{}, nil, fmt.Errorf("%s (%s) is not an object", path, t)
		}
		h, canon, undeclared, err := td.hashStruct(t, obj, path, depth+1)
		if err != nil {
			return [32]byte{}, nil, err
		}
		if len(undeclared) > 0 {
			// Undeclared members are only kept at the top level of the
			// message; inside a nested struct there is no place for them
			// that cannot be confused with a declared member.
			for k := range undeclared {
				return [32]byte{}, nil, fmt.Errorf("%s.%s is not declared by %s", path, short(k), t)
			}
		}
		return h, canon, nil
	}
	k, ok := atomicType(t)
	if !ok {
		// parseTypedData checked every type; only a malformed array
		// suffix ("uint256[") arrives here.
		return [32]byte{}, nil, fmt.Errorf("%s: type %q is not an EIP-712 type", path, short(t))
	}
	return encodeAtomic(k, t, v, path)
}

// encodeAtomic encodes an atomic value by its declared type.
func encodeAtomic(k atomicKind, t string, v any, path string) ([32]byte, any, error) {
	var w [32]byte
	switch k.kind {
	case 'a':
		s, ok := v.(string)
		if !ok || !isEVMAddressText(s) {
			return w, nil, fmt.Errorf("%s (address) is not 0x and 40 hex digits", path)
		}
		b, _ := hex.DecodeString(s[2:])
		copy(w[12:], b)
		return w, strings.ToLower(s), nil
	case 'b':
		b, ok := v.(bool)
		if !ok {
			return w, nil, fmt.Errorf("%s (bool) is not true or false", path)
		}
		if b {
			w[31] = 1
		}
		return w, b, nil
	case 's':
		s, ok := v.(string)
		if !ok {
			return w, nil, fmt.Errorf("%s (string) is not a string", path)
		}
		return keccak256([]byte(s)), s, nil
	case 'y':
		s, ok := v.(string)
		b, err := typedHex(s)
		if !ok || err != nil {
			return w, nil, fmt.Errorf("%s (bytes) is not 0x hex", path)
		}
		return keccak256(b), "0x" + hex.EncodeToString(b), nil
	case 'f':
		s, ok := v.(string)
		b, err := typedHex(s)
		if !ok || err != nil || len(b) != k.width {
			return w, nil, fmt.Errorf("%s (%s) is not 0x and %d hex bytes", path, t, k.width)
		}
		copy(w[:], b)
		return w, "0x" + hex.EncodeToString(b), nil
	case 'u', 'i':
		n, err := typedInteger(v)
		if err != nil {
			return w, nil, fmt.Errorf("%s (%s): %v", path, t, err)
		}
		lo, hi := integerRange(k)
		if n.Cmp(lo) < 0 || n.Cmp(hi) > 0 {
			return w, nil, fmt.Errorf("%s (%s): %s is out of range", path, t, short(n.String()))
		}
		// Two's complement in 256 bits: the sign extension EIP-712
		// prescribes for every width.
		u := new(big.Int).Set(n)
		if u.Sign() < 0 {
			u.Add(u, new(big.Int).Lsh(big.NewInt(1), 256))
		}
		u.FillBytes(w[:])
		return w, decimal.New(n, 0), nil
	}
	return w, nil, fmt.Errorf("%s: unknown type %s", path, t)
}

// integerRange is the inclusive range of uintN or intN.
func integerRange(k atomicKind) (lo, hi *big.Int) {
	one := big.NewInt(1)
	if k.kind == 'u' {
		return new(big.Int), new(big.Int).Sub(new(big.Int).Lsh(one, uint(k.width)), one)
	}
	half := new(big.Int).Lsh(one, uint(k.width-1))
	return new(big.Int).Neg(half), new(big.Int).Sub(half, one)
}

// maxIntegerText bounds an integer's spelling: 2^256 has 78 decimal
// digits; a little slack allows leading zeros.
const maxIntegerText = 100

// typedInteger reads an integer spelled as a JSON number without fraction
// or exponent, a decimal string (optionally negative) or a 0x hex string.
func typedInteger(v any) (*big.Int, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case string:
		s = x
		if h, ok := strings.CutPrefix(s, "0x"); ok {
			if h == "" || len(h) > maxIntegerText || !isHexDigits(h) {
				return nil, fmt.Errorf("%q is not a hex integer", short(s))
			}
			n, _ := new(big.Int).SetString(h, 16)
			return n, nil
		}
	default:
		return nil, errors.New("is not a number or a numeric string")
	}
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || len(digits) > maxIntegerText || strings.Trim(digits, "0123456789") != "" {
		return nil, fmt.Errorf("%q is not an integer", short(s))
	}
	n, _ := new(big.Int).SetString(s, 10)
	return n, nil
}

func isHexDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func isEVMAddressText(s string) bool {
	return len(s) == 42 && (s[:2] == "0x" || s[:2] == "0X") && isHexDigits(s[2:])
}

// typedHex reads 0x-prefixed hex bytes ("0x" is empty).
func typedHex(s string) ([]byte, error) {
	h, ok := strings.CutPrefix(s, "0x")
	if !ok || len(h)%2 != 0 {
		return nil, errors.New("not 0x hex")
	}
	return hex.DecodeString(h)
}

// canonicalJSON is the canonical value of a member no type declares:
// numbers that are integers become exact decimals, other numbers their
// exact decimal, EVM addresses lower case.
func canonicalJSON(v any, path string, depth int) (any, error) {
	if depth > maxTypedDepth {
		return nil, fmt.Errorf("%s: nested more than %d deep", path, maxTypedDepth)
	}
	switch x := v.(type) {
	case nil, bool:
		return x, nil
	case string:
		if isEVMAddressText(x) {
			return strings.ToLower(x), nil
		}
		return x, nil
	case json.Number:
		d, err := decimal.Parse(string(x))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		return d, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := canonicalJSON(e, fmt.Sprintf("%s[%d]", path, i), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := canonicalJSON(e, path+"."+k, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: unexpected JSON value %T", path, v)
}

// hashTypedData computes the digest and the canonical facts.
func hashTypedData(td *typedData) (*typedResult, error) {
	res := &typedResult{}
	var (
		domain, domainExtra map[string]any
		err                 error
	)
	res.domainHash, domain, domainExtra, err = td.hashStruct("EIP712Domain", td.domain, "domain", 0)
	if err != nil {
		return nil, err
	}
	for k := range domainExtra {
		return nil, fmt.Errorf("domain.%s is not declared by EIP712Domain", short(k))
	}
	res.messageHash, res.message, res.undeclared, err = td.hashStruct(td.primaryType, td.message, "message", 0)
	if err != nil {
		return nil, err
	}
	pre := make([]byte, 0, 66)
	pre = append(pre, 0x19, 0x01)
	pre = append(pre, res.domainHash[:]...)
	pre = append(pre, res.messageHash[:]...)
	res.digest = keccak256(pre)
	str := func(k string) string {
		switch x := domain[k].(type) {
		case string:
			return x
		case decimal.Decimal:
			return x.String()
		}
		return ""
	}
	res.domain = protocol.TypedDomain{
		Name: str("name"), Version: str("version"), ChainID: str("chainId"),
		VerifyingContract: str("verifyingContract"), Salt: str("salt"),
	}
	return res, nil
}
