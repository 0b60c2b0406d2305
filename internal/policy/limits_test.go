package policy

import (
	"context"
	"strings"
	"testing"
	"time"

	"tssgate/internal/protocol"
)

const limitsPolicy = `version: 1
rules:
  - name: keysign
    when: request.type == "KEYSIGN"
    action: approve
  - name: keygen
    when: request.type == "KEYGEN"
    action: approve
limits:
  - name: eth-daily
    when: request.type == "KEYSIGN" && tx.token_id == "ETH"
    key: [tx.wallet_id, tx.token_id]
    window: 24h
    max_amount: "100"
    max_count: 50
  - name: per-node
    when: request.type == "KEYSIGN"
    key: [request.node_key]
    amount: decimal("1")
    window: 1h
    max_count: 10
`

func TestLimitUses(t *testing.T) {
	p := mustParse(t, limitsPolicy, "")
	d := decide(t, p, request(t, protocol.V2, protocol.TypeKeySign, "", ""))
	if !d.Approves() || d.Rule != "keysign" {
		t.Fatalf("decision %+v", d)
	}
	if len(d.Limits) != 2 {
		t.Fatalf("limits %+v, want eth-daily and per-node", d.Limits)
	}
	eth, node := d.Limits[0], d.Limits[1]
	if eth.Limit != "eth-daily" || eth.Key != `["0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","ETH"]` || eth.Window != 24*time.Hour ||
		eth.Amount.String() != "0.0001" || eth.MaxAmount == nil || eth.MaxAmount.String() != "100" || eth.MaxCount != 50 {
		t.Errorf("eth-daily use %+v", eth)
	}
	if node.Limit != "per-node" || node.Key != `["node-a"]` || node.Amount.String() != "1" || node.MaxAmount != nil || node.MaxCount != 10 {
		t.Errorf("per-node use %+v", node)
	}
	// A KEYGEN matches no limit; a rejection carries none.
	if d := decide(t, p, request(t, protocol.V2, protocol.TypeKeyGen, "", "")); !d.Approves() || len(d.Limits) != 0 {
		t.Errorf("keygen decision %+v", d)
	}
	rej := mustParse(t, "version: 1\nrules: []\nlimits:\n  - {name: l, when: \"true\", key: ['\"x\"'], window: 1h, max_count: 1}\n", "")
	if d := decide(t, rej, request(t, protocol.V2, protocol.TypeKeySign, "", "")); d.Approves() || len(d.Limits) != 0 {
		t.Errorf("rejected decision carries limits: %+v", d)
	}
}

// A limit that cannot be computed rejects: an approval is never granted
// outside a limit.
func TestLimitErrorsReject(t *testing.T) {
	tests := []struct{ name, limit, want string }{
		{"tx on KEYGEN", `{name: l, when: "true", key: [tx.wallet_id], window: 1h, max_count: 1}`, `limit "l" errored`},
		{"missing detail key", `{name: l, when: "true", key: [detail.nope], window: 1h, max_count: 1}`, `limit "l" errored`},
		{"key of the wrong type", `{name: l, when: "true", key: ["detail.threshold > 1"], window: 1h, max_count: 1}`, ``},
		{"negative amount", `{name: l, when: "true", key: ['"x"'], amount: 'decimal("-1")', window: 1h, max_count: 1}`, "negative"},
		{"when errors", `{name: l, when: "detail.nope == 1", key: ['"x"'], window: 1h, max_count: 1}`, `limit "l" errored`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "version: 1\ndefault: approve\nrules: []\nlimits:\n  - " + tc.limit + "\n"
			p, err := Parse("test.yaml", []byte(src), "")
			if err != nil {
				if tc.want == "" {
					return // refused at load: also fail closed
				}
				t.Fatalf("Parse: %v", err)
			}
			d := decide(t, p, request(t, protocol.V2, protocol.TypeKeyGen, "", ""))
			if d.Approves() || d.Rule != "l" || !strings.Contains(d.Reason, tc.want) {
				t.Fatalf("decision %+v, want REJECT by limit l (~%q)", d, tc.want)
			}
		})
	}
}

