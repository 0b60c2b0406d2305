package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Paths are relative to the package directory, where `go test` runs.
const (
	// Cobo's published template keys (copies of shared/testdata/cobo-template-keys).
	coboKeyDir     = "testdata/cobo-template-keys"
	nodePrivFile   = coboKeyDir + "/tss-node-callback-pri.pem"
	nodePubFile    = coboKeyDir + "/tss-node-callback-pub.key"
	serverPrivFile = coboKeyDir + "/callback-server-pri.pem"
	serverPubFile  = coboKeyDir + "/callback-server-pub.key"
)

// Keys generated once per test binary: RSA generation is slow, especially
// under -race.
var (
	genRSA2048 = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	genRSA1024 = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(1024) })
	genECDSA   = sync.OnceValue(func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
	genEd25519 = sync.OnceValue(func() ed25519.PrivateKey {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
)

func mustRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return data
}

func loadPriv(t testing.TB, path string) *rsa.PrivateKey {
	t.Helper()
	k, err := LoadPrivateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func loadPub(t testing.TB, path string) *rsa.PublicKey {
	t.Helper()
	k, err := LoadPublicKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkcs8(t testing.TB, k any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("PRIVATE KEY", der)
}

func spki(t testing.TB, k any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("PUBLIC KEY", der)
}

func keySet(t testing.TB, keys ...NamedKey) *KeySet {
	t.Helper()
	s, err := NewKeySet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fixedClock(tm time.Time) func() time.Time { return func() time.Time { return tm } }

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// forge builds a compact JWT from an arbitrary header and claims and signs it
// with the named jwt method and key ("none" leaves the signature empty), so
// tests can produce tokens no well-behaved signer would.
func forge(t testing.TB, header, claims map[string]any, key any) string {
	t.Helper()
	signing := b64url(mustJSON(t, header)) + "." + b64url(mustJSON(t, claims))
	alg, _ := header["alg"].(string)
	if alg == "none" || key == nil {
		return signing + "."
	}
	m := jwt.GetSigningMethod(alg)
	if m == nil {
		t.Fatalf("no jwt signing method %q", alg)
	}
	sig, err := m.Sign(signing, key)
	if err != nil {
		t.Fatalf("signing with %s: %v", alg, err)
	}
	return signing + "." + b64url(sig)
}

func rs256Header() map[string]any { return map[string]any{"alg": "RS256", "typ": "JWT"} }

// replaceSegment swaps one of the three dot-separated parts of tok.
func replaceSegment(t testing.TB, tok string, i int, seg string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	parts[i] = seg
	return strings.Join(parts, ".")
}

// writeFile writes a fixture into a per-test directory and returns its path.
func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func decodeStdBase64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
