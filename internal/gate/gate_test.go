package gate

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"tssgate/internal/decision"
	"tssgate/internal/protocol"
	"tssgate/internal/store"
	"tssgate/internal/token"
)

// Each step of the pipeline, failing, gives its own status, a REJECT and
// a reason naming the failure; only the complete run approves.
func TestCheckEachStepFailsClosed(t *testing.T) {
	node, rogue := testKeys(t)
	soon := time.Now().Add(2 * time.Minute)
	ping := requestJSON(t, protocol.V2, protocol.TypePing, "p-1")
	bigPing := append(ping[:len(ping)-1:len(ping)-1], `,"pad":"`+strings.Repeat("p", token.MaxForgedEchoLen)+`"}`...)
	keygen := requestJSON(t, protocol.V2, protocol.TypeKeyGen, "g-1")
	keysign := requestJSON(t, protocol.V2, protocol.TypeKeySign, "k-1")
	approve := deciderFunc(func(context.Context, *protocol.Request) (decision.Decision, error) {
		return decision.Decision{Action: protocol.ActionApprove, Rule: "r", PolicyVersion: "v"}, nil
	})
	withStore := func(f func(*faultyStore)) func(*testing.T, *Config) {
		return func(t *testing.T, c *Config) {
			fs := &faultyStore{Store: openSQLite(t)}
			if f != nil {
				f(fs)
			}
			c.Store = fs
			c.Decider = approve
		}
	}
	tests := []struct {
		name   string
		setup  func(*testing.T, *Config)
		tok    string
		v      protocol.Version
		status protocol.Status
		action protocol.Action
		reason string
		id     string
	}{
		{name: "approved ping", tok: nodeToken(t, node, ping, soon), status: 0, action: protocol.ActionApprove, id: "p-1"},
		{name: "not a token", tok: "garbage", status: protocol.StatusInvalidToken, reason: "", id: ""},
		{name: "untrusted key, id echoed", tok: nodeToken(t, rogue, ping, soon), status: protocol.StatusInvalidToken, id: "p-1"},
		// Reading the id of a large token no key verified would cost a
		// JSON parse the forger chose: no id.
		{name: "untrusted key, large token, no id echoed", tok: nodeToken(t, rogue, bigPing, soon), status: protocol.StatusInvalidToken, id: ""},
		{name: "expired large token, id echoed", tok: nodeToken(t, node, bigPing, time.Now().Add(-time.Hour)), status: protocol.StatusInvalidToken, reason: "expired", id: "p-1"},
		{name: "expired token", tok: nodeToken(t, node, ping, time.Now().Add(-time.Hour)), status: protocol.StatusInvalidToken, reason: "expired", id: "p-1"},
		{name: "package_data not base64", tok: signToken(t, node, map[string]any{"package_data": "*", "exp": soon.Unix()}),
			status: protocol.StatusInvalidRequest, reason: "package_data"},
		{name: "undecodable request", tok: nodeToken(t, node, []byte(`{"request_id":"u-1","request_type":99}`), soon),
			status: protocol.StatusInvalidRequest, id: "u-1"},
		{name: "verifier panics", tok: nodeToken(t, node, keysign, soon), id: "k-1",
			setup: func(_ *testing.T, c *Config) {
				c.VerifyTx = func(*protocol.Request) *protocol.Verification { panic("decoder bug") }
				c.Decider = approve
			},
			status: protocol.StatusInternalError, reason: "internal error"},
		{name: "decider errors", tok: nodeToken(t, node, keygen, soon), id: "g-1",
			setup: func(_ *testing.T, c *Config) {
				c.Decider = deciderFunc(func(context.Context, *protocol.Request) (decision.Decision, error) {
					return decision.Decision{Action: protocol.ActionApprove}, errors.New("half done")
				})
			},
			status: protocol.StatusInternalError, reason: "policy evaluation failed"},
		{name: "decider panics", tok: nodeToken(t, node, keygen, soon), id: "g-1",
			setup: func(_ *testing.T, c *Config) {
				c.Decider = deciderFunc(func(context.Context, *protocol.Request) (decision.Decision, error) { panic("boom") })
			},
			status: protocol.StatusInternalError, reason: "internal error"},
		{name: "decider returns an unknown action", tok: nodeToken(t, node, keygen, soon), id: "g-1",
			setup: func(_ *testing.T, c *Config) {
				c.Decider = deciderFunc(func(context.Context, *protocol.Request) (decision.Decision, error) {
					return decision.Decision{Action: "MAYBE", Rule: "odd"}, nil
				})
			},
			status: 0, reason: "rejected by odd"},
		{name: "limits without a store", tok: nodeToken(t, node, keygen, soon), id: "g-1",
			setup: func(_ *testing.T, c *Config) {
				c.Decider = deciderFunc(func(context.Context, *protocol.Request) (decision.Decision, error) {
					return decision.Decision{Action: protocol.ActionApprove, Rule: "r", Limits: []decision.LimitUse{{Limit: "daily", Window: time.Hour, MaxCount: 1}}}, nil
				})
			},
			status: protocol.StatusInternalError, reason: "not enforced"},
		{name: "decision log unreadable after the decider failed", tok: nodeToken(t, node, keygen, soon), id: "g-1",
			setup: func(t *testing.T, c *Config) {
				withStore(func(f *faultyStore) { f.getErr = errors.New("disk gone") })(t, c)
				c.Decider = deciderFunc(func(context.Context, *protocol.Request) (decision.Decision, error) {
					return decision.Decision{}, errors.New("policy broken")
				})
			},
			status: protocol.StatusInternalError, reason: "decision log unavailable"},
		{name: "record fails", tok: nodeToken(t, node, keygen, soon), id: "g-1",
			setup:  withStore(func(f *faultyStore) { f.commitErr = errors.New("disk full") }),
			status: protocol.StatusInternalError, reason: "recording the decision failed"},
		{name: "record outcome unknown", tok: nodeToken(t, node, keygen, soon), id: "g-1",
			setup:  withStore(func(f *faultyStore) { f.commitErr, f.commitThenErr = store.ErrOutcomeUnknown, true }),
			status: protocol.StatusInternalError, reason: "outcome unknown"},
		{name: "recorded approval", tok: nodeToken(t, node, keygen, soon), id: "g-1",
			setup:  withStore(nil),
			status: 0, action: protocol.ActionApprove},
		{name: "no policy rejects keygen", tok: nodeToken(t, node, keygen, soon), id: "g-1",
			status: 0, reason: "no policy is configured"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := newGate(t, func(c *Config) {
				if tc.setup != nil {
					tc.setup(t, c)
				}
			})
			v := tc.v
			if v == "" {
				v = protocol.V2
			}
			o := g.Check(context.Background(), v, tc.tok)
			want := tc.action
			if want == "" {
				want = protocol.ActionReject
			}
			if o.Status != tc.status || o.Action != want || !strings.Contains(o.Reason, tc.reason) {
				t.Fatalf("outcome status %d %s %q, want status %d %s with a reason containing %q", o.Status, o.Action, o.Reason, tc.status, want, tc.reason)
			}
			if o.Approves() != (want == protocol.ActionApprove) {
				t.Errorf("Approves() = %v for %+v", o.Approves(), o)
			}
			if o.RequestID != tc.id {
				t.Errorf("request_id %q, want %q", o.RequestID, tc.id)
			}
			if o.Status != protocol.StatusOK && (o.Cause == nil || o.Rule != "") {
				t.Errorf("a failure must carry its cause and no rule: cause %v, rule %q", o.Cause, o.Rule)
			}
		})
	}
}

