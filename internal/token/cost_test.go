package token

import (
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// manyKeys are 17 distinct RSA keys, generated once per test binary.
var manyKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	keys := make([]*rsa.PrivateKey, 17)
	for i := range keys {
		keys[i] = mustRSA(2048)
	}
	return keys
})

// nKeySet is a key set of the first n of manyKeys.
func nKeySet(tb testing.TB, n int) *KeySet {
	tb.Helper()
	named := make([]NamedKey, n)
	for i, k := range manyKeys()[:n] {
		named[i] = NamedKey{Name: fmt.Sprintf("node-%02d", i), Key: &k.PublicKey}
	}
	return keySet(tb, named...)
}

// countParses counts token parses through parsedHook for the rest of the
// test.
func countParses(t *testing.T) *int {
	t.Helper()
	n := new(int)
	parsedHook = func() { *n++ }
	t.Cleanup(func() { parsedHook = nil })
	return n
}

// countClaimReads counts the claims segments parseClaims starts to decode
// for the rest of the test, through claimsHook.
func countClaimReads(t *testing.T) *int {
	t.Helper()
	n := new(int)
	claimsHook = func() { *n++ }
	t.Cleanup(func() { claimsHook = nil })
	return n
}

// Finding 12: a token is parsed once per Verify, not once per configured
// key, whether it verifies under the first key, the last, or none.
func TestVerifyParsesOnce(t *testing.T) {
	keys := manyKeys()
	stranger := genRSA2048()
	claims := map[string]any{"package_data": base64.StdEncoding.EncodeToString(samplePayload), "exp": now.Add(time.Minute).Unix()}
	tests := []struct {
		name    string
		keys    int
		signer  *rsa.PrivateKey
		wantKey string
	}{
		{"one key, verifies", 1, keys[0], "node-00"},
		{"one key, unknown signer", 1, stranger, ""},
		{"17 keys, first verifies", 17, keys[0], "node-00"},
		{"17 keys, last verifies", 17, keys[16], "node-16"},
		{"17 keys, unknown signer", 17, stranger, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parses, claimReads := countParses(t), countClaimReads(t)
			v := &Verifier{Keys: nKeySet(t, tt.keys), Now: fixedClock(now)}
			got, err := v.Verify(forge(t, rs256Header(), claims, tt.signer))
			switch {
			case tt.wantKey == "":
				assertErr(t, err, ErrInvalid, "invalid token: "+reasonBadSig)
			case err != nil:
				t.Fatalf("Verify: %v", err)
			case got.KeyName != tt.wantKey:
				t.Fatalf("verified by %q, want %q", got.KeyName, tt.wantKey)
			}
			if *parses != 1 {
				t.Fatalf("token parsed %d times with %d keys, want once", *parses, tt.keys)
			}
			// The claims are read once, and only when a key verified.
			wantReads := 1
			if tt.wantKey == "" {
				wantReads = 0
			}
			if *claimReads != wantReads {
				t.Fatalf("claims read %d times, want %d", *claimReads, wantReads)
			}
		})
	}
}

// Finding 12: exp more than MaxLifetime (plus leeway) ahead of now is an
// invalid token; zero MaxLifetime means DefaultMaxLifetime.
func TestVerifyMaxLifetime(t *testing.T) {
	key := manyKeys()[0] // generated: this test reads nothing outside the module
	stranger := genRSA2048()
	tokenFor := func(k *rsa.PrivateKey, exp time.Time) string {
		return forge(t, rs256Header(), map[string]any{"package_data": base64.StdEncoding.EncodeToString(samplePayload), "exp": exp.Unix()}, k)
	}
	tests := []struct {
		name    string
		max     time.Duration
		signer  *rsa.PrivateKey
		exp     time.Time
		wantMsg string // "" means it verifies
	}{
		{"node default 2 minutes", 0, key, now.Add(2 * time.Minute), ""},
		{"exactly the default", 0, key, now.Add(DefaultMaxLifetime), ""},
		{"default plus leeway", 0, key, now.Add(DefaultMaxLifetime + leeway), ""},
		{"beyond the default", 0, key, now.Add(DefaultMaxLifetime + leeway + time.Second), "invalid token: exp too far in the future (more than 15m0s ahead)"},
		{"a year ahead", 0, key, now.AddDate(1, 0, 0), "invalid token: exp too far in the future"},
		{"configured 1h allows 59m", time.Hour, key, now.Add(59 * time.Minute), ""},
		{"configured 1m refuses 2m", time.Minute, key, now.Add(2 * time.Minute), "invalid token: exp too far in the future (more than 1m0s ahead)"},
		// Claims are judged only after the signature: an unknown signer
		// learns nothing about the lifetime rule.
		{"unknown signer far ahead", 0, stranger, now.AddDate(1, 0, 0), "invalid token: " + reasonBadSig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &Verifier{Keys: keySet(t, NamedKey{Name: "node", Key: &key.PublicKey}), Leeway: leeway, MaxLifetime: tt.max, Now: fixedClock(now)}
			_, err := v.Verify(tokenFor(tt.signer, tt.exp))
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantMsg) {
				t.Fatalf("err = %v, want %q", err, tt.wantMsg)
			}
		})
	}
}

// BenchmarkVerifyUntrustedKey measures what an unauthenticated sender can
// make tssgate spend: a ~925 KB token signed by no configured key, against
// 1 and 17 configured keys. The two should cost about the same (one parse,
// one hash; the per-key public-key operation is small beside them):
//
//	go test -run '^$' -bench VerifyUntrustedKey ./internal/token
func BenchmarkVerifyUntrustedKey(b *testing.B) {
	stranger := genRSA2048()
	big := base64.StdEncoding.EncodeToString([]byte(`{"request_id":"r","note":"` + strings.Repeat("x", 515<<10) + `"}`))
	tok := forge(b, rs256Header(), map[string]any{"package_data": big, "exp": time.Now().Add(time.Minute).Unix()}, stranger)
	if len(tok) > MaxTokenLen {
		b.Fatalf("token is %d bytes, over MaxTokenLen", len(tok))
	}
	for _, n := range []int{1, 17} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			v := &Verifier{Keys: nKeySet(b, n)}
			b.SetBytes(int64(len(tok)))
			for b.Loop() {
				if _, err := v.Verify(tok); err == nil || !strings.Contains(err.Error(), reasonBadSig) {
					b.Fatalf("untrusted token: %v", err)
				}
			}
		})
	}
}
