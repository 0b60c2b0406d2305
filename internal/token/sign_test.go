package token

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"strings"
	"testing"
	"time"
)

// The response JWT derived in PROTOCOL.md 8.2: callback-server-pri.pem, iss
// "callback-server", exp 1750000000.
const derivedPayload = `{"action":"APPROVE","request_id":"test-request-id","status":0}`

func TestDerivedResponseJWT(t *testing.T) {
	want := strings.TrimSpace(string(readFile(t, "testdata/response-v2-derived.jwt")))
	exp := time.Unix(1750000000, 0)

	t.Run("Signer reproduces it byte for byte", func(t *testing.T) {
		s := &Signer{Key: loadPriv(t, serverPrivFile), Issuer: "callback-server", Now: fixedClock(exp.Add(-DefaultTTL))}
		got, err := s.Sign([]byte(derivedPayload))
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("Sign =\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("verifies with the callback server key", func(t *testing.T) {
		v := &Verifier{Keys: keySet(t, NamedKey{"callback-server", loadPub(t, serverPubFile)}), Now: fixedClock(exp.Add(-time.Second))}
		got, err := v.Verify(want)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.PackageData) != derivedPayload || got.Issuer != "callback-server" || !got.ExpiresAt.Equal(exp) {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("expired at exp", func(t *testing.T) {
		v := &Verifier{Keys: keySet(t, NamedKey{"callback-server", loadPub(t, serverPubFile)}), Now: fixedClock(exp)}
		_, err := v.Verify(want)
		assertErr(t, err, ErrInvalid, "invalid token: expired")
	})
}

func TestSignLayout(t *testing.T) {
	key := loadPriv(t, nodePrivFile)
	base := time.Unix(1_700_000_000, 900_000_000) // sub-second part must be dropped
	tests := []struct {
		name       string
		signer     Signer
		payload    string
		wantClaims string
	}{
		{
			name:       "default TTL is two minutes",
			signer:     Signer{Key: key, Issuer: "callback-server", Now: fixedClock(base)},
			payload:    `{"status":0}`,
			wantClaims: `{"package_data":"eyJzdGF0dXMiOjB9","iss":"callback-server","exp":1700000120}`,
		},
		{
			name:       "custom TTL",
			signer:     Signer{Key: key, Issuer: "n", TTL: 10 * time.Second, Now: fixedClock(base)},
			payload:    "???>>>",
			wantClaims: `{"package_data":"Pz8/Pj4+","iss":"n","exp":1700000010}`,
		},
		{
			name:       "empty issuer is omitted",
			signer:     Signer{Key: key, TTL: time.Hour, Now: fixedClock(base)},
			payload:    "x",
			wantClaims: `{"package_data":"eA==","exp":1700003600}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := tc.signer.Sign([]byte(tc.payload))
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(tok, ".")
			if got := string(mustDecodeURL(t, parts[0])); got != `{"alg":"RS256","typ":"JWT"}` {
				t.Errorf("header = %s", got)
			}
			if got := string(mustDecodeURL(t, parts[1])); got != tc.wantClaims {
				t.Errorf("claims = %s, want %s", got, tc.wantClaims)
			}
			digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
			if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], mustDecodeURL(t, parts[2])); err != nil {
				t.Errorf("signature: %v", err)
			}
		})
	}
}

func TestSignRejects(t *testing.T) {
	key := loadPriv(t, nodePrivFile)
	tests := []struct {
		name    string
		signer  *Signer
		payload []byte
		wantErr string
	}{
		{name: "nil signer", signer: nil, payload: []byte("x"), wantErr: "signing token: no private key"},
		{name: "nil key", signer: &Signer{}, payload: []byte("x"), wantErr: "signing token: no private key"},
		{name: "short key", signer: &Signer{Key: genRSA1024()}, payload: []byte("x"), wantErr: "signing token: RSA key is 1024 bits, need at least 2048"},
		{name: "empty payload", signer: &Signer{Key: key}, payload: nil, wantErr: "signing token: empty payload"},
		{name: "negative TTL", signer: &Signer{Key: key, TTL: -time.Second}, payload: []byte("x"), wantErr: "signing token: negative TTL -1s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := tc.signer.Sign(tc.payload)
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if tok != "" {
				t.Fatalf("token %q returned with an error", tok)
			}
		})
	}
}

func TestSignUsesRealClockByDefault(t *testing.T) {
	key := loadPriv(t, nodePrivFile)
	before := time.Now()
	tok, err := (&Signer{Key: key}).Sign([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := (&Verifier{Keys: keySet(t, NamedKey{"n", &key.PublicKey})}).Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := before.Add(DefaultTTL-time.Second), time.Now().Add(DefaultTTL)
	if got.ExpiresAt.Before(lo) || got.ExpiresAt.After(hi) {
		t.Fatalf("ExpiresAt %v not within [%v, %v]", got.ExpiresAt, lo, hi)
	}
}

// benchPayload is about the size of a real KEYSIGN CallbackRequest envelope
// minus its transaction (~300 bytes).
var benchPayload = []byte(`{"request_id":"8f14e45f-ceea-467f-a9e0-5b7c3d2a9e61","request_type":2,"request_detail":"{\"tss_node_id\":\"coboAbcdef\",\"request_id\":\"8f14e45f\",\"sign_type\":1,\"msg_hash_list\":[\"0x1acf0342f77d22389a9cf6524a2af14dc420928d2942efe0dc0764be2ea5321b\"]}","extra_info":"{}"}`)

func BenchmarkSign(b *testing.B) {
	s := &Signer{Key: loadPriv(b, serverPrivFile), Issuer: "callback-server"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(benchPayload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	key := loadPriv(b, nodePrivFile)
	tok, err := (&Signer{Key: key, TTL: 2 * time.Minute}).Sign(benchPayload)
	if err != nil {
		b.Fatal(err)
	}
	v := &Verifier{Keys: keySet(b, NamedKey{"node", &key.PublicKey})}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRSAFloor is the cost no JWT code can avoid: one RS256 signature
// and one verification over a SHA-256 of the payload. BenchmarkSign and
// BenchmarkVerify together are reported as a ratio of it.
func BenchmarkRSAFloor(b *testing.B) {
	key := loadPriv(b, serverPrivFile)
	b.ReportAllocs()
	for b.Loop() {
		digest := sha256.Sum256(benchPayload)
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
		if err != nil {
			b.Fatal(err)
		}
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}
