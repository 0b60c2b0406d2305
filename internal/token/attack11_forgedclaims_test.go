package token

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"
)

// craftedClaims is a claims set as costly to read as an unauthenticated
// sender can make one within MaxTokenLen: tens of thousands of distinct
// members whose short names are each written with a \u escape, so every
// name goes through the slow unescaping path, the duplicate-name set and
// the case-folding comparison with the registered claims. The names are
// "_" and a base-36 counter, so none folds to a registered claim and the
// set is valid: only the signature can refuse it. package_data and exp
// are real, so signed by the node it verifies at now.
func craftedClaims(tb testing.TB) string {
	tb.Helper()
	return craftedClaimsFor(tb, MaxTokenLen)
}

// craftedClaimsFor is craftedClaims for a token of at most tokenLen bytes.
func craftedClaimsFor(tb testing.TB, tokenLen int) string {
	tb.Helper()
	var b strings.Builder
	b.WriteString(`{"package_data":"` + base64.StdEncoding.EncodeToString(samplePayload) + `","exp":` + strconv.FormatInt(now.Add(time.Minute).Unix(), 10))
	// Leave room for the header and a 2048-bit signature: the token must
	// reach Verify's parser, not stop at the size check.
	budget := (tokenLen - 512) / 4 * 3
	for i := 0; ; i++ {
		m := `,"\u005f` + strconv.FormatInt(int64(i), 36) + `":0`
		if b.Len()+len(m)+1 > budget {
			break
		}
		b.WriteString(m)
	}
	b.WriteByte('}')
	return b.String()
}

// TestAttack11ForgedClaimsNotParsed: before verify-first, Verify decoded
// and parsed the whole claims set before it tried a key, so a forged token
// of about 1 MiB of escaped member names cost some 60 ms of claims parsing
// ahead of a signature check that then failed: an unauthenticated sender
// chose how much work tssgate did. Now no key verifying means the claims
// segment is never even base64-decoded (claimsHook never runs), whatever
// it holds; the same claims signed by the node are read once. Counting
// entries into the claims reader, not timing, keeps the test exact;
// BenchmarkVerifyForgedLargeClaims measures the cost.
func TestAttack11ForgedClaimsNotParsed(t *testing.T) {
	v, node := diffVerifier(t)
	v.Now = fixedClock(now)
	stranger := loadPriv(t, serverPrivFile)
	crafted := craftedClaims(t)
	hdrSeg := b64url([]byte(diffHeader))
	tests := []struct {
		name      string
		token     string
		wantMsg   string // "" means it verifies
		wantKey   string // FailedKey of the error
		wantReads int    // entries into the claims reader
	}{
		{"crafted claims, stranger-signed", diffToken(t, diffHeader, crafted, stranger, false), "invalid token: " + reasonBadSig, "", 0},
		{"crafted claims, unsigned", diffToken(t, diffHeader, crafted, nil, false), "invalid token: " + reasonBadSig, "", 0},
		{"claims not base64, stranger-signed", diffToken(t, hdrSeg, "!!!", stranger, true), "invalid token: " + reasonBadSig, "", 0},
		{"claims not JSON, stranger-signed", diffToken(t, diffHeader, `{"exp":`, stranger, false), "invalid token: " + reasonBadSig, "", 0},
		{"claims non-canonical, stranger-signed", diffToken(t, hdrSeg, nonCanonicalSeg(b64url([]byte(diffClaims(`,"x":12`)))), stranger, true), "invalid token: " + reasonBadSig, "", 0},

		{"crafted claims, node-signed", diffToken(t, diffHeader, crafted, node, false), "", "", 1},
		{"claims not base64, node-signed", diffToken(t, hdrSeg, "!!!", node, true), "invalid token: " + reasonMalformed, "node", 1},
		{"claims not JSON, node-signed", diffToken(t, diffHeader, `{"exp":`, node, false), "invalid token: " + reasonMalformed, "node", 1},
		// The signature covers the segment as sent, so a non-canonical
		// spelling of valid claims is still refused once verified.
		{"claims non-canonical, node-signed", diffToken(t, hdrSeg, nonCanonicalSeg(b64url([]byte(diffClaims(`,"x":12`)))), node, true), "invalid token: " + reasonMalformed, "node", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.token) > MaxTokenLen {
				t.Fatalf("token is %d bytes, over MaxTokenLen", len(tt.token))
			}
			parses, reads := countParses(t), countClaimReads(t)
			got, err := v.Verify(tt.token)
			switch {
			case tt.wantMsg == "" && err != nil:
				t.Fatalf("Verify: %v", err)
			case tt.wantMsg == "" && got.KeyName != "node":
				t.Fatalf("verified by %q", got.KeyName)
			case tt.wantMsg != "":
				assertErr(t, err, ErrInvalid, tt.wantMsg)
				if FailedKey(err) != tt.wantKey {
					t.Fatalf("FailedKey = %q, want %q", FailedKey(err), tt.wantKey)
				}
			}
			if *parses != 1 || *reads != tt.wantReads {
				t.Fatalf("%d parses and %d claims reads, want 1 and %d", *parses, *reads, tt.wantReads)
			}
		})
	}
}

// BenchmarkVerifyForgedLargeClaims is what craftedClaims under a forged
// signature makes Verify spend; with verify-first it should cost about
// what the base64 of the signature, the SHA-256 of 1 MiB and one RSA
// verification cost, whatever the claims hold. Compare it with
// BenchmarkRSAFloor in the same run:
//
//	go test -run '^$' -bench 'VerifyForgedLargeClaims|RSAFloor' -benchtime 20x -count 3 ./internal/token
func BenchmarkVerifyForgedLargeClaims(b *testing.B) {
	v, _ := diffVerifier(b)
	tok := diffToken(b, diffHeader, craftedClaims(b), loadPriv(b, serverPrivFile), false)
	if len(tok) > MaxTokenLen {
		b.Fatalf("token is %d bytes, over MaxTokenLen", len(tok))
	}
	b.SetBytes(int64(len(tok)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(tok); err == nil || err.Error() != "invalid token: "+reasonBadSig {
			b.Fatalf("forged token: %v", err)
		}
	}
}

// BenchmarkRefuseForgedCraftedClaims is what a refused crafted token costs
// the gate: Verify and then the request_id echo (EchoedRequestID), for a
// token just under MaxForgedEchoLen, whose id is still read without
// verification, and one of about MaxTokenLen, whose id is not. Compare
// with BenchmarkRSAFloor in the same run:
//
//	go test -run '^$' -bench 'RefuseForgedCraftedClaims|RSAFloor' -benchtime 20x -count 3 ./internal/token
func BenchmarkRefuseForgedCraftedClaims(b *testing.B) {
	v, _ := diffVerifier(b)
	for _, size := range []struct {
		name string
		len  int
	}{{"under-echo-bound", MaxForgedEchoLen}, {"max-token", MaxTokenLen}} {
		b.Run(size.name, func(b *testing.B) {
			tok := diffToken(b, diffHeader, craftedClaimsFor(b, size.len), loadPriv(b, serverPrivFile), false)
			if len(tok) > size.len {
				b.Fatalf("token is %d bytes, over %d", len(tok), size.len)
			}
			b.SetBytes(int64(len(tok)))
			b.ReportAllocs()
			for b.Loop() {
				_, err := v.Verify(tok)
				if err == nil || err.Error() != "invalid token: "+reasonBadSig {
					b.Fatalf("forged token: %v", err)
				}
				EchoedRequestID(tok, err)
			}
		})
	}
}
