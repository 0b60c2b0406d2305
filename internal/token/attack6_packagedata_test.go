package token

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// slowPackageData is the reference: the JSON decoder for the string, then
// CR/LF refused and strict standard base64, as the slow path alone would.
func slowPackageData(raw []byte) ([]byte, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || s == "" || strings.ContainsAny(s, "\r\n") {
		return nil, false
	}
	out, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, false
	}
	return out, true
}

// The fast path (no JSON decoder when the string has no escape) must yield
// exactly what the decoder would, and an escaped spelling of the same string
// must yield the same package_data: claims that differ only in how they spell
// package_data decode alike, and the fast path accepts nothing the slow one
// refuses.
func TestAttack6PackageDataFastPathAgrees(t *testing.T) {
	alphabet := []byte(`AQZaz09+/=-_ "\u\n\r`)
	r := rand.New(rand.NewPCG(6, 3))
	var raws []string
	for _, s := range []string{"QUJD", "QUI=", "QQ==", "QUJ=", "QR==", "Q===", "====", "QUJDRA", "QUJD\u0000", "QUJD/+==",
		`QUJD\n`, `\u0051UJD`, `QUJ\u0044`, `QUI\u003d`, `\/\/\/\/`, `QU\r\nJD`, `QUJD\u2028`} {
		raws = append(raws, `"`+s+`"`)
	}
	for range 50000 {
		b := []byte{'"'}
		for range r.IntN(10) {
			b = append(b, alphabet[r.IntN(len(alphabet))])
		}
		raws = append(raws, string(append(b, '"')))
	}
	for _, raw := range raws {
		if !json.Valid([]byte(raw)) {
			continue // claims are JSON: the parser never hands decodePackageData anything else
		}
		got, err := decodePackageData(json.RawMessage(raw))
		want, ok := slowPackageData([]byte(raw))
		if (err == nil) != ok || !bytes.Equal(got, want) {
			t.Errorf("decodePackageData(%s) = %x, %v; the JSON decoder's reading is %x, ok %v", raw, got, err, want, ok)
		}
		// Re-spell every character as \u00XX: same string, same package_data.
		var s string
		if json.Unmarshal([]byte(raw), &s) != nil {
			continue
		}
		var esc strings.Builder
		esc.WriteByte('"')
		for _, c := range s {
			if c < 0x80 {
				esc.WriteString(`\u00`)
				esc.WriteString(strings.ToUpper(string("0123456789abcdef"[c>>4])) + string("0123456789abcdef"[c&15]))
			} else {
				b, _ := json.Marshal(string(c))
				esc.Write(b[1 : len(b)-1])
			}
		}
		esc.WriteByte('"')
		got2, err2 := decodePackageData(json.RawMessage(esc.String()))
		if (err == nil) != (err2 == nil) || !bytes.Equal(got, got2) {
			t.Errorf("%s and %s spell one string but decode to %x (%v) and %x (%v)", raw, esc.String(), got, err, got2, err2)
		}
	}
}
