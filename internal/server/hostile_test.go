package server

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"tssgate/internal/gate"
	"tssgate/internal/policy"
	"tssgate/internal/protocol"
	"tssgate/internal/store"
	"tssgate/internal/store/postgres"
	"tssgate/internal/store/storetest"
	"tssgate/internal/text"
	"tssgate/internal/txverify"
)

// hostileTexts are values that broke the record when a reason echoed them:
// a value the verifier cuts at 90 bytes inside a character, NUL, terminal
// control sequences, and a value near the largest a token can carry (the
// token is capped at 1 MiB, and the value is base64-encoded twice in it).
func hostileTexts() map[string]string {
	return map[string]string{
		"cut mid-rune":  strings.Repeat("a", 89) + strings.Repeat("€", 4),
		"NUL":           "ETH\x00DROP",
		"controls":      "\x1b[31mred\r\nforged log line\x7f\u0085",
		"bidi override": "0x\u202eabc",
		"300 KB":        strings.Repeat("€", 300<<10/3) + "\x00",
	}
}

// decisionStores opens every store the class test runs against: a SQLite
// file, and PostgreSQL when TSSGATE_TEST_POSTGRES is set.
func decisionStores(t *testing.T) map[string]func(*testing.T) store.Store {
	t.Helper()
	return map[string]func(*testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store { return openSQLite(t) },
		"postgres": func(t *testing.T) store.Store {
			t.Helper()
			st, err := postgres.Open(context.Background(), storetest.PostgresSchema(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
}

// editRequest returns req with its parsed request_detail and extra_info
// changed by edit. The JSON is built with encoding/json from maps, not by
// the code under test.
func editRequest(t *testing.T, req protocol.CallbackRequest, edit func(detail, extra map[string]any)) protocol.CallbackRequest {
	t.Helper()
	var d, x map[string]any
	if err := json.Unmarshal([]byte(req.RequestDetail), &d); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(req.ExtraInfo), &x); err != nil {
		t.Fatal(err)
	}
	edit(d, x)
	db, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	xb, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	req.RequestDetail, req.ExtraInfo = string(db), string(xb)
	return req
}

// assertCleanText fails unless s is text every store accepts and a reader
// sees as it is: valid UTF-8 without control characters.
func assertCleanText(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s is not valid UTF-8: %q", what, s)
	}
	if text.Clean(s, 0) != s {
		t.Errorf("%s holds control characters: %q", what, s)
	}
}

// The class test for finding 8: every reason the server produces for an
// evaluated request, whatever text the request smuggled into it, is
// accepted by the store. Each evaluated decision has its row and its reply
// is status 0, never 30.
func TestEveryEvaluatedReasonIsRecorded(t *testing.T) {
	pol, err := policy.Load("testdata/require-verified.yaml")
	if err != nil {
		t.Fatal(err)
	}
	reg := txverify.DefaultRegistry()
	verify := func(r *protocol.Request) *protocol.Verification { return reg.Verify(r).Verification() }

	type field struct {
		name    string
		version protocol.Version
		set     func(detail, extra map[string]any, v string)
	}
	tx := func(x map[string]any) map[string]any { return x["transaction"].(map[string]any) }
	fields := []field{
		{"token_id", protocol.V2, func(_, x map[string]any, v string) { tx(x)["token_id"] = v }},
		{"chain_id", protocol.V2, func(_, x map[string]any, v string) { tx(x)["chain_id"] = v }},
		{"destination address", protocol.V2, func(_, x map[string]any, v string) {
			tx(x)["destination"].(map[string]any)["account_output"].(map[string]any)["address"] = v
		}},
		{"destination_type", protocol.V2, func(_, x map[string]any, v string) {
			tx(x)["destination"].(map[string]any)["destination_type"] = v
		}},
		{"v1 coin", protocol.V1, func(_, x map[string]any, v string) { x["coin"] = v }},
		{"v1 to_address", protocol.V1, func(_, x map[string]any, v string) { x["to_address"] = v }},
	}
	for storeName, open := range decisionStores(t) {
		t.Run(storeName, func(t *testing.T) {
			st := open(t)
			ts := newTestServer(t, func(c *Config) {
				c.Store, c.Decider, c.VerifyTx = st, pol, verify
				c.MaxBodyBytes = 4 << 20
			})
			n := 0
			for _, f := range fields {
				for hostileName, v := range hostileTexts() {
					n++
					id := "hostile-" + strings.ReplaceAll(f.name, " ", "-") + "-" + strings.ReplaceAll(hostileName, " ", "-")
					t.Run(f.name+"/"+hostileName, func(t *testing.T) {
						req := editRequest(t, sampleRequest(t, f.version, protocol.TypeKeySign, id),
							func(d, x map[string]any) { f.set(d, x, v) })
						_, resp := post(t, ts.URL+"/"+string(f.version)+"/check", form, formBody(goodToken(t, req)))
						if resp.Status != protocol.StatusOK || resp.Action != protocol.ActionReject || resp.RequestID != id {
							t.Fatalf("reply %+v, want status 0 REJECT for %s", resp, id)
						}
						assertCleanText(t, "reply error", resp.Error)
						rec, err := st.Get(context.Background(), id)
						if err != nil {
							t.Fatalf("no row for an evaluated decision: %v", err)
						}
						if rec.Reason != resp.Error || rec.Status != 0 || rec.Action != "REJECT" {
							t.Fatalf("recorded %q status %d %s; replied %q", rec.Reason, rec.Status, rec.Action, resp.Error)
						}
					})
				}
			}
			// Every row is in one intact chain.
			rep, err := st.Verify(context.Background())
			if err != nil || rep.Break != nil || rep.Rows != int64(n) {
				t.Fatalf("chain after %d decisions: %+v, %v", n, rep, err)
			}
		})
	}
}

// hostileDecider answers with the given text as its reason, rule name,
// policy version and shadow outcome: a stand-in for any source (a CEL
// error quoting a value, a future verifier) the server does not control.
type hostileDecider struct{ text string }

func (h hostileDecider) Decide(context.Context, *protocol.Request) (policy.Decision, error) {
	return policy.Decision{
		Action: protocol.ActionReject, Rule: "rule-" + h.text, Reason: h.text, PolicyVersion: "v-" + h.text,
		Shadow: []policy.ShadowOutcome{{Rule: "shadow-" + h.text, Action: protocol.ActionReject, Error: h.text}},
	}, nil
}

// No source of a reason can break the record: the boundary cleans what
// the decider returns, too.
func TestDeciderTextIsRecorded(t *testing.T) {
	hostile := hostileTexts()
	hostile["invalid UTF-8"] = "bad \xff\xfe bytes \xe2\x82"
	for storeName, open := range decisionStores(t) {
		t.Run(storeName, func(t *testing.T) {
			for name, v := range hostile {
				t.Run(name, func(t *testing.T) {
					st := open(t)
					ts := newTestServer(t, func(c *Config) { c.Store, c.Decider = st, hostileDecider{v} })
					id := "decider-" + strings.ReplaceAll(name, " ", "-")
					_, resp := post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, sampleRequest(t, protocol.V2, protocol.TypeKeyGen, id))))
					if resp.Status != protocol.StatusOK || resp.Action != protocol.ActionReject {
						t.Fatalf("reply %+v, want status 0 REJECT", resp)
					}
					assertCleanText(t, "reply error", resp.Error)
					if len(resp.Error) > gate.MaxReasonBytes {
						t.Errorf("reply error is %d bytes, over %d", len(resp.Error), gate.MaxReasonBytes)
					}
					rec, err := st.Get(context.Background(), id)
					if err != nil {
						t.Fatalf("no row: %v", err)
					}
					for what, s := range map[string]string{"reason": rec.Reason, "rule": rec.Rule, "policy_version": rec.PolicyVersion, "shadow": string(rec.Shadow)} {
						assertCleanText(t, what, s)
					}
					if rec.Reason != resp.Error {
						t.Errorf("recorded reason %q, replied %q", rec.Reason, resp.Error)
					}
				})
			}
		})
	}
}

