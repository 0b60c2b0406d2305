package policy

import (
	"strings"
	"testing"

	"tssgate/internal/decimal"
	"tssgate/internal/protocol"
)

// unverified returns the sample KEYSIGN with the given verification
// outcome (nil: no verification ran).
func withVerification(t *testing.T, v *protocol.Verification, extraPatch string) *protocol.Request {
	t.Helper()
	req := request(t, protocol.V2, protocol.TypeKeySign, "", extraPatch)
	req.Verification = v
	return req
}

// unsupportedWithPath is the sample KEYSIGN as a token tssgate has no
// decoder for, signed on derivation path path.
func unsupportedWithPath(t *testing.T, v *protocol.Verification, path string) *protocol.Request {
	t.Helper()
	req := withVerification(t, v, "")
	req.KeySign.BIP32Paths = []string{path}
	return req
}

func TestVerificationGate(t *testing.T) {
	const approveAll = `
  - name: any
    when: request.type == "KEYSIGN"
    action: approve
`
	const approveUnsupported = `
  - name: unsupported-only
    when: request.type == "KEYSIGN" && !tx.verified && tx.decoded.reason.startsWith("token_id")
    action: approve
`
	failed := &protocol.Verification{Reason: "amount: description says 5 ETH, transaction moves 0.0001 ETH"}
	unsupported := &protocol.Verification{Unsupported: true, Reason: "token_id: unsupported token_id ETH"}
	nonce := uint64(7)
	good := &protocol.Verification{
		Verified: true, Token: "ETH", CoboChainID: "ETH", Chain: "evm", TxType: "legacy", Method: "native_transfer", ChainID: "1", Nonce: &nonce,
		Destinations: []protocol.Destination{{Address: "0x0F76F604fd7762Bd94B48CA2523F69ab9665c97f", Amount: decimal.MustParse("0.0001")}},
	}
	tests := []struct {
		name       string
		top        string
		rules      string
		req        func(t *testing.T) *protocol.Request
		wantAction protocol.Action
		wantRule   string
		wantReason string
	}{
		{"no verification ran", "", approveAll, func(t *testing.T) *protocol.Request { return withVerification(t, nil, "") },
			protocol.ActionReject, RuleVerify, "transaction not verified: no transaction verification ran"},
		{"verification failed", "", approveAll, func(t *testing.T) *protocol.Request { return withVerification(t, failed, "") },
			protocol.ActionReject, RuleVerify, "transaction not verified: amount: description says 5 ETH"},
		{"explicit required", "verify: {default: required}\n", approveAll, func(t *testing.T) *protocol.Request { return withVerification(t, failed, "") },
			protocol.ActionReject, RuleVerify, "amount"},
		{"verified passes the gate", "", approveAll, func(t *testing.T) *protocol.Request { return withVerification(t, good, "") },
			protocol.ActionApprove, "any", ""},
		{"token optional: rules decide and see tx.verified false", "verify: {tokens: {ETH: optional}}\n", approveUnsupported,
			func(t *testing.T) *protocol.Request { return unsupportedWithPath(t, unsupported, "m/44/144/0/0/0") }, protocol.ActionApprove, "unsupported-only", ""},
		// Keys match exactly: tx.token_id of an unverified transaction is
		// the description's spelling, so "eth" must not pass as ETH.
		{"token optional in another case does not match", "verify: {tokens: {eth: optional}}\n", approveUnsupported,
			func(t *testing.T) *protocol.Request { return unsupportedWithPath(t, unsupported, "m/44/144/0/0/0") }, protocol.ActionReject, RuleVerify, "unsupported token_id"},
		{"chain optional in another case does not match", "verify: {chains: {eth: optional}}\n", approveUnsupported,
			func(t *testing.T) *protocol.Request { return unsupportedWithPath(t, unsupported, "m/44/144/0/0/0") }, protocol.ActionReject, RuleVerify, "unsupported token_id"},
		{"chain optional", "verify: {chains: {ETH: optional}}\n", approveUnsupported,
			func(t *testing.T) *protocol.Request { return unsupportedWithPath(t, unsupported, "m/44'/0'/0'/0/0") }, protocol.ActionApprove, "unsupported-only", ""},
		{"token required beats chain optional", "verify: {chains: {ETH: optional}, tokens: {ETH: required}}\n", approveUnsupported,
			func(t *testing.T) *protocol.Request { return unsupportedWithPath(t, unsupported, "m/44/144/0/0/0") }, protocol.ActionReject, RuleVerify, "unsupported"},
		{"default optional", "verify: {default: optional}\n", approveUnsupported,
			func(t *testing.T) *protocol.Request { return unsupportedWithPath(t, unsupported, "m/44/144/0/0/0") }, protocol.ActionApprove, "unsupported-only", ""},
		{"another token's optional does not apply", "verify: {tokens: {XRP: optional}}\n", approveUnsupported,
			func(t *testing.T) *protocol.Request { return unsupportedWithPath(t, unsupported, "m/44/144/0/0/0") }, protocol.ActionReject, RuleVerify, "unsupported"},
		{"a disagreement is never optional", "verify: {default: optional}\n", approveAll,
			func(t *testing.T) *protocol.Request { return withVerification(t, failed, "") }, protocol.ActionReject, RuleVerify, "amount"},
		{"a relabelled transaction (the verifier's failure, not unsupported) is never optional", "verify: {default: optional}\n", approveAll,
			func(t *testing.T) *protocol.Request {
				return withVerification(t, &protocol.Verification{Reason: "bip32_path_list: token_id XRP has no decoder, but derivation path m/44/60/0/0/0 signs for coin type 60"}, "")
			}, protocol.ActionReject, RuleVerify, "coin type 60"},
		{"the gate trusts Unsupported, not the path: the verifier owns coin types", "verify: {default: optional}\n", approveAll,
			func(t *testing.T) *protocol.Request { return unsupportedWithPath(t, unsupported, "m/44'/60'/0'/0/0") }, protocol.ActionApprove, "any", ""},
		{"other types are not gated", "", `
  - name: keygen
    when: request.type == "KEYGEN"
    action: approve
`, func(t *testing.T) *protocol.Request { return request(t, protocol.V2, protocol.TypeKeyGen, "", "") }, protocol.ActionApprove, "keygen", ""},
		{"decoded facts and bytes-derived destinations", "", `
  - name: facts
    when: >
      tx.verified && tx.decoded.chain == "evm" && tx.decoded.tx_type == "legacy" &&
      tx.decoded.method == "native_transfer" && tx.decoded.chain_id == "1" && tx.decoded.nonce == 7 &&
      tx.decoded.destinations[0].address == "0x0f76f604fd7762bd94b48ca2523f69ab9665c97f" &&
      tx.destinations[0].address == "0x0f76f604fd7762bd94b48ca2523f69ab9665c97f" &&
      tx.amount == decimal("0.0001") && tx.decoded.reason == ""
    action: approve
`, func(t *testing.T) *protocol.Request { return withVerification(t, good, "") }, protocol.ActionApprove, "facts", ""},
		{"unverified: decoded is empty and nonce is -1", "verify: {default: optional}\n", `
  - name: empty
    when: tx.decoded.chain == "" && tx.decoded.nonce == -1 && size(tx.decoded.destinations) == 0
    action: approve
`, func(t *testing.T) *protocol.Request {
			return unsupportedWithPath(t, &protocol.Verification{Unsupported: true}, "m/44/144/0/0/0")
		}, protocol.ActionApprove, "empty", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParse(t, "version: 1\n"+tc.top+"rules:\n"+tc.rules, "")
			d := decide(t, p, tc.req(t))
			if d.Action != tc.wantAction || d.Rule != tc.wantRule || !strings.Contains(d.Reason, tc.wantReason) {
				t.Fatalf("got %s by %q (%q), want %s by %q (~%q)", d.Action, d.Rule, d.Reason, tc.wantAction, tc.wantRule, tc.wantReason)
			}
		})
	}
}

