package server

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"tssgate/internal/decimal"
	"tssgate/internal/policy"
	"tssgate/internal/protocol"
	"tssgate/internal/store"
	"tssgate/internal/store/backend"
	"tssgate/internal/store/storetest"
	"tssgate/internal/token"
)

// BenchmarkCheckPathStore is the whole decision path for a v2 KEYSIGN that
// approves under a velocity limit, without a store (the limit then cannot
// be enforced, so that case approves without limits) and with each store:
// every iteration is a new request_id and a new transaction, so each one
// reads the log, checks the limit ledger and commits a row.
func BenchmarkCheckPathStore(b *testing.B) {
	loadKeys(b)
	cases := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"none", func(*testing.B) store.Store { return nil }},
		{"sqlite", func(b *testing.B) store.Store {
			st, err := backend.Open(b.Context(), "sqlite:"+b.TempDir()+"/tssgate.db")
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
		{"postgres", func(b *testing.B) store.Store {
			if os.Getenv(storetest.EnvPostgres) == "" {
				b.Skip("set " + storetest.EnvPostgres)
			}
			st, err := backend.Open(b.Context(), storetest.PostgresSchema(b))
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
	}
	max := decimal.MustParse("1000000")
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			st := tc.open(b)
			dec := &countingDecider{}
			if st != nil {
				b.Cleanup(func() { st.Close() })
				dec.limits = []policy.LimitUse{{Limit: "daily", Key: `["ETH"]`, Window: 24 * 3600e9, Amount: decimal.MustParse("0.0001"), MaxAmount: &max}}
			}
			keys, _ := token.NewKeySet(token.NamedKey{Name: "node-a", Key: nodePub})
			s, err := New(Config{
				Verifier: &token.Verifier{Keys: keys},
				Signer:   &token.Signer{Key: serverPriv},
				Decider:  dec,
				Store:    st,
				Logger:   slog.New(slog.NewJSONHandler(io.Discard, nil)),
			})
			if err != nil {
				b.Fatal(err)
			}
			// Sign every request before timing: the figure is the server's.
			bodies := make([]string, b.N)
			for i := range bodies {
				req := sampleRequest(b, protocol.V2, protocol.TypeKeySign, fmt.Sprintf("bench-%d", i))
				req.ExtraInfo = strings.Replace(req.ExtraInfo, `"transaction_id":"`, fmt.Sprintf(`"transaction_id":"%d-`, i), 1)
				bodies[i] = formBody(goodToken(b, req))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r := httptest.NewRequest(http.MethodPost, "/v2/check", strings.NewReader(bodies[i]))
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
