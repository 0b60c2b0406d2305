package token

import (
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestUnverifiedRequestID(t *testing.T) {
	enc := func(claims string) string {
		return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".c2ln"
	}
	pd := func(req string) string {
		return enc(`{"package_data":"` + base64.StdEncoding.EncodeToString([]byte(req)) + `"}`)
	}
	tests := []struct {
		name, tok, want string
	}{
		{"well formed", pd(`{"request_id":"r-1"}`), "r-1"},
		{"request_id at the length bound", pd(`{"request_id":"` + strings.Repeat("x", MaxEchoedIDLen) + `"}`), strings.Repeat("x", MaxEchoedIDLen)},
		{"not three parts", "a.b", ""},
		{"four parts", pd(`{"request_id":"r-1"}`) + ".x", ""},
		{"claims not base64", "a.!!!.c", ""},
		{"claims not JSON", enc("hello"), ""},
		{"package_data not base64", enc(`{"package_data":"*"}`), ""},
		{"request not JSON", pd("hello"), ""},
		{"request_id a number", pd(`{"request_id":7}`), ""},
		{"request_id too long", pd(`{"request_id":"` + strings.Repeat("x", MaxEchoedIDLen+1) + `"}`), ""},
		// encoding/json replaces invalid UTF-8 with U+FFFD: what is echoed
		// is always valid text.
		{"request_id not UTF-8", pd("{\"request_id\":\"\xff\"}"), "\uFFFD"},
		{"token longer than MaxTokenLen", pd(`{"request_id":"r-1","pad":"` + strings.Repeat("p", MaxTokenLen) + `"}`), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := UnverifiedRequestID(tc.tok); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// A refused token's request_id is echoed when a key verified it (its
// claims or times were refused), or when it is small; a large token no key
// verified gets no id, so that reading one costs a forger nothing.
func TestEchoedRequestID(t *testing.T) {
	node, stranger := genRSA2048(), mustRSA(2048)
	v := &Verifier{Keys: keySet(t, NamedKey{Name: "node-1", Key: &node.PublicKey}), Now: fixedClock(now)}
	token := func(key *rsa.PrivateKey, exp time.Time, padTo int) string {
		t.Helper()
		req := `{"request_id":"r-echo","pad":"` + strings.Repeat("p", padTo) + `"}`
		claims := map[string]any{"package_data": base64.StdEncoding.EncodeToString([]byte(req)), "exp": exp.Unix()}
		return forge(t, rs256Header(), claims, key)
	}
	// padTo chosen so the token lands within about 2 KB under or over the
	// bound (package_data is base64 inside base64url: 16/9 of the request);
	// the test checks which side each lands on.
	under, over := MaxForgedEchoLen*9/16-1000, MaxForgedEchoLen*9/16+200
	tests := []struct {
		name   string
		tok    string
		wantID string
	}{
		{"forged, small", token(stranger, now.Add(time.Minute), 10), "r-echo"},
		{"forged, under the bound", token(stranger, now.Add(time.Minute), under), "r-echo"},
		{"forged, over the bound", token(stranger, now.Add(time.Minute), over), ""},
		{"node-signed and expired, over the bound", token(node, now.Add(-time.Hour), over), "r-echo"},
		{"node-signed and expired, small", token(node, now.Add(-time.Hour), 10), "r-echo"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(tc.tok)
			if err == nil {
				t.Fatal("Verify accepted the token")
			}
			if strings.Contains(tc.name, "bound") {
				if n := len(tc.tok); (n > MaxForgedEchoLen) != strings.Contains(tc.name, "over") || n < MaxForgedEchoLen-2048 || n > MaxForgedEchoLen+2048 {
					t.Fatalf("token of %d bytes is on the wrong side of %d or far from it", n, MaxForgedEchoLen)
				}
			}
			if got := EchoedRequestID(tc.tok, err); got != tc.wantID {
				t.Fatalf("EchoedRequestID = %q, want %q (Verify: %v)", got, tc.wantID, err)
			}
		})
	}
}
