package gate

import (
	"context"
	"errors"
	"testing"
	"time"

	"tssgate/internal/decision"
	"tssgate/internal/protocol"
	"tssgate/internal/store"
)

// Attack2: replay age is checked on one side only. A recorded APPROVE whose
// received_at lies in the future of the answering clock (replicas sharing a
// PostgreSQL store with skewed clocks, or a wall-clock step back after NTP
// resync) has a negative age, and a negative age is never "older than
// ReplayMaxAge": the approval is re-signed for as long as the skew lasts
// plus ReplayMaxAge, not for ReplayMaxAge.
//
// Two gates share one store: replica A's clock runs 1h ahead. A approves
// k-skew. 20 wall minutes later (past the 15 min replay bound) the node's
// retry reaches replica B, whose clock is right: B must not re-sign.
func TestAttack2ReplayOfFutureDatedApproval(t *testing.T) {
	node, _ := testKeys(t)
	st := openSQLite(t)
	wall := newFakeClock()
	ahead := func() time.Time { return wall.Now().Add(time.Hour) }
	dec := &countingDecider{}
	a, _ := newGate(t, func(c *Config) { c.Store, c.Decider, c.Now = st, dec, ahead })
	b, _ := newGate(t, func(c *Config) { c.Store, c.Decider, c.Now = st, dec, wall.Now })
	tok := nodeToken(t, node, requestJSON(t, protocol.V2, protocol.TypeKeySign, "k-skew"), time.Now().Add(2*time.Minute))

	if o := a.Check(context.Background(), protocol.V2, tok); !o.Approves() {
		t.Fatalf("replica A: %+v", o)
	}
	wall.Advance(20 * time.Minute) // more than DefaultReplayMaxAge of wall time
	o := b.Check(context.Background(), protocol.V2, tok)
	if o.Approves() {
		t.Fatalf("replica B re-signed an approval recorded %s in its future after %s of wall time (ReplayMaxAge %s): %+v",
			time.Hour-20*time.Minute, 20*time.Minute, DefaultReplayMaxAge, o)
	}
}

// Held: an approval that the store turns into a REJECT by a limit is
// answered as that REJECT, and a Commit that reports the row as existing
// answers the stored decision, not the fresh evaluation.
func TestAttack2CommitAnswerIsTheStoredRow(t *testing.T) {
	node, _ := testKeys(t)
	clock := newFakeClock()
	st := openSQLite(t)
	// A decider that approves, with a limit that one earlier approval
	// already exhausted.
	dec := &countingDecider{limits: []decision.LimitUse{{Limit: "one", Key: `["k"]`, Window: time.Hour, MaxCount: 1}}}
	g, _ := newGate(t, func(c *Config) { c.Store, c.Decider, c.Now = st, dec, clock.Now })
	tok := func(id string) string {
		return nodeToken(t, node, requestJSON(t, protocol.V2, protocol.TypeKeyGen, id), time.Now().Add(time.Minute))
	}
	if o := g.Check(context.Background(), protocol.V2, tok("a")); !o.Approves() {
		t.Fatalf("first: %+v", o)
	}
	o := g.Check(context.Background(), protocol.V2, tok("b"))
	if o.Approves() || o.Rule != "one" {
		t.Fatalf("over the limit: %+v", o)
	}
	rec, err := st.Get(context.Background(), "b")
	if err != nil || rec.Action != store.ActionReject {
		t.Fatalf("record of b: %+v %v", rec, err)
	}
}

// Held: a Commit whose outcome is unknown, or that fails after committing,
// is never answered APPROVE.
func TestAttack2CommitFailureNeverApproves(t *testing.T) {
	node, _ := testKeys(t)
	for _, cerr := range []error{store.ErrOutcomeUnknown, errors.New("disk"), context.DeadlineExceeded} {
		fs := &faultyStore{Store: openSQLite(t), commitErr: cerr, commitThenErr: true}
		g, _ := newGate(t, func(c *Config) { c.Store, c.Decider = fs, &countingDecider{} })
		o := g.Check(context.Background(), protocol.V2, nodeToken(t, node, requestJSON(t, protocol.V2, protocol.TypeKeyGen, "c-1"), time.Now().Add(time.Minute)))
		if o.Approves() || o.Status != protocol.StatusInternalError {
			t.Fatalf("commit error %v: %+v", cerr, o)
		}
	}
}
