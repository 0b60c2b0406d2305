package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strings"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"

	"tssgate/internal/decimal"
	"tssgate/internal/text"
)

// This file holds the CEL values the policy engine adds to the standard
// ones: exact decimals, the read-only objects behind request, tx and lists,
// and the hash sets that back lists. Every value here is immutable once
// built, so one Policy can hand the same list sets to every request.

// decimalType is the CEL type of an exact decimal. It is declared as an
// object type because only object types can carry the comparer, adder and
// subtractor traits that the standard <, <=, >, >=, + and - operators
// dispatch on; the type has no fields, so a field selection on it fails to
// compile.
var decimalType = types.NewObjectType("decimal",
	traits.ComparerType, traits.AdderType, traits.SubtractorType)

// decVal is a decimal.Decimal inside CEL. It compares, adds and subtracts
// only with other decimals: an int or a double on the other side is an
// error, never a conversion, so no money path can pass through float64.
type decVal struct{ d decimal.Decimal }

func newDec(d decimal.Decimal) ref.Val { return decVal{d: d} }

// ConvertToNative supports only decimal.Decimal itself.
func (v decVal) ConvertToNative(typeDesc reflect.Type) (any, error) {
	if typeDesc == reflect.TypeOf(decimal.Decimal{}) {
		return v.d, nil
	}
	return nil, fmt.Errorf("decimal cannot be converted to %v", typeDesc)
}

// ConvertToType allows type(d) and nothing else: string and double
// conversions are deliberately absent.
func (v decVal) ConvertToType(typeVal ref.Type) ref.Val {
	switch typeVal {
	case types.TypeType:
		return decimalType
	case decimalType:
		return v
	}
	return types.NewErr("type conversion error from 'decimal' to '%s'", typeVal.TypeName())
}

// Equal compares numerically (1.50 == 1.5). Comparing with anything but a
// decimal is an error rather than false, so that `!=` cannot turn a type
// mistake into a match.
func (v decVal) Equal(other ref.Val) ref.Val {
	o, ok := other.(decVal)
	if !ok {
		return decimalMismatch("==", other)
	}
	return types.Bool(v.d.Cmp(o.d) == 0)
}

// Type implements ref.Val.
func (v decVal) Type() ref.Type { return decimalType }

// Value returns the decimal.Decimal.
func (v decVal) Value() any { return v.d }

// Compare implements traits.Comparer for <, <=, > and >=.
func (v decVal) Compare(other ref.Val) ref.Val {
	o, ok := other.(decVal)
	if !ok {
		return decimalMismatch("comparison", other)
	}
	return types.Int(v.d.Cmp(o.d))
}

// Add implements traits.Adder.
func (v decVal) Add(other ref.Val) ref.Val {
	o, ok := other.(decVal)
	if !ok {
		return decimalMismatch("+", other)
	}
	return newDec(v.d.Add(o.d))
}

// Subtract implements traits.Subtractor.
func (v decVal) Subtract(other ref.Val) ref.Val {
	o, ok := other.(decVal)
	if !ok {
		return decimalMismatch("-", other)
	}
	return newDec(v.d.Sub(o.d))
}

// String is for error messages and test output.
func (v decVal) String() string { return v.d.String() }

func decimalMismatch(op string, other ref.Val) ref.Val {
	if types.IsUnknownOrError(other) {
		return other
	}
	return types.NewErr("decimal %s with %s: wrap the value in decimal(...) first; doubles are never accepted", op, other.Type().TypeName())
}

// parseDecimalVal implements decimal(string).
func parseDecimalVal(arg ref.Val) ref.Val {
	s, ok := arg.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(arg)
	}
	d, err := decimal.Parse(string(s))
	if err != nil {
		return types.NewErr("decimal(%q): %v", truncate(string(s), 40), err)
	}
	return newDec(d)
}

// intDecimalVal implements decimal(int), which is exact.
func intDecimalVal(arg ref.Val) ref.Val {
	i, ok := arg.(types.Int)
	if !ok {
		return types.MaybeNoSuchOverloadErr(arg)
	}
	return newDec(decimal.New(big.NewInt(int64(i)), 0))
}

