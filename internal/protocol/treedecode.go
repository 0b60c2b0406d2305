package protocol

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"tssgate/internal/decimal"
)

// Typed decoding straight from the generic tree.
//
// Decode parses package_data once, into the generic maps rules read
// (Request.Detail, Request.Extra). The typed view is then built from those
// same maps by decodeTree, which walks the tree alongside the wire struct
// and sets each field the way encoding/json would set it from that JSON:
// the same leaf rules (the value types' UnmarshalJSON rules, restated on
// tree values), the same null handling, exact member names only. It
// succeeds only on input it understands completely: a wrong JSON kind, a
// value a leaf refuses, a member name that folds to a field's name, a type
// it has no rule for, each makes it give up and return false. decodeExact
// (exactCopy, re-encoding, json.Unmarshal) then decodes the part from
// scratch, and its answer, a reason naming the field or a value, is the
// answer. So decodeTree changes how fast a good request decodes, never
// what any request decodes to or why one is refused; the tests hold it to
// that by decoding every sample, fixture and fuzz input both ways.

// treeStruct is what decodeTree needs of one struct type.
type treeStruct struct {
	index  map[string]int    // exact JSON name -> field index
	fields []treeField       // index's entries, in field order
	folded map[string]string // fieldsOf(t).folded
	ok     bool              // false: a shape decodeTree leaves to decodeExact
}

// treeField is one entry of treeStruct.index.
type treeField struct {
	name  string
	index int
}

var treeStructs sync.Map // reflect.Type -> *treeStruct

func treeStructOf(t reflect.Type) *treeStruct {
	if ts, ok := treeStructs.Load(t); ok {
		return ts.(*treeStruct)
	}
	ts := &treeStruct{index: map[string]int{}, folded: fieldsOf(t).folded, ok: true}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			ts.ok = false // embedded structs: encoding/json's rules are subtler
			break
		}
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		ts.index[name] = i
	}
	for name, i := range ts.index {
		ts.fields = append(ts.fields, treeField{name, i})
	}
	slices.SortFunc(ts.fields, func(a, b treeField) int { return a.index - b.index })
	actual, _ := treeStructs.LoadOrStore(t, ts)
	return actual.(*treeStruct)
}

var (
	intType        = reflect.TypeFor[Int]()
	hexStringType  = reflect.TypeFor[HexString]()
	amountType     = reflect.TypeFor[Amount]()
	curveType      = reflect.TypeFor[Curve]()
	toAddrListType = reflect.TypeFor[V1ToAddressDetails]()
	extraParamType = reflect.TypeFor[V1ExtraParameters]()
)

// decodeTree sets rv, a settable zero value, from v, a parseJSON value, and
// reports whether it could. On false rv may be partly set; the caller
// zeroes it before decoding another way.
func decodeTree(v any, rv reflect.Value) bool {
	switch rv.Type() {
	case intType:
		switch x := v.(type) {
		case nil:
			return true
		case json.Number:
			return setInt(rv, string(x))
		case string:
			return setInt(rv, x)
		}
		return false
	case hexStringType:
		s, ok := v.(string)
		if !ok || !isHex(s) {
			return false
		}
		rv.SetString(s)
		return true
	case amountType:
		var text string
		switch x := v.(type) {
		case nil:
			return true // Amount{}: unset
		case string:
			if x == "" {
				return true
			}
			text = x
		case json.Number:
			text = string(x)
		default:
			return false
		}
		d, err := decimal.Parse(text)
		if err != nil {
			return false
		}
		rv.Set(reflect.ValueOf(Amount{Value: d, Set: true}))
		return true
	case curveType:
		var text string
		switch x := v.(type) {
		case nil:
			return true
		case json.Number:
			text = string(x)
		case string:
			text = x
			switch strings.ToUpper(x) {
			case "SECP256K1":
				rv.SetInt(int64(CurveSECP256K1))
				return true
			case "ED25519":
				rv.SetInt(int64(CurveED25519))
				return true
			}
		default:
			return false
		}
		if !isInteger(text) {
			return false
		}
		n, err := strconv.ParseInt(text, 10, 32)
		if err != nil {
			return false
		}
		rv.SetInt(n)
		return true
	case rawMessageType:
		// What exactCopy plus re-encoding hand json.Unmarshal: the
		// subtree as json.Marshal writes it ("null" for null).
		b, err := json.Marshal(v)
		if err != nil {
			return false
		}
		rv.SetBytes(b)
		return true
	case toAddrListType, extraParamType:
		// v1 sends these as a string holding JSON; nothing (null, "",
		// "null") is the zero value.
		if s, isString := v.(string); isString {
			if s == "" || s == "null" {
				return true
			}
			parsed, err := parseJSONString(s)
			if err != nil {
				return false
			}
			v = parsed
		}
		if v == nil {
			return false // a bare null inside the string: left to decodeExact
		}
		return decodeKind(v, rv)
	}
	return decodeKind(v, rv)
}

// decodeKind sets rv by its kind: the composite and plain types.
func decodeKind(v any, rv reflect.Value) bool {
	switch rv.Kind() {
	case reflect.String:
		switch x := v.(type) {
		case nil:
			return true
		case string:
			rv.SetString(x)
			return true
		}
	case reflect.Bool:
		switch x := v.(type) {
		case nil:
			return true
		case bool:
			rv.SetBool(x)
			return true
		}
	case reflect.Pointer:
		if v == nil {
			rv.SetZero()
			return true
		}
		p := reflect.New(rv.Type().Elem())
		if !decodeTree(v, p.Elem()) {
			return false
		}
		rv.Set(p)
		return true
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return false // []byte is base64 to encoding/json
		}
		switch x := v.(type) {
		case nil:
			rv.SetZero()
			return true
		case []any:
			s := reflect.MakeSlice(rv.Type(), len(x), len(x))
			for i, el := range x {
				if !decodeTree(el, s.Index(i)) {
					return false
				}
			}
			rv.Set(s)
			return true
		}
	case reflect.Struct:
		switch x := v.(type) {
		case nil:
			return true
		case map[string]any:
			ts := treeStructOf(rv.Type())
			if !ts.ok {
				return false
			}
			// Field by field: a lookup per field is cheaper than walking
			// the map. Only when the object has members that are no
			// field's are those walked, for names that fold to a field's.
			known := 0
			for _, f := range ts.fields {
				val, present := x[f.name]
				if !present {
					continue
				}
				known++
				if !decodeTree(val, rv.Field(f.index)) {
					return false
				}
			}
			if known == len(x) {
				return true
			}
			for key := range x {
				if _, isField := ts.index[key]; isField {
					continue
				}
				if _, folds := ts.folded[foldKey(key)]; folds {
					return false // decodeExact names it
				}
			}
			return true
		}
	}
	return false
}

// setInt sets an Int from its text by Int's rules.
func setInt(rv reflect.Value, text string) bool {
	if !isInteger(text) {
		return false
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return false
	}
	rv.SetInt(n)
	return true
}
