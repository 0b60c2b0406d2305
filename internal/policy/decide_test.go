package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"tssgate/internal/protocol"
)

const (
	approve = protocol.ActionApprove
	reject  = protocol.ActionReject
)

// reqSpec names a request built from the samples with optional patches.
type reqSpec struct {
	v           protocol.Version
	typ         protocol.RequestType
	detailPatch string
	extraPatch  string
}

func (s reqSpec) build(t testing.TB) *protocol.Request {
	t.Helper()
	v := s.v
	if v == "" {
		v = protocol.V2
	}
	return request(t, v, s.typ, s.detailPatch, s.extraPatch)
}

var (
	ping    = reqSpec{typ: protocol.TypePing}
	keygen  = reqSpec{typ: protocol.TypeKeyGen}
	keysign = reqSpec{typ: protocol.TypeKeySign}
)

func TestDecideSemantics(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		req    reqSpec
		action protocol.Action
		rule   string
		reason string // substring of Decision.Reason; "" means Reason must be empty
	}{
		{
			name: "first matching rule decides",
			policy: policyWith("", `
  - {name: sign-ok, when: 'request.type == "KEYSIGN"', action: approve}
  - {name: sign-no, when: 'request.type == "KEYSIGN"', action: reject, reason: later}
`),
			req: keysign, action: approve, rule: "sign-ok",
		},
		{
			name: "order decides, not action",
			policy: policyWith("", `
  - {name: sign-no, when: 'request.type == "KEYSIGN"', action: reject, reason: "not today"}
  - {name: sign-ok, when: 'request.type == "KEYSIGN"', action: approve}
`),
			req: keysign, action: reject, rule: "sign-no", reason: "not today",
		},
		{
			name: "rules that do not match are passed over",
			policy: policyWith("", `
  - {name: keygen-only, when: 'request.type == "KEYGEN"', action: reject}
  - {name: sign-ok, when: 'request.type == "KEYSIGN"', action: approve}
`),
			req: keysign, action: approve, rule: "sign-ok",
		},
		{
			name:   "no match and no default rejects",
			policy: policyWith("", `  - {name: ping, when: 'request.type == "PING"', action: approve}`),
			req:    keysign, action: reject, rule: RuleDefault, reason: "no policy rule matched",
		},
		{
			name:   "no match with default reject rejects",
			policy: policyWith("default: reject\n", `  - {name: ping, when: 'request.type == "PING"', action: approve}`),
			req:    keygen, action: reject, rule: RuleDefault, reason: "default is reject",
		},
		{
			name:   "no match with default approve approves",
			policy: policyWith("default: approve\n", `  - {name: no-keygen, when: 'request.type == "KEYGEN"', action: reject}`),
			req:    keysign, action: approve, rule: RuleDefault,
		},
		{
			name:   "a policy without rules uses its default",
			policy: "version: 1\ndefault: reject\n",
			req:    ping, action: reject, rule: RuleDefault, reason: "no policy rule matched",
		},
		{
			name:   "reject without reason gets one naming the rule",
			policy: policyWith("", `  - {name: no-sign, when: 'request.type == "KEYSIGN"', action: reject}`),
			req:    keysign, action: reject, rule: "no-sign", reason: `rejected by policy rule "no-sign"`,
		},
		{
			name: "shadow approve never decides",
			policy: policyWith("", `
  - {name: would-approve, mode: shadow, when: 'true', action: approve}
`),
			req: keysign, action: reject, rule: RuleDefault, reason: "no policy rule matched",
		},
		{
			name: "shadow reject never overrides a live approve",
			policy: policyWith("", `
  - {name: would-reject, mode: shadow, when: 'true', action: reject, reason: nope}
  - {name: live-ok, mode: live, when: 'true', action: approve}
`),
			req: keysign, action: approve, rule: "live-ok",
		},
		{
			name:   "request fields",
			policy: policyWith("", `  - {name: r, when: 'request.id == "req-1" && request.type == "KEYGEN" && request.version == "v1" && request.node_key == "node-a"', action: approve}`),
			req:    reqSpec{v: protocol.V1, typ: protocol.TypeKeyGen}, action: approve, rule: "r",
		},
		{
			name: "v2 tx fields",
			policy: policyWith("", `
  - name: all-fields
    when: >
      tx.id == "7f3c2a91-5d4e-4b8a-a6c2-1e9f0d3b8c57" &&
      tx.cobo_id == "20250615103045000114123456789012" &&
      tx.chain_id == "ETH" && tx.token_id == "ETH" &&
      tx.amount == decimal("0.0001") && tx.amount == decimal("0.00010") &&
      size(tx.destinations) == 1 &&
      tx.destinations[0].address == "0x0f76f604fd7762bd94b48ca2523f69ab9665c97f" &&
      tx.destinations[0].amount == decimal("0.0001") &&
      tx.source_addresses == ["0x8c2e3e9a1cf0b36b8e6f4f8b2c7d9a1e5f3b4c6d"] &&
      tx.wallet_id == "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" &&
      tx.type == "Withdrawal" && tx.initiator == "payouts-service" && tx.initiator_type == "API" &&
      tx.msg_hashes == ["1acf0342f77d22389a9cf6524a2af14dc420928d2942efe0dc0764be2ea5321b"] &&
      tx.destination_type == "Address" && tx.verified == true
    action: approve
`),
			req: keysign, action: approve, rule: "all-fields",
		},
		{
			name: "v1 tx fields map to the same shape",
			policy: policyWith("", `
  - name: v1-fields
    when: >
      tx.id == "20240417101529000198765432109875" && tx.cobo_id == tx.id &&
      tx.chain_id == "" && tx.token_id == "ETH" && tx.amount == decimal("0.0001") &&
      tx.initiator_type == "API" && tx.type == "TRANSFER" && tx.wallet_id == "" &&
      tx.destinations.map(d, d.address) == ["0x0f76f604fd7762bd94b48ca2523f69ab9665c97f"]
    action: approve
`),
			req: reqSpec{v: protocol.V1, typ: protocol.TypeKeySign}, action: approve, rule: "v1-fields",
		},
		{
			name:   "detail and extra as sent",
			policy: policyWith("", `  - {name: d, when: 'detail.threshold == 2 && size(detail.node_ids) == 3 && extra.org.biz_org_id == 1001234 && extra.org.name == "Acme Custody Ltd" && has(extra.tss_request) && !has(detail.nope)', action: approve}`),
			req:    keygen, action: approve, rule: "d",
		},
		{
			name:   "non-integer numbers in detail are exact decimals",
			policy: policyWith("", `  - {name: d, when: 'decimal(detail.fee) == decimal("0.1") + decimal("0.2") && decimal(detail.fee) == decimal("0.3") && decimal(detail.threshold) == decimal(2)', action: approve}`),
			req:    reqSpec{typ: protocol.TypeKeyGen, detailPatch: `{"fee": 0.30}`}, action: approve, rule: "d",
		},
		{
			name:   "now is the decision clock",
			policy: policyWith("", `  - {name: t, when: 'now.getHours("Asia/Singapore") == 10 && now.getHours() == 2 && now.getDayOfWeek("Asia/Singapore") == 1 && now == timestamp("2026-01-05T02:00:00Z")', action: approve}`),
			req:    ping, action: approve, rule: "t",
		},
		{
			name:   "a false branch guards tx on other types",
			policy: policyWith("", `  - {name: guarded, when: 'request.type == "KEYSIGN" && tx.amount > decimal("100")', action: reject}`),
			req:    keygen, action: reject, rule: RuleDefault, reason: "no policy rule matched",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParse(t, tc.policy, "")
			d := decide(t, p, tc.req.build(t))
			if d.Action != tc.action || d.Rule != tc.rule {
				t.Fatalf("got %s by %q (reason %q), want %s by %q", d.Action, d.Rule, d.Reason, tc.action, tc.rule)
			}
			if tc.reason == "" && d.Reason != "" {
				t.Fatalf("Reason = %q, want none", d.Reason)
			}
			if !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("Reason = %q, want it to contain %q", d.Reason, tc.reason)
			}
		})
	}
}