func TestLimitLoadErrors(t *testing.T) {
	tests := []struct{ name, limits, want string }{
		{"no maximum", "  - {name: l, when: \"true\", key: ['\"x\"'], window: 1h}\n", "limit l: give max_amount, max_count or both"},
		{"missing key", "  - {name: l, when: \"true\", window: 1h, max_count: 1}\n", "limit l: key: missing"},
		{"bad window", "  - {name: l, when: \"true\", key: ['\"x\"'], window: forever, max_count: 1}\n", "limit l: window: must be a positive duration"},
		{"max_amount unquoted", "  - {name: l, when: \"true\", key: ['\"x\"'], window: 1h, max_amount: 100}\n", "limit l: max_amount: must be a string"},
		{"max_amount not a decimal", "  - {name: l, when: \"true\", key: ['\"x\"'], window: 1h, max_amount: \"1e3\"}\n", "max_amount: must be a non-negative decimal"},
		{"max_count zero", "  - {name: l, when: \"true\", key: ['\"x\"'], window: 1h, max_count: 0}\n", "max_count: must be at least 1"},
		{"amount not decimal", "  - {name: l, when: \"true\", key: ['\"x\"'], window: 1h, max_count: 1, amount: \"1.5\"}\n", "limit l: amount: must be a decimal expression"},
		{"key typo", "  - {name: l, when: \"true\", key: [tx.walet_id], window: 1h, max_count: 1}\n", "limit l: key: "},
		{"when not bool", "  - {name: l, when: \"1\", key: ['\"x\"'], window: 1h, max_count: 1}\n", "limit l: when: must be a bool expression"},
		{"duplicate", "  - {name: l, when: \"true\", key: ['\"x\"'], window: 1h, max_count: 1}\n  - {name: l, when: \"true\", key: ['\"x\"'], window: 1h, max_count: 1}\n", "duplicate limit name"},
		{"same name as a rule", "  - {name: r, when: \"true\", key: ['\"x\"'], window: 1h, max_count: 1}\n", "a rule has the same name"},
		{"unknown key", "  - {name: l, when: \"true\", key: ['\"x\"'], window: 1h, max_count: 1, per: day}\n", "per: unknown key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := parseErr(t, "version: 1\nrules:\n  - {name: r, when: \"true\", action: approve}\nlimits:\n"+tc.limits, "")
			line := "test.yaml:5"
			if tc.name == "duplicate" {
				line = "test.yaml:6"
			}
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, line) {
				t.Fatalf("error %q, want %q at line 5", msg, tc.want)
			}
		})
	}
}

// Limit keys and amounts always fit the ledger: a described value of any
// size is keyed by its hash (one bucket per value), and an amount the
// ledger could not read back is a REJECT naming the limit, never an
// approval whose record fails.
func TestLimitUsesAreRecordable(t *testing.T) {
	p := mustParse(t, limitsPolicy, "")
	long := strings.Repeat("w", 4096)
	patch := `{"transaction": {"wallet_id": "` + long + `"}}`
	d1 := decide(t, p, request(t, protocol.V2, protocol.TypeKeySign, "", patch))
	d2 := decide(t, p, request(t, protocol.V2, protocol.TypeKeySign, "", patch))
	if !d1.Approves() || len(d1.Limits) != 2 {
		t.Fatalf("decision %+v", d1)
	}
	key := d1.Limits[0].Key
	if !strings.HasPrefix(key, "sha256:") || len(key) != len("sha256:")+64 || key != d2.Limits[0].Key {
		t.Errorf("4 KB wallet_id keyed as %.80q (and %.80q), want one sha256: key", key, d2.Limits[0].Key)
	}
	other := decide(t, p, request(t, protocol.V2, protocol.TypeKeySign, "", `{"transaction": {"wallet_id": "`+long+`x"}}`))
	if other.Limits[0].Key == key {
		t.Error("two wallet_ids share one hashed key")
	}

	huge := mustParse(t, `version: 1
rules:
  - {name: any, when: request.type == "KEYSIGN", action: approve}
limits:
  - {name: huge, when: "true", key: ['"x"'], window: 1h, max_count: 10, amount: 'decimal("1`+strings.Repeat("0", 60)+`") + decimal("0.`+strings.Repeat("1", 60)+`")'}
`, "")
	if d := decide(t, huge, request(t, protocol.V2, protocol.TypeKeySign, "", "")); d.Approves() || d.Rule != "huge" || !strings.Contains(d.Reason, "cannot be recorded") {
		t.Errorf("an unrecordable limit amount gave %+v, want a REJECT by the limit", d)
	}
}

// LimitUses reports the uses whatever the rules decide, and names the
// limits that cannot be evaluated instead of failing the others.
func TestExportedLimitUses(t *testing.T) {
	src := `version: 1
default: reject
rules: []
limits:
  - {name: eth-daily, when: 'request.type == "KEYSIGN"', key: [tx.wallet_id, tx.token_id], window: 24h, max_amount: "1"}
  - {name: broken, when: 'true', key: [detail.nope], window: 1h, max_count: 1}
  - {name: keygen-only, when: 'request.type == "KEYGEN"', key: ['"x"'], window: 1h, max_count: 1}
`
	p := mustParse(t, src, "")
	req := request(t, protocol.V2, protocol.TypeKeySign, "", "")
	req.ReceivedAt = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	if d := decide(t, p, req); d.Approves() {
		t.Fatalf("the rules must reject for this test: %+v", d)
	}
	uses, failed, err := p.LimitUses(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(uses) != 1 || uses[0].Limit != "eth-daily" || uses[0].Key != `["0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","ETH"]` || uses[0].Amount.String() != "0.0001" {
		t.Fatalf("uses %+v", uses)
	}
	if len(failed) != 1 || failed[0] != "broken" {
		t.Fatalf("failed %v, want [broken]", failed)
	}
	req.ReceivedAt = time.Time{}
	if _, _, err := p.LimitUses(context.Background(), req); err == nil {
		t.Fatal("LimitUses without a received time: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req.ReceivedAt = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	if _, _, err := p.LimitUses(ctx, req); err == nil {
		t.Fatal("LimitUses with a done context: no error")
	}
}
