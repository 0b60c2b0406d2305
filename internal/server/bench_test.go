package server

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"tssgate/internal/policy"
	"tssgate/internal/protocol"
	"tssgate/internal/token"
	"tssgate/internal/txverify"
)

// benchServer returns a Server with the Cobo test keys and a discarding
// logger, and a ready form body for req.
func benchServer(b *testing.B, req any, d policy.Decider, verify protocol.TxVerifier) (*Server, string) {
	b.Helper()
	loadKeys(b)
	keys, err := token.NewKeySet(token.NamedKey{Name: "node-a", Key: nodePub})
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{
		Verifier: &token.Verifier{Keys: keys},
		Signer:   &token.Signer{Key: serverPriv},
		Decider:  d,
		VerifyTx: verify,
		Logger:   slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	return s, formBody(goodToken(b, req))
}

// BenchmarkCheckPath measures the whole decision path in process: body and
// form parsing, token verification, decoding, the decision, reply signing
// and the log line. Compare it with BenchmarkRSAFloor, the same key's
// sign+verify alone, to get the path's cost as a ratio of the RSA floor.
func BenchmarkCheckPath(b *testing.B) {
	detail, extra, err := protocol.Sample(protocol.V2, protocol.TypeKeySign)
	if err != nil {
		b.Fatal(err)
	}
	payouts, err := policy.Load("../../examples/payouts.yaml")
	if err != nil {
		b.Fatal(err)
	}
	keysign := protocol.NewCallbackRequest("k-1", protocol.TypeKeySign, detail, extra)
	reg := txverify.DefaultRegistry()
	verify := func(r *protocol.Request) *protocol.Verification { return reg.Verify(r).Verification() }
	cases := []struct {
		name    string
		req     any
		decider policy.Decider
		verify  protocol.TxVerifier
	}{
		{"ping", map[string]any{"request_id": "p-1", "request_type": 0}, nil, nil},
		{"v2-keysign", keysign, nil, nil},
		{"v2-keysign-payouts-policy", keysign, payouts, nil},
		{"v2-keysign-payouts-policy-verified", keysign, payouts, verify},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			s, body := benchServer(b, tc.req, tc.decider, tc.verify)
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/v2/check", strings.NewReader(body))
				r.Header.Set("Content-Type", form)
				w := httptest.NewRecorder()
				s.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("HTTP %d", w.Code)
				}
			}
		})
	}
}

// BenchmarkRSAFloor is one RS256 verify (the request) plus one RS256 sign
// (the reply) with the same 2048-bit keys: the least any correct callback
// server must spend per request.
func BenchmarkRSAFloor(b *testing.B) {
	loadKeys(b)
	msg := []byte(strings.Repeat("x", 600))
	sum := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(rand.Reader, nodePriv, crypto.SHA256, sum[:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		h := sha256.Sum256(msg)
		if err := rsa.VerifyPKCS1v15(nodePub, crypto.SHA256, h[:], sig); err != nil {
			b.Fatal(err)
		}
		if _, err := rsa.SignPKCS1v15(nil, serverPriv, crypto.SHA256, h[:]); err != nil {
			b.Fatal(err)
		}
	}
}