// bigList returns n distinct entries for an inline list.
func bigList(n int) string {
	entries := make([]string, n)
	for i := range entries {
		entries[i] = fmt.Sprintf("%q", fmt.Sprintf("entry-%06d", i))
	}
	return "[" + strings.Join(entries, ", ") + "]"
}

// TestRuleErrorsReject covers every way a rule can fail at run time: each
// must end evaluation with REJECT naming the rule, never skip it.
func TestRuleErrorsReject(t *testing.T) {
	tests := []struct {
		name string
		top  string // extra top-level YAML (lists)
		when string
		req  reqSpec
		want string // substring of the error in Reason
	}{
		{name: "missing detail key", when: `detail.no_such_key == 1`, req: keygen, want: "no such key"},
		{name: "missing nested extra key", when: `extra.transaction.token_id == "ETH"`, req: keygen, want: "no such key"},
		{name: "type error", when: `detail.threshold > "a"`, req: keygen, want: "no such overload"},
		{name: "tx on KEYGEN", when: `tx.amount > decimal("1")`, req: keygen, want: "tx is only set for KEYSIGN requests, and this is a KEYGEN"},
		{name: "tx on PING", when: `tx.token_id == "ETH"`, req: ping, want: "this is a PING"},
		{name: "has(tx) on KEYRESHARE", when: `has(tx.amount)`, req: reqSpec{typ: protocol.TypeKeyReshare}, want: "tx is only set for KEYSIGN"},
		{name: "tx on KEYSIGN without a transaction", when: `tx.amount < decimal("1")`, req: reqSpec{typ: protocol.TypeKeySign, extraPatch: `{"transaction": null}`}, want: "describes no transaction"},
		{name: "decimal parse error", when: `decimal(detail.task_id) > decimal("1")`, req: keygen, want: "invalid syntax"},
		{name: "decimal against an int from detail", when: `detail.threshold > decimal("1")`, req: keygen, want: "no such overload"},
		{name: "decimal against a dyn int", when: `decimal("1") < dyn(2)`, req: keygen, want: "decimal comparison with int"},
		{name: "decimal against a dyn double", when: `decimal("1") < dyn(2.5)`, req: keygen, want: "decimal comparison with double"},
		{name: "decimal equality with a dyn int", when: `dyn(decimal("2")) == dyn(2)`, req: keygen, want: "decimal == with int"},
		{name: "decimal sum with a dyn int", when: `decimal("2") + dyn(2) > decimal("1")`, req: keygen, want: "decimal + with int"},
		{name: "number that is not exact", when: `detail.fee > decimal("1")`, req: reqSpec{typ: protocol.TypeKeyGen, detailPatch: `{"fee": 1e400}`}, want: "cannot be read exactly"},
		{name: "non-bool result", when: `detail.threshold`, req: keygen, want: "evaluated to int, not bool"},
		{name: "list membership of a non-string", top: "lists:\n  blocked: [a]\n", when: `detail.threshold in lists.blocked`, req: keygen, want: "needs a string"},
		{name: "negated membership of a non-string", top: "lists:\n  blocked: [a]\n", when: `!(detail.threshold in lists.blocked)`, req: keygen, want: "needs a string"},
		{name: "division by zero", when: `1 / (detail.threshold - 2) == 0`, req: keygen, want: "division by zero"},
		{name: "cost limit", top: "lists:\n  big: " + bigList(2000) + "\n", when: `lists.big.all(a, lists.big.all(b, a != b || a == b))`, req: keygen, want: "cost limit exceeded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The erroring rule comes before a rule that would approve, to
			// show it is not skipped.
			src := policyWith("default: approve\n"+tc.top, fmt.Sprintf("  - name: broken\n    when: '%s'\n    action: approve\n  - {name: fallback, when: 'true', action: approve}\n", tc.when))
			p := mustParse(t, src, "")
			d := decide(t, p, tc.req.build(t))
			if d.Action != reject || d.Rule != "broken" {
				t.Fatalf("got %s by %q (%q), want REJECT by the erroring rule", d.Action, d.Rule, d.Reason)
			}
			if !strings.HasPrefix(d.Reason, `rule "broken" errored: `) || !strings.Contains(d.Reason, tc.want) {
				t.Fatalf("Reason = %q, want `rule \"broken\" errored: ...%s...`", d.Reason, tc.want)
			}
			if len(d.Reason) > maxErrorText+50 {
				t.Fatalf("Reason is %d bytes long; it must stay bounded", len(d.Reason))
			}
		})
	}
}