// A retry of a request_id is answered from the record, whatever a new
// evaluation would say (here: the decider fails after its first call);
// the same id with other content is a REJECT that leaves the record alone.
func TestCheckIdempotentRetry(t *testing.T) {
	node, _ := testKeys(t)
	st := openSQLite(t)
	dec := &countingDecider{changeMind: true}
	g, _ := newGate(t, func(c *Config) { c.Store, c.Decider = st, dec })
	req := requestJSON(t, protocol.V2, protocol.TypeKeySign, "k-1")
	soon := time.Now().Add(2 * time.Minute)

	first := g.Check(context.Background(), protocol.V2, nodeToken(t, node, req, soon))
	retry := g.Check(context.Background(), protocol.V2, nodeToken(t, node, req, soon.Add(time.Second)))
	if !first.Approves() || first.Replayed || !retry.Approves() || !retry.Replayed {
		t.Fatalf("first %+v, retry %+v", first, retry)
	}
	if first.Rule != retry.Rule || first.PolicyVersion != retry.PolicyVersion {
		t.Errorf("retry answered %q/%q, first %q/%q", retry.Rule, retry.PolicyVersion, first.Rule, first.PolicyVersion)
	}
	other := requestJSON(t, protocol.V2, protocol.TypeKeyGen, "k-1")
	reused := g.Check(context.Background(), protocol.V2, nodeToken(t, node, other, soon))
	if reused.Approves() || reused.Status != protocol.StatusOK || reused.Rule != RuleRequestIDReused {
		t.Fatalf("reused id answered %+v", reused)
	}
	rec, err := st.Get(context.Background(), "k-1")
	if err != nil || rec.Type != "KEYSIGN" || rec.Action != "APPROVE" {
		t.Fatalf("record after reuse: %+v, %v", rec, err)
	}
}