// sumDecimals implements sum(list(decimal)). An empty list sums to 0.
func sumDecimals(arg ref.Val) ref.Val {
	l, ok := arg.(traits.Lister)
	if !ok {
		return types.MaybeNoSuchOverloadErr(arg)
	}
	total := decimal.Decimal{}
	for it := l.Iterator(); it.HasNext() == types.True; {
		e := it.Next()
		d, ok := e.(decVal)
		if !ok {
			return decimalMismatch("sum", e)
		}
		total = total.Add(d.d)
	}
	return newDec(total)
}

// objectType describes one of the engine's read-only object types (the
// values of request, tx, a destination, lists). Fields are declared with
// static CEL types so that a misspelt field fails when the policy loads.
type objectType struct {
	celType *types.Type
	names   []string
	index   map[string]int
	fields  map[string]*types.FieldType
}

func newObjectType(name string, fieldNames []string, fieldTypes []*types.Type) *objectType {
	t := &objectType{
		celType: types.NewObjectType(name),
		names:   fieldNames,
		index:   make(map[string]int, len(fieldNames)),
		fields:  make(map[string]*types.FieldType, len(fieldNames)),
	}
	for i, n := range fieldNames {
		t.index[n] = i
		t.fields[n] = &types.FieldType{
			Type: fieldTypes[i],
			// Every declared field is always present: the engine fills
			// absent protocol values with "" or [] rather than leaving holes,
			// so has() cannot be used to probe for them.
			IsSet: func(target any) bool {
				o, ok := target.(*objectVal)
				return ok && o.typ == t
			},
			GetFrom: func(target any) (any, error) {
				// An object that is itself an error value (tx.message on a
				// transfer) passes its own error on, which says why the
				// object is not set.
				switch e := target.(type) {
				case *types.Err:
					return nil, errors.New(e.String())
				case error:
					return nil, e
				}
				o, ok := target.(*objectVal)
				if !ok || o.typ != t {
					return nil, fmt.Errorf("field %q read from a value that is not %s", n, name)
				}
				return o.vals[i], nil
			},
		}
	}
	return t
}

// newValue builds an object; vals must follow the declared field order.
func (t *objectType) newValue(vals ...ref.Val) *objectVal {
	if len(vals) != len(t.names) {
		panic(fmt.Sprintf("policy: %s built with %d fields, want %d", t.celType.TypeName(), len(vals), len(t.names)))
	}
	return &objectVal{typ: t, vals: vals}
}

// objectVal is an instance of an objectType.
type objectVal struct {
	typ  *objectType
	vals []ref.Val
}

// ConvertToNative is not supported: objects only live inside CEL.
func (o *objectVal) ConvertToNative(typeDesc reflect.Type) (any, error) {
	if typeDesc == reflect.TypeOf(o) {
		return o, nil
	}
	return nil, fmt.Errorf("%s cannot be converted to %v", o.typ.celType.TypeName(), typeDesc)
}

// ConvertToType supports only type(x).
func (o *objectVal) ConvertToType(typeVal ref.Type) ref.Val {
	if typeVal == types.TypeType {
		return o.typ.celType
	}
	return types.NewErr("type conversion error from '%s' to '%s'", o.typ.celType.TypeName(), typeVal.TypeName())
}

// Equal compares field by field.
func (o *objectVal) Equal(other ref.Val) ref.Val {
	p, ok := other.(*objectVal)
	if !ok || p.typ != o.typ {
		return types.False
	}
	for i := range o.vals {
		eq := o.vals[i].Equal(p.vals[i])
		if eq != types.True {
			return eq
		}
	}
	return types.True
}

// Type implements ref.Val.
func (o *objectVal) Type() ref.Type { return o.typ.celType }

// Value returns the object itself, which is what the field getters expect.
func (o *objectVal) Value() any { return o }