func TestRequestBudget(t *testing.T) {
	rules := ""
	for i := 0; i < 5; i++ {
		rules += fmt.Sprintf("  - {name: r%d, when: '[1, 2, 3, 4, 5, 6, 7, 8].all(x, x > 0) && false', action: approve}\n", i)
	}
	p := mustParse(t, policyWith("default: approve\n", rules), "")

	d := decide(t, p, ping.build(t))
	if d.Action != approve || d.Rule != RuleDefault {
		t.Fatalf("with the full budget: got %s by %q (%q), want APPROVE by default", d.Action, d.Rule, d.Reason)
	}

	// Each rule costs a few dozen units; a budget of 100 runs out within
	// the first few rules, and the rule that runs out rejects.
	p.budget = 100
	d = decide(t, p, ping.build(t))
	if d.Action != reject || !strings.Contains(d.Reason, "budget is used up") {
		t.Fatalf("with a small budget: got %s by %q (%q), want REJECT for the budget", d.Action, d.Rule, d.Reason)
	}
	if d.Rule == "r0" || d.Rule == RuleDefault {
		t.Fatalf("the budget ran out at %q; a budget of 100 must let the first rule finish", d.Rule)
	}
}

func TestShadowOutcomes(t *testing.T) {
	src := policyWith("", `
  - {name: s-match, mode: shadow, when: 'request.type == "KEYSIGN"', action: reject, reason: "would block"}
  - {name: live-ok, when: 'request.type == "KEYSIGN"', action: approve}
  - {name: s-error, mode: shadow, when: 'detail.nope == 1', action: reject}
  - {name: s-nomatch, mode: shadow, when: 'request.type == "KEYGEN"', action: approve}
`)
	p := mustParse(t, src, "")
	d := decide(t, p, keysign.build(t))
	if d.Action != approve || d.Rule != "live-ok" {
		t.Fatalf("got %s by %q, want APPROVE by live-ok", d.Action, d.Rule)
	}
	want := []ShadowOutcome{
		{Rule: "s-match", Action: reject, Matched: true},
		{Rule: "s-error", Action: reject, Error: "no such key: nope"},
		{Rule: "s-nomatch", Action: approve},
	}
	if len(d.Shadow) != len(want) {
		t.Fatalf("Shadow = %+v, want %+v", d.Shadow, want)
	}
	for i := range want {
		got := d.Shadow[i]
		if got.Rule != want[i].Rule || got.Action != want[i].Action || got.Matched != want[i].Matched || !strings.Contains(got.Error, want[i].Error) || (want[i].Error == "") != (got.Error == "") {
			t.Errorf("Shadow[%d] = %+v, want %+v", i, got, want[i])
		}
	}

	// Shadow rules run even when a live rule errored and decided.
	src = policyWith("", `
  - {name: broken, when: 'detail.nope == 1', action: approve}
  - {name: s-match, mode: shadow, when: 'true', action: approve}
`)
	d = decide(t, mustParse(t, src, ""), keygen.build(t))
	if d.Action != reject || d.Rule != "broken" {
		t.Fatalf("got %s by %q, want REJECT by broken", d.Action, d.Rule)
	}
	if len(d.Shadow) != 1 || !d.Shadow[0].Matched {
		t.Fatalf("Shadow = %+v, want s-match evaluated and matched", d.Shadow)
	}
}

