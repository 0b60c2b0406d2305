package token

import (
	"strings"
	"testing"
	"time"
)

// Sign must give byte for byte the token golang-jwt's SigningString plus
// an RS256 signature gave, whatever the payload and issuer.
func TestSignMatchesReference(t *testing.T) {
	key := loadPriv(t, serverPrivFile)
	base := time.Unix(1_700_000_000, 999_999_999)
	payloads := []struct {
		name string
		data []byte
	}{
		{"one byte", []byte("x")},
		{"two bytes", []byte("xy")},
		{"three bytes", []byte("xyz")},
		{"sample", samplePayload},
		{"binary", []byte{0, 0xff, 0xfe, '"', '\\', '<'}},
		{"bench", benchPayload},
		{"large", largePayload},
		{"767 bytes", []byte(strings.Repeat("a", 767))},
		{"768 bytes", []byte(strings.Repeat("a", 768))},
		{"769 bytes", []byte(strings.Repeat("a", 769))},
	}
	issuers := []struct{ name, iss string }{
		{"empty", ""},
		{"ASCII", "callback-server"},
		{"HTML", "<a>&b"},
		{"less than alone", "a<b"},
		{"greater than alone", "a>b"},
		{"ampersand alone", "a&b"},
		{"quote and backslash", `a"b\c`},
		{"control", "a\tb\x00\x1f"},
		{"DEL", "a\x7fb"},
		{"line separators", "a\u2028b\u2029c"},
		{"non-ASCII", "nœud 節点"},
		{"invalid UTF-8", "a\xffb\xc3("},
		{"long", strings.Repeat("issuer-", 300)},
	}
	for _, p := range payloads {
		for _, is := range issuers {
			t.Run(p.name+"/"+is.name, func(t *testing.T) {
				s := &Signer{Key: key, Issuer: is.iss, TTL: 90 * time.Second, Now: fixedClock(base)}
				checkSignAgainstReference(t, s, p.data)
			})
		}
	}
	t.Run("clock before 1970", func(t *testing.T) {
		checkSignAgainstReference(t, &Signer{Key: key, Issuer: "n", Now: fixedClock(time.Unix(-1_000, 500))}, []byte("x"))
	})
	t.Run("default TTL", func(t *testing.T) {
		checkSignAgainstReference(t, &Signer{Key: key, Now: fixedClock(base)}, []byte("x"))
	})
}

func checkSignAgainstReference(t *testing.T, s *Signer, payload []byte) {
	t.Helper()
	got, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	want, err := referenceSign(s, payload)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("Sign =\n%s\nreference\n%s", got, want)
	}
}

// The constant reply header is the base64url of the header golang-jwt
// wrote.
func TestReplyHeaderConstant(t *testing.T) {
	if got := b64url([]byte(`{"alg":"RS256","typ":"JWT"}`)); got != replyHeader {
		t.Fatalf("replyHeader = %s, want %s", replyHeader, got)
	}
}

// FuzzSignMatchesReference compares Sign with the golang-jwt reference over
// arbitrary payloads, issuers and clocks.
func FuzzSignMatchesReference(f *testing.F) {
	key := loadPriv(f, serverPrivFile)
	f.Add([]byte("x"), "", int64(1_700_000_000), int64(0))
	f.Add(samplePayload, "callback-server", int64(1_700_000_000), int64(999_999_999))
	f.Add([]byte{0xff}, "<>&\u2028\xff", int64(-5), int64(1))
	f.Add(largePayload, `"\`, int64(1<<40), int64(7))
	f.Fuzz(func(t *testing.T, payload []byte, iss string, sec, nsec int64) {
		if len(payload) == 0 {
			return // refused before any encoding
		}
		// Keep the clock where exp stays representable (a year-2^40 clock
		// is no real case and golang-jwt's time arithmetic wraps).
		sec %= 1 << 40
		s := &Signer{Key: key, Issuer: iss, Now: fixedClock(time.Unix(sec, nsec))}
		checkSignAgainstReference(t, s, payload)
	})
}