func TestVerifySectionErrors(t *testing.T) {
	tests := []struct{ name, top, want string }{
		{"bad default", "verify: {default: maybe}\n", "test.yaml:2: verify.default: must be required or optional"},
		{"bad token mode", "verify:\n  tokens: {ETH: yes}\n", "test.yaml:3: verify.tokens.ETH: must be required or optional"},
		{"unknown key", "verify:\n  tokenz: {}\n", "test.yaml:3: verify: tokenz: unknown key"},
		{"not a mapping", "verify: required\n", "test.yaml:2: verify: must be a mapping"},
		{"tokens not a mapping", "verify:\n  tokens: [ETH]\n", "test.yaml:3: verify.tokens: must be a mapping"},
		{"duplicate token", "verify:\n  tokens: {ETH: optional, eth: required}\n", "verify.tokens.eth: duplicate key (as ETH"},
		{"token key with a space", "verify:\n  tokens: {\"XRP \": optional}\n", `verify.tokens: key "XRP " must be printable ASCII`},
		{"chain key with a look-alike", "verify:\n  chains: {\"B\u0422C\": optional}\n", "verify.chains: key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := parseErr(t, "version: 1\n"+tc.top+"rules: []\n", "")
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q, want %q", msg, tc.want)
			}
		})
	}
}

