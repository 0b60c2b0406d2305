package gate

import (
	"bytes"
	"encoding/json"
	"testing"

	"tssgate/internal/protocol"
)

// referenceCanonical is how canonicalRequest encoded before
// appendCanonical: json.Marshal of the same object. Recorded request
// hashes depend on these bytes, so the two must never differ.
func referenceCanonical(req *protocol.Request) ([]byte, error) {
	return json.Marshal(map[string]any{
		"version":        string(req.Version),
		"request_id":     req.ID,
		"request_type":   req.Type.String(),
		"node_key":       req.NodeKey,
		"request_detail": req.Detail,
		"extra_info":     req.Extra,
	})
}

// sameCanonical fails t unless appendCanonical and json.Marshal agree on
// v: the same bytes, or both an error.
func sameCanonical(t *testing.T, v any) {
	t.Helper()
	got, gotErr := appendCanonical(nil, v)
	want, wantErr := json.Marshal(v)
	if (gotErr == nil) != (wantErr == nil) || !bytes.Equal(got, want) {
		t.Fatalf("appendCanonical(%#v) = %q, %v; json.Marshal gives %q, %v", v, got, gotErr, want, wantErr)
	}
}

func TestCanonicalRequestMatchesMarshal(t *testing.T) {
	for _, v := range []protocol.Version{protocol.V1, protocol.V2} {
		for _, typ := range []protocol.RequestType{protocol.TypePing, protocol.TypeKeyGen, protocol.TypeKeySign, protocol.TypeKeyReshare, protocol.TypeKeyShareSign} {
			t.Run(string(v)+"-"+typ.String(), func(t *testing.T) {
				req, err := protocol.Decode(v, requestJSON(t, v, typ, "r-1"))
				if err != nil {
					t.Fatal(err)
				}
				req.NodeKey = "node-<a>&\u2028"
				got, err := canonicalRequest(req)
				if err != nil {
					t.Fatal(err)
				}
				want, err := referenceCanonical(req)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("canonical request differs from json.Marshal:\n%s\n%s", got, want)
				}
			})
		}
	}
}

func TestAppendCanonicalEdgeCases(t *testing.T) {
	var nilMap map[string]any
	var nilSlice []any
	cases := []struct {
		name string
		v    any
	}{
		{"nil", nil},
		{"bools", []any{true, false}},
		{"plain string", "abc XYZ 0-9 ~!@#$%^*()_+{}|:?"},
		{"html characters", "<script>&amp;</script>"},
		{"quote and backslash", `a"b\c`},
		{"control characters", "a\x00b\x01\b\f\n\r\t\x1f\x7f"},
		{"line separators", "a\u2028b\u2029c"},
		{"non-ASCII", "中文 é"},
		{"invalid UTF-8", "a\xffb\xc0"},
		{"replacement character", "\ufffd"},
		{"numbers", []any{json.Number("0"), json.Number("-1.5e+10"), json.Number("123456789012345678901234567890")}},
		{"empty number", json.Number("")},
		{"invalid number", json.Number("01")},
		{"not a number", json.Number("abc")},
		{"nil map", nilMap},
		{"nil slice", nilSlice},
		{"empty containers", map[string]any{"a": map[string]any{}, "b": []any{}}},
		{"sorted keys", map[string]any{"b": 1.5, "a": 2, "B": "x", "é": nil, "<": "&", "": true}},
		{"other types", map[string]any{"i": 3, "f": 0.1, "s": []string{"x"}, "m": map[string]int{"z": 1, "a": 2}}},
		{"nested", map[string]any{"x": []any{map[string]any{"k": []any{nil, "v\n"}}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { sameCanonical(t, tc.v) })
	}
}

func FuzzAppendCanonical(f *testing.F) {
	f.Add([]byte(`{"a":[1,"x",null,true,{"b":"<>&\u2028"}],"A":-0.5e3}`))
	f.Add([]byte("\"\xff\\u0000\""))
	f.Add(requestJSON(f, protocol.V2, protocol.TypeKeySign, "r"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		sameCanonical(t, v)
	})
}

// BenchmarkCanonicalRequest compares appendCanonical with the json.Marshal
// it replaced, on a full v2 KEYSIGN.
func BenchmarkCanonicalRequest(b *testing.B) {
	req, err := protocol.Decode(protocol.V2, requestJSON(b, protocol.V2, protocol.TypeKeySign, "r-1"))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		fn   func(*protocol.Request) ([]byte, error)
	}{{"appendCanonical", canonicalRequest}, {"json.Marshal", referenceCanonical}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.fn(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The canonical request of a full v2 KEYSIGN is written without
// reflection: json.Marshal took about 288 allocations.
func TestCanonicalRequestAllocationBudget(t *testing.T) {
	req, err := protocol.Decode(protocol.V2, requestJSON(t, protocol.V2, protocol.TypeKeySign, "r-1"))
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := canonicalRequest(req); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 16 {
		t.Errorf("canonicalRequest allocates %.0f times, budget 16", allocs)
	}
}