// cancelDuringEval is a context that stays live for its first `live` Err
// checks and is cancelled at the first Done or Err call after them, with
// Done and Err always agreeing. Decide checks Err before evaluating and
// before each live rule; CEL reads Done when a rule starts. So with live set
// to the checks Decide makes, the cancellation lands inside the rule and is
// seen by CEL's interrupt check in the comprehension.
type cancelDuringEval struct {
	context.Context
	mu       sync.Mutex
	live     int
	errCalls int
	done     chan struct{}
	canceled bool
}

func newCancelDuringEval(live int) *cancelDuringEval {
	return &cancelDuringEval{Context: context.Background(), live: live, done: make(chan struct{})}
}

func (c *cancelDuringEval) cancelLocked() {
	if !c.canceled {
		c.canceled = true
		close(c.done)
	}
}

func (c *cancelDuringEval) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.errCalls >= c.live {
		c.cancelLocked()
	}
	return c.done
}

func (c *cancelDuringEval) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errCalls++
	if c.errCalls > c.live {
		c.cancelLocked()
	}
	if c.canceled {
		return context.Canceled
	}
	return nil
}

func TestDecideContext(t *testing.T) {
	slow := "lists:\n  big: " + bigList(1000) + "\n"
	t.Run("cancelled before evaluation", func(t *testing.T) {
		p := mustParse(t, policyWith("default: approve\n", `  - {name: ok, when: 'true', action: approve}`), "")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		d, err := p.Decide(ctx, ping.build(t))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if d.Approves() {
			t.Fatalf("a cancelled evaluation returned an approving decision %+v", d)
		}
	})
	t.Run("expired deadline", func(t *testing.T) {
		p := mustParse(t, policyWith("default: approve\n", `  - {name: ok, when: 'true', action: approve}`), "")
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		if _, err := p.Decide(ctx, ping.build(t)); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("cancelled during a live rule", func(t *testing.T) {
		p := mustParse(t, policyWith("default: approve\n"+slow, `  - {name: slow, when: 'lists.big.all(x, x != "")', action: approve}`), "")
		d, err := p.Decide(newCancelDuringEval(2), ping.build(t))
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `evaluating rule "slow"`) {
			t.Fatalf("err = %v, want context.Canceled naming the rule", err)
		}
		if d.Approves() {
			t.Fatalf("got an approving decision %+v with the error", d)
		}
	})
	t.Run("cancelled during a shadow rule keeps the decision", func(t *testing.T) {
		p := mustParse(t, policyWith(slow, `
  - {name: ok, when: 'true', action: approve}
  - {name: slow-shadow, mode: shadow, when: 'lists.big.all(x, x != "")', action: reject}
`), "")
		d, err := p.Decide(newCancelDuringEval(3), ping.build(t))
		if err != nil {
			t.Fatalf("err = %v; a shadow rule must not change the outcome", err)
		}
		if d.Action != approve || d.Rule != "ok" || len(d.Shadow) != 1 || !strings.Contains(d.Shadow[0].Error, "canceled") {
			t.Fatalf("got %+v, want APPROVE by ok with the shadow rule's cancellation recorded", d)
		}
	})
	t.Run("nil request", func(t *testing.T) {
		p := mustParse(t, policyWith("default: approve\n", `  - {name: ok, when: 'true', action: approve}`), "")
		if _, err := p.Decide(context.Background(), nil); err == nil {
			t.Fatal("Decide(nil) returned no error")
		}
	})
}

func TestDecideUsesClock(t *testing.T) {
	p := mustParse(t, policyWith("", `  - {name: night, when: 'now.getHours("Asia/Singapore") < 6', action: approve}`), "")
	for _, tc := range []struct {
		now  time.Time
		want protocol.Action
	}{
		{time.Date(2026, 1, 5, 20, 0, 0, 0, time.UTC), approve}, // 04:00 in Singapore
		{time.Date(2026, 1, 5, 2, 0, 0, 0, time.UTC), reject},   // 10:00 in Singapore
	} {
		p.clock = func() time.Time { return tc.now }
		d, err := p.Decide(context.Background(), ping.build(t))
		if err != nil || d.Action != tc.want {
			t.Fatalf("at %v: got %+v, %v; want %s", tc.now, d, err, tc.want)
		}
	}
}

// TestDecideConcurrent shares one Policy between goroutines (run with
// -race): programs, lists and the policy must be read-only.
func TestDecideConcurrent(t *testing.T) {
	p := mustParse(t, policyWith("lists:\n  owned: [\"0x0F76F604FD7762BD94B48CA2523F69AB9665C97F\"]\n", `
  - {name: ping, when: 'request.type == "PING"', action: approve}
  - {name: owned, when: 'request.type == "KEYSIGN" && tx.destinations.all(d, d.address in lists.owned) && detail.signature_type == 1', action: approve}
  - {name: watch, mode: shadow, when: 'extra.wallet.name.startsWith("ETH")', action: reject}
`), "")
	reqs := []*protocol.Request{ping.build(t), keysign.build(t), keygen.build(t), reqSpec{v: protocol.V1, typ: protocol.TypeKeySign}.build(t)}
	want := []string{"ping", "owned", RuleDefault, "owned"}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				k := (g + i) % len(reqs)
				d, err := p.Decide(context.Background(), reqs[k])
				if err != nil || d.Rule != want[k] {
					errs <- fmt.Errorf("request %d: got %+v, %v; want rule %q", k, d, err, want[k])
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestIssueExample runs the policy printed in issue 3 (testdata), which
// is the file format's contract, over realistic requests.
func TestIssueExample(t *testing.T) {
	p, err := Load("testdata/issue-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	toTreasury := func(amount string) string {
		return fmt.Sprintf(`{"transaction": {"destination": {"account_output": {"address": "0x47F95183E513DA1C599E76611DCB00304D07B6A0", "amount": %q}}}}`, amount)
	}
	tests := []struct {
		name   string
		req    reqSpec
		now    time.Time
		action protocol.Action
		rule   string
		night  bool // whether the shadow rule matched
	}{
		{"ping", ping, monday10, approve, "heartbeat", false},
		{"v2 keygen 2-of-3 among known nodes", keygen, monday10, approve, "keygen-2-of-3", false},
		{"v1 keygen", reqSpec{v: protocol.V1, typ: protocol.TypeKeyGen}, monday10, approve, "keygen-2-of-3", false},
		{"keygen with an unknown node", reqSpec{typ: protocol.TypeKeyGen, detailPatch: `{"node_ids": ["cobo8SuYXG4m3Fzq7uV9nK2pWdLhTrEcA5bJ6yQxN1oHi", "someone-else", "coo5Gh2pXk7rV9mW3nQ8tL4yZcB6dJ1sE5aF9uRxNwTm"]}`}, monday10, reject, RuleDefault, false},
		{"keygen 3-of-3", reqSpec{typ: protocol.TypeKeyGen, detailPatch: `{"threshold": 3}`}, monday10, reject, RuleDefault, false},
		{"payout to treasury (checksummed in the request)", reqSpec{typ: protocol.TypeKeySign, extraPatch: toTreasury("99.99")}, monday10, approve, "treasury-payouts", false},
		{"payout to treasury over 100", reqSpec{typ: protocol.TypeKeySign, extraPatch: toTreasury("100.000001")}, monday10, reject, "too-large", false},
		{"payout elsewhere", keysign, monday10, reject, RuleDefault, false},
		{"night payout is recorded by the shadow rule only", reqSpec{typ: protocol.TypeKeySign, extraPatch: toTreasury("1")}, time.Date(2026, 1, 5, 20, 30, 0, 0, time.UTC), approve, "treasury-payouts", true},
		{"reshare is not covered", reqSpec{typ: protocol.TypeKeyReshare}, monday10, reject, RuleDefault, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := p.decideAt(context.Background(), tc.req.build(t), tc.now)
			if err != nil {
				t.Fatal(err)
			}
			if d.Action != tc.action || d.Rule != tc.rule {
				t.Fatalf("got %s by %q (%s), want %s by %q", d.Action, d.Rule, d.Reason, tc.action, tc.rule)
			}
			if len(d.Shadow) != 1 || d.Shadow[0].Rule != "watch-night-signing" || d.Shadow[0].Matched != tc.night || d.Shadow[0].Error != "" {
				t.Fatalf("Shadow = %+v, want watch-night-signing matched=%v", d.Shadow, tc.night)
			}
		})
	}
}
