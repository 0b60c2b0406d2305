package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"tssgate/internal/decimal"
	"tssgate/internal/policy"
	"tssgate/internal/protocol"
	"tssgate/internal/store"
	"tssgate/internal/store/storetest"
	"tssgate/internal/txverify"
)

// Attack: an evaluated decision that cannot be recorded. Reasons and ids
// are cleaned before the store sees them, but two other values of an
// approval reach the store unbounded, both computed from Cobo's
// description:
//   - a limit key: `key: [tx.wallet_id]` (the README's own example keys on
//     wallet_id) puts a described string of any length into limit_ledger.key,
//     which PostgreSQL indexes with B-trees that refuse entries over about
//     2.7 KB ("index row size exceeds btree version 4 maximum 2704");
//   - a limit amount: a v1 description chooses `decimal` (0..255), so an
//     unverified token's tx.amount can carry 150 fraction digits, more than
//     the ledger's decimal.Parse accepts (MaxDigits 100), and store.Prepare
//     refuses the use.
//
// Either way the APPROVE becomes a status 30 with no row: the decision was
// evaluated and is not in the log, and on PostgreSQL the failed commit also
// marks /readyz not ready (an attacker who controls descriptions can flap
// every replica's readiness). Secure behaviour: every evaluated decision
// (status 0) is recorded; an unrecordable limit use is a recorded REJECT
// naming the limit.
func TestAttackUnboundedLimitUseIsUnrecordable(t *testing.T) {
	pol, err := policy.Parse("limits.yaml", []byte(`
version: 1
default: reject
verify: {tokens: {XRP: optional}}
rules:
  - name: btc-payouts
    when: request.type == "KEYSIGN" && tx.token_id == "XRP"
    action: approve
limits:
  - name: per-wallet
    when: request.type == "KEYSIGN"
    key: [tx.wallet_id, tx.token_id]
    window: 24h
    max_amount: "1000000"
`), "")
	if err != nil {
		t.Fatal(err)
	}
	reg := txverify.DefaultRegistry()
	verify := func(r *protocol.Request) *protocol.Verification { return reg.Verify(r).Verification() }

	// 4 KB of incompressible text (PostgreSQL compresses index entries).
	var long strings.Builder
	for i := 0; long.Len() < 4096; i++ {
		h := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		long.WriteString(hex.EncodeToString(h[:]))
	}
	type attack struct {
		name    string
		version protocol.Version
		edit    func(detail, extra map[string]any)
	}
	attacks := []attack{
		{"control: ordinary XRP payout", protocol.V2, func(d, x map[string]any) {
			d["bip32_path_list"] = []any{"m/44/144/0/0/0"}
			tx := x["transaction"].(map[string]any)
			tx["token_id"], tx["chain_id"] = "XRP", "XRP"
		}},
		{"v2 wallet_id of 4 KB in the limit key", protocol.V2, func(d, x map[string]any) {
			d["bip32_path_list"] = []any{"m/44/144/0/0/0"}
			tx := x["transaction"].(map[string]any)
			tx["token_id"], tx["chain_id"], tx["wallet_id"] = "XRP", "XRP", long.String()
		}},
		{"v1 decimal 150 makes a 151-digit limit amount", protocol.V1, func(d, x map[string]any) {
			d["bip32_path_list"] = []any{"m/44/144/0/0/0"}
			x["coin"], x["decimal"], x["amount"] = "XRP", 150, "1"
			x["to_address"] = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
			delete(x, "to_address_details")
		}},
	}
	for storeName, open := range decisionStores(t) {
		t.Run(storeName, func(t *testing.T) {
			st := open(t)
			ts := newTestServer(t, func(c *Config) {
				c.Store, c.Decider, c.VerifyTx = st, pol, verify
				c.MaxBodyBytes = 4 << 20
			})
			for i, a := range attacks {
				t.Run(a.name, func(t *testing.T) {
					id := "attack-unrecordable-" + string(rune('a'+i))
					req := editRequest(t, sampleRequest(t, a.version, protocol.TypeKeySign, id), a.edit)
					_, resp := post(t, ts.URL+"/"+string(a.version)+"/check", form, formBody(goodToken(t, req)))
					if resp.Status != protocol.StatusOK {
						t.Errorf("reply status %d (%q): an evaluated decision was not recorded", resp.Status, resp.Error)
						for _, line := range strings.Split(ts.logs.String(), "\n") {
							if strings.Contains(line, id) && strings.Contains(line, "recording the decision failed") {
								t.Logf("log: %.400s", line)
							}
						}
					}
					if _, err := st.Get(context.Background(), id); err != nil {
						t.Errorf("no row for request %s: %v", id, err)
					}
				})
			}
		})
	}
}

// Attack (same root): on PostgreSQL the oversized limit key is counted as a
// store failure, so one such description makes /readyz report that
// decisions cannot be recorded although the store is healthy. Secure
// behaviour: a record the store refuses for its content is not a store
// outage (Monitor already exempts ErrInvalid; this error is not one).
func TestAttackOversizedLimitKeyFlipsReadiness(t *testing.T) {
	open, ok := decisionStores(t)["postgres"]
	if !ok || !postgresConfigured() {
		t.Skip("needs TSSGATE_TEST_POSTGRES")
	}
	mon := store.NewMonitor(open(t), time.Hour, time.Second)
	if err := mon.Ready(); err != nil {
		t.Fatalf("premise: fresh store not ready: %v", err)
	}
	key := `["` + randomHex(4096) + `","XRP"]`
	rec := store.Record{RequestID: "attack-ready-1", Version: "v2", Type: "KEYSIGN", NodeKey: "node-a", ReceivedAt: time.Now(),
		Request: []byte(`{"a":1}`), TxKey: "tx:1", Action: store.ActionApprove, Status: 0, Rule: "r", PolicyVersion: "sha256:x"}
	_, _, err := mon.Commit(context.Background(), rec, []store.LimitUse{{Limit: "per-wallet", Key: key, Window: time.Hour, Amount: decimal.MustParse("1")}})
	if err == nil {
		return // recorded: nothing to flip
	}
	if rerr := mon.Ready(); rerr != nil {
		t.Fatalf("one description with a 4 KB wallet_id made the healthy store not ready: %v (commit error: %.200v)", rerr, err)
	}
}

func randomHex(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		h := sha256.Sum256([]byte{byte(i), byte(i >> 8), 7})
		b.WriteString(hex.EncodeToString(h[:]))
	}
	return b.String()
}

func postgresConfigured() bool { return os.Getenv(storetest.EnvPostgres) != "" }