func TestMaxFee(t *testing.T) {
	feeRule := "version: 1\nverify: {default: optional}\nrules:\n  - name: cheap\n    when: tx.decoded.max_fee <= decimal(\"0.01\")\n    action: approve\n"
	p := mustParse(t, feeRule, "")
	known := &protocol.Verification{Verified: true, Token: "ETH", CoboChainID: "ETH", MaxFee: decimal.MustParse("0.000016909920699"), MaxFeeKnown: true,
		Destinations: []protocol.Destination{{Address: "0x0f76f604fd7762bd94b48ca2523f69ab9665c97f", Amount: decimal.MustParse("0.0001")}}}
	if d := decide(t, p, withVerification(t, known, "")); !d.Approves() {
		t.Fatalf("known small fee: %+v", d)
	}
	expensive := *known
	expensive.MaxFee = decimal.MustParse("21000")
	if d := decide(t, p, withVerification(t, &expensive, "")); d.Approves() {
		t.Fatalf("21000 ETH of fees approved: %+v", d)
	}
	// Unknown fee (an unsupported token under optional verification):
	// reading it errors, so the rule rejects instead of comparing zero.
	unknown := unsupportedWithPath(t, &protocol.Verification{Unsupported: true}, "m/44/144/0/0/0")
	if d := decide(t, p, unknown); d.Approves() || d.Rule != "cheap" || !strings.Contains(d.Reason, "max_fee is unknown") {
		t.Fatalf("unknown fee: %+v", d)
	}
}

// TestTRONFeeCapRejects: a TRON transaction's fee_limit caps its energy
// fee only (bandwidth and the memo fee come on top), so tx.decoded.max_fee
// is unknown on TRON and a fee cap rejects a genuine, verified TRC-20
// transfer instead of approving it on fee_limit. The ETH vector through
// the same rule and path is the control: the cap itself approves.
func TestTRONFeeCapRejects(t *testing.T) {
	p := mustParse(t, "version: 1\nrules:\n  - name: cheap\n    when: tx.verified && tx.decoded.max_fee <= decimal(\"100\")\n    action: approve\n", "")
	vectors := map[string]factVector{}
	for _, v := range loadFactVectors(t) {
		vectors[v.Name] = v
	}
	tests := []struct {
		name    string
		vector  string
		approve bool
	}{
		{name: "ETH: gas limit x price is a bound", vector: "eth_legacy_transfer", approve: true},
		{name: "TRON TRC-20: fee_limit is not a bound", vector: "tron_trc20_usdt_transfer"},
		{name: "TRON TRX transfer: neither is its fee_limit", vector: "tron_trx_transfer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := vectors[tt.vector]
			if !ok {
				t.Fatalf("no vector %s", tt.vector)
			}
			d, _ := genuine(t, v)
			req, err := build(t, v, d)
			if err != nil {
				t.Fatal(err)
			}
			if !req.Verification.Verified {
				t.Fatalf("vector %s does not verify: %s", v.Name, req.Verification.Reason)
			}
			dec := decide(t, p, req)
			if tt.approve {
				if !dec.Approves() {
					t.Fatalf("fee cap did not approve: %+v", dec)
				}
				return
			}
			if dec.Approves() || dec.Action != protocol.ActionReject || dec.Rule != "cheap" || !strings.Contains(dec.Reason, "max_fee is unknown") {
				t.Fatalf("fee cap on an unknown TRON fee: %+v, want a reject by the rule's error", dec)
			}
		})
	}
}

// == and != between a decimal and a run-time-typed value are refused at
// load: an int on the left would silently compare "not equal".
func TestMixedDecimalEqualityRefused(t *testing.T) {
	for _, when := range []string{`detail.threshold != decimal("0")`, `decimal("2") == detail.threshold`} {
		msg := parseErr(t, "version: 1\nrules:\n  - {name: r, action: approve, when: '"+when+"'}\n", "")
		if !strings.Contains(msg, "comparing a decimal with dyn") {
			t.Errorf("%s: error %q", when, msg)
		}
	}
	// The explicit conversion is exact and allowed.
	p := mustParse(t, "version: 1\nrules:\n  - {name: r, action: approve, when: 'decimal(detail.threshold) == decimal(\"2\")'}\n", "")
	if d := decide(t, p, request(t, protocol.V2, protocol.TypeKeyGen, "", "")); !d.Approves() {
		t.Fatalf("decision %+v", d)
	}
}

// TestVerifyOptionalWarnings: `optional` for a token or chain tssgate
// verifies loads, with a warning naming the file and line (and shown by
// policy check); a token without a decoder gets none.
func TestVerifyOptionalWarnings(t *testing.T) {
	p := mustParse(t, policyWith("verify:\n  tokens: {BTC: optional, XRP: optional}\n  chains: {SIGNET_BTC: optional}\n", `
  - name: any
    when: request.type == "KEYSIGN"
    action: approve
`), "")
	w := p.Summary().Warnings
	if len(w) != 2 || !strings.Contains(w[0], ":3: verify.tokens.BTC: optional has no effect") || !strings.Contains(w[1], "verify.chains.SIGNET_BTC") {
		t.Fatalf("warnings %q", w)
	}
	if !strings.Contains(p.Summary().String(), "warning: ") {
		t.Fatal("Summary.String does not show the warnings")
	}
}
