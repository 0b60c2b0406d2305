package jsonvalid

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var cases = []struct{ name, in string }{
	{"empty", ""},
	{"space only", " \t\r\n"},
	{"null", "null"},
	{"true with space", " true \n"},
	{"false", "false"},
	{"truncated literal", "tru"},
	{"literal with tail", "nullx"},
	{"zero", "0"},
	{"negative zero", "-0"},
	{"leading zero", "01"},
	{"minus alone", "-"},
	{"fraction", "1.5"},
	{"fraction without digits", "1."},
	{"dot first", ".5"},
	{"exponent", "1e10"},
	{"exponent signs", "1E+2 "},
	{"exponent negative", "-2.5e-3"},
	{"exponent without digits", "1e"},
	{"exponent sign only", "1e+"},
	{"plus sign", "+1"},
	{"string", `"abc"`},
	{"string escapes", `"\" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00"`},
	{"bad escape", `"\x"`},
	{"short unicode escape", `"\u12"`},
	{"non-hex unicode escape", `"\u12g4"`},
	{"raw control character", "\"a\x01b\""},
	{"raw tab", "\"a\tb\""},
	{"raw DEL", "\"a\x7fb\""},
	{"invalid UTF-8 is not checked", "\"\xff\xfe\""},
	{"unterminated string", `"abc`},
	{"backslash at end", `"abc\`},
	{"object", `{"a":1,"b":[true,null,{"c":"d"}]}`},
	{"object with spaces", " { \"a\" : 1 , \"b\" : 2 } "},
	{"empty object and array", `{"a":{},"b":[]}`},
	{"trailing comma object", `{"a":1,}`},
	{"trailing comma array", `[1,]`},
	{"missing colon", `{"a" 1}`},
	{"non-string key", `{1:2}`},
	{"missing value", `{"a":}`},
	{"unclosed object", `{"a":1`},
	{"unclosed array", `[1,2`},
	{"two values", `1 2`},
	{"two objects", `{}{}`},
	{"duplicate keys are valid", `{"a":1,"a":2}`},
	{"comma only", `[,]`},
	{"NaN", `NaN`},
	{"single quotes", `'a'`},
	{"BOM", "\xef\xbb\xbf{}"},
	{"NUL after value", "{}\x00"},
}

func TestValidAgreesWithEncodingJSON(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := Valid([]byte(tc.in)), json.Valid([]byte(tc.in)); got != want {
				t.Fatalf("Valid(%q) = %v, encoding/json says %v", tc.in, got, want)
			}
		})
	}
}

func TestValidNestingLimit(t *testing.T) {
	for _, depth := range []int{maxDepth - 1, maxDepth, maxDepth + 1} {
		for _, open := range []string{"[", `{"a":`} {
			closer := map[string]string{"[": "]", `{"a":`: "}"}[open]
			in := []byte(strings.Repeat(open, depth) + "1" + strings.Repeat(closer, depth))
			if got, want := Valid(in), json.Valid(in); got != want {
				t.Fatalf("depth %d of %q: Valid = %v, encoding/json says %v", depth, open, got, want)
			}
		}
	}
}

func TestValidSamples(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in testdata (%v)", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !Valid(data) || !json.Valid(data) {
			t.Fatalf("%s: Valid = %v, encoding/json says %v", f, Valid(data), json.Valid(data))
		}
		// Every truncation of a valid sample: each must agree.
		for n := range len(data) {
			if Valid(data[:n]) != json.Valid(data[:n]) {
				t.Fatalf("%s cut at %d: Valid = %v, encoding/json says %v", f, n, Valid(data[:n]), json.Valid(data[:n]))
			}
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, tc := range cases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := Valid(data), json.Valid(data); got != want {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", data, got, want)
		}
	})
}

func BenchmarkValid(b *testing.B) {
	data, err := os.ReadFile("testdata/canonical_v2_keysign.json")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("jsonvalid", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if !Valid(data) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if !json.Valid(data) {
				b.Fatal("invalid")
			}
		}
	})
}
