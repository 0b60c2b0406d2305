package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxDepth bounds the nesting of any JSON this package parses. Real payloads
// nest about eight levels deep; the bound keeps a hostile input from costing
// deep recursion.
const maxDepth = 64

// parseJSON parses data into generic values: map[string]any, []any, string,
// bool, nil and json.Number (so numbers keep their exact text).
//
// It is stricter than json.Unmarshal in two ways that matter for a security
// decision. Duplicate object keys are rejected, including keys that differ
// only in case: encoding/json matches struct fields case-insensitively and
// keeps the last duplicate, so {"amount":"1","AMOUNT":"9"} could otherwise
// mean one thing to a rule reading the generic map and another to code
// reading the typed struct. And nesting is limited to maxDepth.
func parseJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := walk(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

func walk(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	if depth >= maxDepth {
		return nil, fmt.Errorf("JSON nested deeper than %d levels", maxDepth)
	}
	switch delim {
	case '{':
		obj := map[string]any{}
		folded := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key := kt.(string) // the decoder only yields string keys inside an object
			if f := foldKey(key); folded[f] {
				return nil, &duplicateKeyError{key: key}
			} else {
				folded[f] = true
			}
			v, err := walk(dec, depth+1)
			if err != nil {
				return nil, err
			}
			obj[key] = v
		}
		if _, err := dec.Token(); err != nil { // '}'
			return nil, err
		}
		return obj, nil
	case '[':
		arr := []any{}
		for dec.More() {
			v, err := walk(dec, depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := dec.Token(); err != nil { // ']'
			return nil, err
		}
		return arr, nil
	}
	return nil, fmt.Errorf("unexpected %v", delim)
}

// duplicateKeyError reports a member name seen twice in one object (after
// folding), naming the second one.
type duplicateKeyError struct{ key string }

func (e *duplicateKeyError) Error() string {
	return fmt.Sprintf("duplicate key %s", strconv.QuoteToASCII(truncate(e.key, 40)))
}

// foldKey maps keys that encoding/json would treat as the same struct field
// (Unicode simple case folding, as in strings.EqualFold) to one string.
func foldKey(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii { // the smallest rune of an ASCII letter's fold orbit is its upper case
		return strings.ToUpper(s)
	}
	var b strings.Builder
	for _, r := range s {
		lowest := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			lowest = min(lowest, f)
		}
		b.WriteRune(lowest)
	}
	return b.String()
}

// truncate shortens s to at most n bytes, cut on a rune boundary and
// marked, so that hostile values stay short in reasons and logs.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