// Get implements traits.Indexer, used when an object is reached through
// dyn and its fields were not resolved statically.
func (o *objectVal) Get(index ref.Val) ref.Val {
	s, ok := index.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(index)
	}
	i, ok := o.typ.index[string(s)]
	if !ok {
		return types.NewErr("no such field '%s' on %s", string(s), o.typ.celType.TypeName())
	}
	return o.vals[i]
}

// IsSet implements traits.FieldTester.
func (o *objectVal) IsSet(field ref.Val) ref.Val {
	s, ok := field.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(field)
	}
	if _, ok := o.typ.index[string(s)]; !ok {
		return types.NewErr("no such field '%s' on %s", string(s), o.typ.celType.TypeName())
	}
	return types.True
}

// stringSet is a named list: a set of strings with constant-time
// membership. CEL sees it as map(string, bool) whose values are all true, so
// `x in lists.NAME` is a hash lookup however large the list is. Lookups
// normalize the probe the same way entries were normalized at load
// (normalizeAddress), so a checksum-cased EVM address matches a lower-case
// entry wherever the probe came from.
type stringSet struct {
	set  map[string]struct{}
	keys []string // distinct entries in first-seen order, for iteration
}

func newStringSet(entries []string) *stringSet {
	s := &stringSet{set: make(map[string]struct{}, len(entries))}
	for _, e := range entries {
		n := normalizeAddress(e)
		if _, dup := s.set[n]; dup {
			continue
		}
		s.set[n] = struct{}{}
		s.keys = append(s.keys, n)
	}
	return s
}

func (s *stringSet) has(v string) bool {
	_, ok := s.set[normalizeAddress(v)]
	return ok
}

// ConvertToNative supports map[string]bool and []string.
func (s *stringSet) ConvertToNative(typeDesc reflect.Type) (any, error) {
	switch typeDesc {
	case reflect.TypeOf(map[string]bool{}):
		m := make(map[string]bool, len(s.keys))
		for _, k := range s.keys {
			m[k] = true
		}
		return m, nil
	case reflect.TypeOf([]string{}):
		return append([]string(nil), s.keys...), nil
	}
	return nil, fmt.Errorf("list cannot be converted to %v", typeDesc)
}

// ConvertToType supports only type(x).
func (s *stringSet) ConvertToType(typeVal ref.Type) ref.Val {
	if typeVal == types.TypeType {
		return types.MapType
	}
	return types.NewErr("type conversion error from 'map' to '%s'", typeVal.TypeName())
}

// Equal compares as sets.
func (s *stringSet) Equal(other ref.Val) ref.Val {
	o, ok := other.(*stringSet)
	if !ok {
		return types.False
	}
	if len(o.set) != len(s.set) {
		return types.False
	}
	for k := range s.set {
		if _, ok := o.set[k]; !ok {
			return types.False
		}
	}
	return types.True
}

// Type is the generic map type, which carries the container, indexer,
// iterable and sizer traits the standard library dispatches on.
func (s *stringSet) Type() ref.Type { return types.MapType }

// Value returns the set itself.
func (s *stringSet) Value() any { return s }

// Contains implements `in`. A probe that is not a string is an error, not
// false: `!(x in lists.blocked)` must not pass because x had the wrong type.
func (s *stringSet) Contains(key ref.Val) ref.Val {
	k, ok := key.(types.String)
	if !ok {
		if types.IsUnknownOrError(key) {
			return key
		}
		return types.NewErr("list membership needs a string, got %s", key.Type().TypeName())
	}
	return types.Bool(s.has(string(k)))
}

// Get implements indexing: lists.NAME["x"] is true, or an error when absent.
func (s *stringSet) Get(key ref.Val) ref.Val {
	v, found := s.Find(key)
	if !found {
		if v != nil {
			return v
		}
		return types.NewErr("no such key: %v", key)
	}
	return v
}

// Find implements traits.Mapper.
func (s *stringSet) Find(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		if types.IsUnknownOrError(key) {
			return key, false
		}
		return types.NewErr("list membership needs a string, got %s", key.Type().TypeName()), false
	}
	if s.has(string(k)) {
		return types.True, true
	}
	return nil, false
}

// Size implements traits.Sizer.
func (s *stringSet) Size() ref.Val { return types.Int(len(s.keys)) }

