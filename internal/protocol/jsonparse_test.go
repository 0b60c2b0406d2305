package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// referenceParseJSON is the strict reader parseJSON replaced, built on
// json.Decoder.Token: the oracle the hand-written reader must agree with
// (same values, same accept/refuse), kept here so the tests compare the
// two on every input.
func referenceParseJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := referenceWalk(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

func referenceWalk(dec *json.Decoder, depth int) (any, error) {
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
			key := kt.(string)
			if f := foldKey(key); folded[f] {
				return nil, &duplicateKeyError{key: key}
			}
			folded[foldKey(key)] = true
			v, err := referenceWalk(dec, depth+1)
			if err != nil {
				return nil, err
			}
			obj[key] = v
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		return obj, nil
	case '[':
		arr := []any{}
		for dec.More() {
			v, err := referenceWalk(dec, depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		return arr, nil
	}
	return nil, fmt.Errorf("unexpected %v", delim)
}

// sameParse fails t unless parseJSON and the reference agree on data.
func sameParse(t *testing.T, data []byte) {
	t.Helper()
	got, gotErr := parseJSON(data)
	want, wantErr := referenceParseJSON(data)
	switch {
	case (gotErr == nil) != (wantErr == nil):
		t.Fatalf("parseJSON(%q): error %v, reference error %v", data, gotErr, wantErr)
	case gotErr != nil:
		var gd, wd *duplicateKeyError
		if errors.As(gotErr, &gd) != errors.As(wantErr, &wd) && !strings.Contains(wantErr.Error(), "invalid") {
			t.Errorf("parseJSON(%q): error %v, reference error %v", data, gotErr, wantErr)
		}
	case !reflect.DeepEqual(got, want):
		t.Fatalf("parseJSON(%q) = %#v, reference %#v", data, got, want)
	}
}

var parseCases = []struct{ name, in string }{
	{"empty", ``},
	{"space only", " \t\r\n"},
	{"object", `{"a":1,"b":[true,false,null],"c":{"d":"e"}}`},
	{"spaced", " { \"a\" : [ 1 , 2 ] , \"b\" : { } } \n"},
	{"empty containers", `{"a":[],"b":{}}`},
	{"top-level scalars", `"x"`},
	{"top-level number", `-0.5e+10`},
	{"numbers", `[0,-0,1,10,1.5,1e5,1E-5,-1.25e+3,123456789012345678901234567890]`},
	{"leading zero", `[01]`},
	{"leading plus", `[+1]`},
	{"bare minus", `[-]`},
	{"dot without digits", `[1.]`},
	{"leading dot", `[.5]`},
	{"exponent without digits", `[1e]`},
	{"exponent sign only", `[1e+]`},
	{"hex", `[0x10]`},
	{"literals", `[true,false,null]`},
	{"short literal", `[tru]`},
	{"long literal", `[truex]`},
	{"capital literal", `[True]`},
	{"literal at end", `nul`},
	{"escapes", `"a\"b\\c\/d\be\ff\ng\rh\ti"`},
	{"unicode escape", `"\u00e9\u4e2d\u0000"`},
	{"surrogate pair", `"\ud83d\ude00"`},
	{"upper-case hex escape", `"\uD83D\uDE00"`},
	{"lone high surrogate", `"\ud83dx"`},
	{"lone low surrogate", `"\ude00"`},
	{"high then non-surrogate", `"\ud83d\u0041"`},
	{"two high surrogates", `"\ud83d\ud83d\ude00"`},
	{"bad escape", `"\x"`},
	{"short unicode escape", `"\u12"`},
	{"bad hex escape", `"\u12g4"`},
	{"control character", "\"a\x01b\""},
	{"tab in string", "\"a\tb\""},
	{"DEL in string", "\"a\x7fb\""},
	{"invalid UTF-8", "\"a\xffb\xc0\xafc\""},
	{"truncated UTF-8", "\"a\xe4\xb8\""},
	{"valid UTF-8", "\"中文 é \xef\xbf\xbd\""},
	{"UTF-8 in key", "{\"\xff\":1}"},
	{"unterminated string", `"abc`},
	{"unterminated escape", `"abc\`},
	{"unterminated object", `{"a":1`},
	{"unterminated array", `[1,2`},
	{"trailing comma object", `{"a":1,}`},
	{"trailing comma array", `[1,]`},
	{"missing colon", `{"a" 1}`},
	{"number key", `{1:2}`},
	{"missing comma", `[1 2]`},
	{"trailing data", `{} {}`},
	{"trailing garbage", `{}x`},
	{"duplicate", `{"a":1,"a":2}`},
	{"duplicate folded", `{"a":1,"A":2}`},
	{"duplicate long s", "{\"s\":1,\"\u017f\":2}"},
	{"duplicate kelvin", "{\"k\":1,\"\u212a\":2}"},
	{"duplicate nested", `{"x":{"b":1,"B":2}}`},
	{"duplicate after escape", `{"a":1,"\u0041":2}`},
	{"not duplicate", `{"a":1,"b":2,"ab":3}`},
	{"bare value after object", `{"a":1}1`},
	{"bom", "\xef\xbb\xbf{}"},
	{"nul byte", "{\x00}"},
	{"deep ok", strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)},
	{"too deep", strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)},
	{"deep objects", strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1)},
	// Strings with escapes share the parser's text buffer: many of them,
	// long ones, and invalid bytes that widen to U+FFFD past the room
	// the rest of the input promised.
	{"many escaped strings", `["a\n","\"b\"",{"c\t":"d\/","e":["\u00e9"]},"f\\"]`},
	{"embedded JSON text", `{"request_detail":"{\"a\":\"x\\ny\",\"b\":[1,2]}","extra_info":"{\"c\":{\"d\":\"\\u00e9\"}}"}`},
	{"long escaped string", `"` + strings.Repeat(`ab\"cd\\`, 500) + `"`},
	{"widening invalid UTF-8", "[\"\\n" + strings.Repeat("\xff", 64) + "\",\"x\\t\",\"\xc0\\r\xfe\"]"},
	{"widening then error", "[\"\\n\xff\xff\xff\",\"\\q\"]"},
	{"escaped string unterminated", `["a\n",["b\t`},
	// ASCII keys of different lengths are never compared by EqualFold;
	// every other pair is.
	{"ascii keys of other lengths", `{"a":1,"ab":2,"abc":3,"AB":4}`},
	{"escaped key against ascii", `{"ab":1,"\u0041B":2}`},
	{"non-ascii key of other length", "{\"ks\":1,\"\u212a\u017f\":2}"},
	{"same length not folded", `{"ab":1,"ac":2,"ba":3}`},
}

// The hand-written reader accepts and refuses exactly what the reference
// does and yields the same values, including every string decoding rule
// encoding/json has (escapes, surrogates, invalid UTF-8).
func TestParseJSONMatchesReference(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) { sameParse(t, []byte(tc.in)) })
	}
}

// Objects past foldScanKeys members switch from pairwise comparison to a
// map of folded keys; a duplicate is found on either side of the switch.
func TestParseJSONDuplicatesInLargeObjects(t *testing.T) {
	for _, n := range []int{foldScanKeys - 1, foldScanKeys, foldScanKeys + 1, 3 * foldScanKeys} {
		for _, dupAt := range []int{1, foldScanKeys - 1, foldScanKeys, foldScanKeys + 1, n} {
			if dupAt > n {
				continue
			}
			var b strings.Builder
			b.WriteString("{")
			for i := range n {
				fmt.Fprintf(&b, `"k%d":%d,`, i, i)
			}
			fmt.Fprintf(&b, `"K%d":0}`, dupAt-1)
			t.Run(fmt.Sprintf("%d members, duplicate of %d", n, dupAt), func(t *testing.T) {
				_, err := parseJSON([]byte(b.String()))
				var dup *duplicateKeyError
				if !errors.As(err, &dup) {
					t.Fatalf("error %v, want a duplicate key", err)
				}
				sameParse(t, []byte(b.String()))
			})
		}
	}
}

// The samples and fixtures parse to the same trees both ways.
func TestParseJSONSamplesMatchReference(t *testing.T) {
	for _, v := range []Version{V1, V2} {
		for _, typ := range []RequestType{TypeKeyGen, TypeKeySign, TypeKeyReshare, TypeKeyShareSign} {
			detail, extra, err := Sample(v, typ)
			if err != nil {
				t.Fatal(err)
			}
			t.Run(string(v)+"-"+typ.String(), func(t *testing.T) {
				sameParse(t, detail)
				sameParse(t, extra)
				sameParse(t, samplePackage(t, v, typ, "r"))
			})
		}
	}
	for _, name := range []string{"seed-v1-package-data.json", "v1-keysign-lenient.json", "v2-keysign-lenient.json", "keysign-vectors.json"} {
		t.Run(name, func(t *testing.T) { sameParse(t, readTestdata(t, name)) })
	}
}

// sameReused fails t unless one parser reading texts one after another
// gives what the reference gives for each, and leaves every earlier
// result as it was: the strings of all of them share the parser's text
// buffer, so a later text must never write over an earlier one's.
func sameReused(t *testing.T, texts ...[]byte) {
	t.Helper()
	p := newJSONParser(0) // the stacks grow from their smallest
	var got []any
	for _, text := range texts {
		v, err := p.parse(string(text))
		want, wantErr := referenceParseJSON(text)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("parse(%q) after %d texts: error %v, reference error %v", text, len(got), err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(v, want) {
			t.Fatalf("parse(%q) after %d texts = %#v, reference %#v", text, len(got), v, want)
		}
		got = append(got, v)
	}
	for i, text := range texts {
		want, err := referenceParseJSON(text)
		if err == nil && !reflect.DeepEqual(got[i], want) {
			t.Fatalf("text %d (%q) changed after later texts: %#v, reference %#v", i, text, got[i], want)
		}
	}
}

// Decode reads package_data and the texts it embeds with one parser.
func TestParserReuse(t *testing.T) {
	embedded := `{"request_detail":"{\"k\":\"a\\nb\"}","extra_info":"{\"x\":[\"\\t\",\"\\u00e9\"]}"}`
	cases := []struct {
		name  string
		texts []string
	}{
		{"package then embedded", []string{embedded, `{"k":"a\nb"}`, `{"x":["\t","\u00e9"]}`}},
		{"escapes in every text", []string{`["a\n","b\t"]`, `{"c\r":"d\""}`, `"\u4e2d\ud83d\ude00"`}},
		{"after a failed text", []string{`["a\n"`, `["b\t"]`, `{"a":1,"A":2}`, `{"c":"\/"}`}},
		{"widening then more", []string{"[\"\\n" + strings.Repeat("\xff", 100) + "\"]", `["\u00e9\u00e9"]`, `"x\ny"`}},
		{"plain then escaped", []string{`{"a":"b"}`, `{"c":"d\n"}`}},
		{"long after short", []string{`"a\n"`, `"` + strings.Repeat(`xy\"`, 2000) + `"`, `"z\t"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var texts [][]byte
			for _, s := range tc.texts {
				texts = append(texts, []byte(s))
			}
			sameReused(t, texts...)
		})
	}
}

// FuzzParseJSONReused reads two texts and then the first again with one
// parser; see sameReused.
func FuzzParseJSONReused(f *testing.F) {
	for i, tc := range parseCases {
		f.Add([]byte(tc.in), []byte(parseCases[(i+7)%len(parseCases)].in))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) { sameReused(t, a, b, a) })
}

func FuzzParseJSON(f *testing.F) {
	for _, tc := range parseCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) { sameParse(t, data) })
}

func TestRawStringLen(t *testing.T) {
	tests := []struct {
		name string
		s    string // what follows the opening quote
		want int
	}{
		{"plain", `abc"rest`, 4},
		{"empty", `"`, 1},
		{"escaped quote", `a\"b"`, 5},
		{"escaped backslash then the quote", `a\\"b"`, 4},
		{"three backslashes escape the quote", `a\\\"b"`, 7},
		{"backslash at the start", `\"x"`, 4},
		{"unterminated", `abc`, 3},
		{"unterminated after an escaped quote", `abc\"`, 5},
		{"non-ASCII", "\xff\xfe\"", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const prefix = `{"k":"`
			if got := rawStringLen(prefix+tc.s, len(prefix)); got != tc.want {
				t.Fatalf("rawStringLen(%q) = %d, want %d", tc.s, got, tc.want)
			}
		})
	}
}
