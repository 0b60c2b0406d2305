package gate

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"tssgate/internal/decision"
	"tssgate/internal/protocol"
	"tssgate/internal/store"
)

func freezeStore(t *testing.T, st store.Store, id, reason string) {
	t.Helper()
	f := store.Freeze{ID: id, Reason: reason, By: "alice"}
	if _, _, err := st.Freeze(context.Background(), store.FreezeRecord(f, time.Now()), f); err != nil {
		t.Fatalf("Freeze: %v", err)
	}
}

// TestCheckFrozen: while frozen, a new approval and a retry of an approval
// recorded before the freeze (both the Commit-finds-it path and the
// Decider-failed replay path) answer REJECT builtin:frozen naming the
// freeze; a PING approves; the records are left alone; a lift restores
// the retry.
func TestCheckFrozen(t *testing.T) {
	node, _ := testKeys(t)
	st := openSQLite(t)
	soon := time.Now().Add(2 * time.Minute)
	approving, _ := newGate(t, func(c *Config) { c.Store, c.Decider = st, &countingDecider{} })
	failing, _ := newGate(t, func(c *Config) {
		c.Store = st
		c.Decider = deciderFunc(func(context.Context, *protocol.Request) (dec decision.Decision, err error) {
			return dec, errors.New("policy unavailable")
		})
	})
	check := func(g *Gate, typ protocol.RequestType, id string) Outcome {
		t.Helper()
		return g.Check(context.Background(), protocol.V2, nodeToken(t, node, requestJSON(t, protocol.V2, typ, id), soon))
	}
	if o := check(approving, protocol.TypeKeySign, "before"); !o.Approves() {
		t.Fatalf("before the freeze: %+v", o)
	}
	const id, reason = "0123456789abcdef", "incident 7"
	freezeStore(t, st, id, reason)

	cases := []struct {
		name     string
		g        *Gate
		typ      protocol.RequestType
		reqID    string
		approves bool
		replayed bool
	}{
		{"new keysign", approving, protocol.TypeKeySign, "new-1", false, false},
		{"new keygen", approving, protocol.TypeKeyGen, "new-2", false, false},
		{"retry found by commit", approving, protocol.TypeKeySign, "before", false, true},
		{"retry replayed after a decider failure", failing, protocol.TypeKeySign, "before", false, true},
		{"ping", approving, protocol.TypePing, "ping-1", true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := check(tc.g, tc.typ, tc.reqID)
			if o.Approves() != tc.approves || o.Replayed != tc.replayed || o.Status != protocol.StatusOK {
				t.Fatalf("answered %s status %d replayed %v (%s: %s), want approves %v replayed %v",
					o.Action, o.Status, o.Replayed, o.Rule, o.Reason, tc.approves, tc.replayed)
			}
			if !tc.approves && (o.Rule != "builtin:frozen" || !strings.Contains(o.Reason, id) || !strings.Contains(o.Reason, reason)) {
				t.Errorf("rule %q reason %q, want builtin:frozen naming freeze %s and %q", o.Rule, o.Reason, id, reason)
			}
		})
	}
	rec, err := st.Get(context.Background(), "before")
	if err != nil || rec.Action != store.ActionApprove {
		t.Fatalf("the approval recorded before the freeze: %+v, %v; want it left an APPROVE", rec, err)
	}
	if _, _, err := st.Unfreeze(context.Background(), store.UnfreezeRecord(id, "bob", nil, time.Now()), id, nil); err != nil {
		t.Fatal(err)
	}
	if o := check(approving, protocol.TypeKeySign, "before"); !o.Approves() || !o.Replayed {
		t.Errorf("retry after the lift: %+v, want the recorded APPROVE", o)
	}
	if o := check(approving, protocol.TypeKeySign, "new-3"); !o.Approves() {
		t.Errorf("new request after the lift: %+v", o)
	}
}

// TestCheckFrozenUnknown: a retry of an approval whose freeze state cannot
// be read is a status 30, never a re-signed APPROVE.
func TestCheckFrozenUnknown(t *testing.T) {
	node, _ := testKeys(t)
	fs := &faultyStore{Store: openSQLite(t)}
	g, _ := newGate(t, func(c *Config) { c.Store, c.Decider = fs, &countingDecider{} })
	req := requestJSON(t, protocol.V2, protocol.TypeKeySign, "k-1")
	soon := time.Now().Add(2 * time.Minute)
	if o := g.Check(context.Background(), protocol.V2, nodeToken(t, node, req, soon)); !o.Approves() {
		t.Fatalf("first: %+v", o)
	}
	fs.freezeErr = errors.New("disk on fire")
	o := g.Check(context.Background(), protocol.V2, nodeToken(t, node, req, soon))
	if o.Approves() || o.Status != protocol.StatusInternalError {
		t.Errorf("retry with unreadable freezes: %+v, want status 30", o)
	}
}