// The injected clock is the received time, the decision time the policy
// sees, and the replay age: an approval is answered again only within
// ReplayMaxAge of the clock, with no sleep.
func TestCheckReplayAgeUsesTheClock(t *testing.T) {
	node, _ := testKeys(t)
	clock := newFakeClock()
	dec := &countingDecider{changeMind: true}
	g, _ := newGate(t, func(c *Config) {
		c.Store, c.Decider, c.Now, c.ReplayMaxAge = openSQLite(t), dec, clock.Now, time.Minute
	})
	req := requestJSON(t, protocol.V2, protocol.TypeKeySign, "k-old")
	tok := nodeToken(t, node, req, time.Now().Add(2*time.Minute))
	start := clock.Now()

	first := g.Check(context.Background(), protocol.V2, tok)
	if !first.Approves() || !first.ReceivedAt.Equal(start) || !dec.lastAt().Equal(start) {
		t.Fatalf("first %+v; decider saw %v, clock %v", first, dec.lastAt(), start)
	}
	clock.Advance(time.Minute)
	if o := g.Check(context.Background(), protocol.V2, tok); !o.Approves() || !o.Replayed {
		t.Fatalf("retry at the limit of ReplayMaxAge: %+v", o)
	}
	clock.Advance(time.Second)
	late := g.Check(context.Background(), protocol.V2, tok)
	if late.Approves() || late.Rule != RuleReplayTooOld || !strings.Contains(late.Reason, "1m1s ago") {
		t.Fatalf("late retry: %+v", late)
	}
}

// Limit windows run on the injected clock: an approval over a limit is
// a REJECT by the limit until the clock leaves the window.
func TestCheckLimitWindowsUseTheClock(t *testing.T) {
	node, _ := testKeys(t)
	clock := newFakeClock()
	dec := &countingDecider{limits: []decision.LimitUse{{Limit: "one-an-hour", Key: `["k"]`, Window: time.Hour, MaxCount: 1}}}
	g, _ := newGate(t, func(c *Config) { c.Store, c.Decider, c.Now = openSQLite(t), dec, clock.Now })
	check := func(id string) Outcome {
		t.Helper()
		return g.Check(context.Background(), protocol.V2, nodeToken(t, node, requestJSON(t, protocol.V2, protocol.TypeKeyGen, id), time.Now().Add(2*time.Minute)))
	}
	if o := check("g-1"); !o.Approves() {
		t.Fatalf("first: %+v", o)
	}
	clock.Advance(59 * time.Minute)
	if o := check("g-2"); o.Approves() || o.Rule != "one-an-hour" {
		t.Fatalf("within the window: %+v", o)
	}
	clock.Advance(2 * time.Minute)
	if o := check("g-3"); !o.Approves() {
		t.Fatalf("after the window: %+v", o)
	}
}

// CheckVerified is the same pipeline after the token: decode failures,
// the clock and the record behave as in Check.
func TestCheckVerified(t *testing.T) {
	clock := newFakeClock()
	st := openSQLite(t)
	g, _ := newGate(t, func(c *Config) { c.Store, c.Now = st, clock.Now })
	o := g.CheckVerified(context.Background(), protocol.V1, "node-b", requestJSON(t, protocol.V1, protocol.TypePing, "p-9"))
	if !o.Approves() || o.KeyName != "node-b" || o.Rule != decision.RuleDefaultPing {
		t.Fatalf("ping: %+v", o)
	}
	rec, err := st.Get(context.Background(), "p-9")
	if err != nil || rec.NodeKey != "node-b" || !rec.ReceivedAt.Equal(clock.Now()) {
		t.Fatalf("record %+v, %v", rec, err)
	}
	if o := g.CheckVerified(context.Background(), protocol.V2, "node-b", []byte(`{"request_id":"x","request_type":"KEYGEN"}`)); o.Status != protocol.StatusInvalidRequest || o.Approves() {
		t.Fatalf("undecodable: %+v", o)
	}
}

// Every text in an Outcome is clean, whatever the decider returned.
func TestCheckCleansDeciderText(t *testing.T) {
	node, _ := testKeys(t)
	hostile := "bad \xff\x00 " + strings.Repeat("x", 5000)
	g, _ := newGate(t, func(c *Config) {
		c.Store = openSQLite(t)
		c.Decider = deciderFunc(func(context.Context, *protocol.Request) (decision.Decision, error) {
			return decision.Decision{Action: protocol.ActionReject, Rule: hostile, Reason: hostile, PolicyVersion: hostile,
				Shadow: []decision.ShadowOutcome{{Rule: hostile, Error: hostile}}}, nil
		})
	})
	o := g.Check(context.Background(), protocol.V2, nodeToken(t, node, requestJSON(t, protocol.V2, protocol.TypeKeyGen, "g-1"), time.Now().Add(time.Minute)))
	if o.Status != protocol.StatusOK || o.Approves() {
		t.Fatalf("outcome %+v", o)
	}
	for what, s := range map[string]string{"reason": o.Reason, "rule": o.Rule, "policy": o.PolicyVersion, "shadow rule": o.Shadow[0].Rule, "shadow error": o.Shadow[0].Error} {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) || len(s) > MaxReasonBytes {
			t.Errorf("%s not clean: %.40q (%d bytes)", what, s, len(s))
		}
	}
}
