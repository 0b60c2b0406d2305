package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// Typed decoding reads exactly the member names the generic maps hold.
//
// encoding/json matches object members to struct fields case-insensitively
// and with Unicode folding, so {"addreſs": ...} (U+017F LATIN SMALL LETTER
// LONG S folds to s) fills the Address field, while a rule reading the
// generic map finds no "address" at all: one field, two decoders, two
// answers. Decode therefore never hands the original JSON to
// json.Unmarshal. It builds the typed view from the generic tree by
// decodeTree (treedecode.go), which reads exact names only; what decodeTree
// does not fully understand (any refusal, any unusual shape) is decoded
// here instead, and this path's result and reasons are the reference
// decodeTree is tested against. exactCopy walks the generic value
// alongside the struct type it is decoded into and
//   - refuses a member whose name is not exactly a field's name but folds
//     to one ("ADDRESS", "Address", "addreſs", a Kelvin sign for k), at
//     every level, inside arrays and inside the JSON strings v1 embeds;
//   - drops members that name no field (typed decoding ignores them anyway);
// and the copy, re-encoded, is what json.Unmarshal sees. Whatever folding
// encoding/json does, it only ever meets exact names.

// foldedNameError reports a member whose name matches a known field only by
// case or Unicode folding.
type foldedNameError struct {
	path, key, want string // the object's path, the member as sent, the field's name
}

func (e *foldedNameError) Error() string {
	return fmt.Sprintf("%s: member %s matches %q only by case or Unicode folding; member names must match exactly",
		e.path, strconv.QuoteToASCII(truncate(e.key, 40)), e.want)
}

// fieldSet is what typed decoding reads of one struct type.
type fieldSet struct {
	types  map[string]reflect.Type // exact JSON name -> field type
	folded map[string]string       // foldKey(name) -> exact JSON name
}

var fieldSets sync.Map // reflect.Type -> *fieldSet

// fieldsOf returns the JSON member names of struct type t as encoding/json
// reads them: the json tag's name, else the Go field name; "-" and
// unexported fields are skipped; untagged embedded structs are flattened.
func fieldsOf(t reflect.Type) *fieldSet {
	if fs, ok := fieldSets.Load(t); ok {
		return fs.(*fieldSet)
	}
	fs := &fieldSet{types: map[string]reflect.Type{}, folded: map[string]string{}}
	var add func(t reflect.Type)
	add = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					add(ft)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fs.types[name] = f.Type
			fs.folded[foldKey(name)] = name
		}
	}
	add(t)
	actual, _ := fieldSets.LoadOrStore(t, fs)
	return actual.(*fieldSet)
}

var (
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// embeddedTypes are the wire types whose value v1 may send as a string
// holding JSON, mapped to the type their UnmarshalJSON decodes that JSON
// into; exactCopy looks inside the string with the same rules.
var embeddedTypes = map[reflect.Type]reflect.Type{
	reflect.TypeFor[V1ToAddressDetails](): reflect.TypeFor[[]V1ToAddressDetail](),
	reflect.TypeFor[V1ExtraParameters]():  reflect.TypeFor[v1ExtraParameters](),
}

// exactCopy returns v (a parseJSON value) as typed decoding into t may see
// it: object members that name no field of t dropped, members that name a
// field only by folding refused (a *foldedNameError naming the member and
// its path). Values of the wrong JSON kind are returned
// unchanged, so that json.Unmarshal reports them as before.
func exactCopy(v any, t reflect.Type, path string) (any, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if inner, ok := embeddedTypes[t]; ok {
		return exactEmbedded(v, inner, path)
	}
	if t == rawMessageType || reflect.PointerTo(t).Implements(unmarshalerType) {
		// A scalar with its own rules (Int, Amount, ...) or raw JSON no
		// typed code reads by member name.
		return v, nil
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return v, nil
		}
		fs := fieldsOf(t)
		out := make(map[string]any, len(obj))
		for key, val := range obj {
			ft, known := fs.types[key]
			if !known {
				if want, folds := fs.folded[foldKey(key)]; folds {
					return nil, &foldedNameError{path, key, want}
				}
				continue
			}
			c, err := exactCopy(val, ft, path+"."+key)
			if err != nil {
				return nil, err
			}
			out[key] = c
		}
		return out, nil
	case reflect.Slice, reflect.Array:
		arr, ok := v.([]any)
		if !ok {
			return v, nil
		}
		out := make([]any, len(arr))
		for i, el := range arr {
			c, err := exactCopy(el, t.Elem(), path+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return v, nil
		}
		out := make(map[string]any, len(obj))
		for key, val := range obj {
			c, err := exactCopy(val, t.Elem(), path+"."+key)
			if err != nil {
				return nil, err
			}
			out[key] = c
		}
		return out, nil
	}
	return v, nil
}

// exactEmbedded handles a value that may be a string holding JSON of type
// inner. A string holding the expected kind of JSON (an array for a slice,
// an object for a struct) is replaced by its checked copy, which the
// type's UnmarshalJSON accepts directly; a duplicate member inside the
// string is refused; anything else is left for UnmarshalJSON to judge.
func exactEmbedded(v any, inner reflect.Type, path string) (any, error) {
	s, isString := v.(string)
	if !isString {
		return exactCopy(v, inner, path)
	}
	if s == "" || s == "null" {
		return v, nil
	}
	parsed, err := parseJSONString(s)
	if err != nil {
		var dup *duplicateKeyError
		if errors.As(err, &dup) {
			return nil, fmt.Errorf("%s: string holding JSON with a %v", path, dup)
		}
		// Whatever the strict reader refuses (nesting too deep, bad
		// syntax) is refused here too: handing it to encoding/json would
		// let that decoder, which folds member names and keeps the last of
		// duplicates, read what the exact-name checks never saw.
		return nil, fmt.Errorf("%s: got string holding invalid JSON: %v", path, err)
	}
	switch parsed.(type) {
	case []any:
		if inner.Kind() != reflect.Slice {
			return v, nil
		}
	case map[string]any:
		if inner.Kind() != reflect.Struct {
			return v, nil
		}
	default:
		return v, nil
	}
	return exactCopy(parsed, inner, path)
}

// exactTopLevel refuses a package_data member that spells one of the four
// CallbackRequest keys inexactly: Decode reads them from the generic map by
// exact name, so "Request_Type" would be silently ignored, and a sender
// that means it should be told.
func exactTopLevel(top map[string]any) error {
	for key := range top {
		switch key {
		case "request_id", "request_type", "request_detail", "extra_info":
			continue
		}
		for _, want := range []string{"request_id", "request_type", "request_detail", "extra_info"} {
			if foldKey(key) == foldKey(want) {
				return &foldedNameError{"package_data", key, want}
			}
		}
	}
	return nil
}