// A request_id the store could not hold is an invalid request (status
// 10), refused at decoding, with the echoed id cleaned; nothing is
// recorded under it.
func TestUnstorableRequestIDIsInvalid(t *testing.T) {
	st := openSQLite(t)
	ts := newTestServer(t, func(c *Config) { c.Store, c.Decider = st, hostileDecider{"never reached"} })
	tests := []struct {
		name, id, reason string
	}{
		{"NUL", "id\x00x", "control"},
		{"escape sequence", "id\x1b[2J", "control"},
		{"newline", "id\nforged", "control"},
		{"bidi override", "id\u202e", "control"},
		{"too long", strings.Repeat("i", protocol.MaxRequestIDBytes+1), "more than 256"},
		{"300 KB", strings.Repeat("€", 300<<10/3), "more than 256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, resp := post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, sampleRequest(t, protocol.V2, protocol.TypeKeyGen, tt.id))))
			if resp.Status != protocol.StatusInvalidRequest || resp.Approves() || !strings.Contains(resp.Error, tt.reason) {
				t.Fatalf("reply %+v, want status 10 naming %q", resp, tt.reason)
			}
			if want := text.Clean(tt.id, protocol.MaxRequestIDBytes); resp.RequestID != want {
				t.Errorf("echoed id %q, want the cleaned %q", resp.RequestID, want)
			}
			if _, err := st.Get(context.Background(), tt.id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a row exists for the refused id: %v", err)
			}
		})
	}
}
