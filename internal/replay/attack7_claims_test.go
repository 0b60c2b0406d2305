package replay

import (
	"context"
	"testing"
	"time"

	"tssgate/internal/protocol"
)

// TestAttack7SinceForgetsOldOutpointClaims: a store remembers an outpoint
// claim until an operator clears it; replay with --since simulates only
// the claims of the requests recorded within max(longest window, 24h)
// before it. The segwit fee attack asked three days after the payout
// whose coin it re-claims is refused by serve (verify), but replayed from
// two days after the payout under the very policy that recorded it, the
// attack's claim is fresh, its transaction verifies, and the report shows
// it decided by another rule (btc-fee-cap instead of verify): a candidate
// without that cap would show it newly approved, a false alarm. From there
// the simulated claims are the attacker's: a later request claiming the
// true amount would be refused in the replay and approved by serve.
func TestAttack7SinceForgetsOldOutpointClaims(t *testing.T) {
	p, mk := btcPayoutsExample(t)
	t0 := time.Date(2026, 8, 3, 9, 0, 0, 0, time.UTC)
	st := openSQLite(t)
	out := record(t, st, p, []item{
		mk("payout", "v2-keysign-btc-payout", t0),
		mk("attack", "v2-keysign-btc-fee-attack", t0.Add(72*time.Hour)),
	})
	if out[0].Action != protocol.ActionApprove || out[1].Action != protocol.ActionReject || out[1].Rule != "verify" {
		t.Fatalf("setup: recorded %s %s, %s %s", out[0].Action, out[0].Rule, out[1].Action, out[1].Rule)
	}
	r, err := Run(context.Background(), Config{Store: st, Candidate: p, VerifyTx: verifier, Since: t0.Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Replayed != 1 || r.Unchanged != 1 || r.Changed() {
		t.Fatalf("the policy in force, since two days after the payout: %+v (transitions %+v); serve refuses the attack again (its coin's first claim stands)", *r, r.Transitions)
	}
}