// Iterator walks the distinct normalized entries.
func (s *stringSet) Iterator() traits.Iterator { return &setIterator{keys: s.keys} }

type setIterator struct {
	keys []string
	next int
}

func (it *setIterator) ConvertToNative(typeDesc reflect.Type) (any, error) {
	return nil, fmt.Errorf("iterator cannot be converted to %v", typeDesc)
}
func (it *setIterator) ConvertToType(ref.Type) ref.Val {
	return types.NewErr("iterator cannot be converted")
}
func (it *setIterator) Equal(ref.Val) ref.Val { return types.False }
func (it *setIterator) Type() ref.Type        { return types.IteratorType }
func (it *setIterator) Value() any            { return nil }
func (it *setIterator) HasNext() ref.Val      { return types.Bool(it.next < len(it.keys)) }
func (it *setIterator) Next() ref.Val {
	if it.next >= len(it.keys) {
		return nil
	}
	k := it.keys[it.next]
	it.next++
	return types.String(k)
}

// normalizeAddress is the one normalization applied to list entries, to
// addresses in tx, and to every list lookup. EVM-style addresses ("0x" and
// 40 hex digits) are case-insensitive (EIP-55 only adds a checksum in the
// case), so they become lower case with a lower-case prefix. Everything
// else (base58 TRON, Solana and Bitcoin addresses, bech32, node IDs) is
// case-sensitive or already canonical and stays exactly as written.
func normalizeAddress(s string) string {
	if len(s) != 42 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return s
	}
	lower := true
	for i := 2; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			lower = false
		default:
			return s
		}
	}
	if lower && s[1] == 'x' {
		return s
	}
	return strings.ToLower(s)
}

// jsonToCEL converts request_detail or extra_info, as protocol.Decode
// parsed them (map[string]any, []any, string, bool, nil, json.Number), into
// CEL values. Integers that fit int64 become int; every other number
// becomes an exact decimal, never a double. A number decimal.Parse refuses
// (an exponent, or too many digits) becomes an error value, so a rule that
// reads it errors and rejects while rules that do not read it are
// unaffected.
func jsonToCEL(v any) ref.Val {
	switch x := v.(type) {
	case nil:
		return types.NullValue
	case bool:
		return types.Bool(x)
	case string:
		return types.String(x)
	case json.Number:
		if i, err := x.Int64(); err == nil && !strings.ContainsAny(string(x), ".eE") {
			return types.Int(i)
		}
		d, err := decimal.Parse(string(x))
		if err != nil {
			return types.NewErr("number %s cannot be read exactly: %v", truncate(string(x), 40), err)
		}
		return newDec(d)
	}
	if c, ok := containerToCEL(v, jsonToCEL); ok {
		return c
	}
	return types.NewErr("unsupported JSON value of Go type %T", v)
}

// containerToCEL converts a []any or map[string]any into a CEL list or map,
// each element by elem, and reports whether v was one of them.
func containerToCEL(v any, elem func(any) ref.Val) (ref.Val, bool) {
	switch x := v.(type) {
	case []any:
		out := make([]ref.Val, len(x))
		for i, e := range x {
			out[i] = elem(e)
		}
		return types.NewRefValList(types.DefaultTypeAdapter, out), true
	case map[string]any:
		out := make(map[ref.Val]ref.Val, len(x))
		for k, e := range x {
			out[types.String(k)] = elem(e)
		}
		return types.NewRefValMap(types.DefaultTypeAdapter, out), true
	}
	return nil, false
}

func stringList(ss []string, normalize bool) ref.Val {
	out := make([]ref.Val, len(ss))
	for i, s := range ss {
		if normalize {
			s = normalizeAddress(s)
		}
		out[i] = types.String(s)
	}
	return types.NewRefValList(types.DefaultTypeAdapter, out)
}

// truncate makes request text fit for an error message (text.Clean: valid
// UTF-8, control characters escaped, cut on a character boundary).
func truncate(s string, n int) string { return text.Clean(s, n+len(text.Marker)) }
