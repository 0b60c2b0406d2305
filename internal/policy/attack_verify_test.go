package policy

import (
	"strings"
	"testing"

	"tssgate/internal/protocol"
)

// Attack: verify.tokens and verify.chains are looked up case-insensitively
// (verifySpec.mode upper-cases the description's token_id and chain_id),
// but an unverified transaction's tx.token_id and tx.chain_id are the
// description's spelling, unchanged. With `verify: {tokens: {XRP:
// optional}}` a description that says "xrp" (or "Xrp") passes the
// verification gate as XRP while every rule and limit written for "XRP"
// misses it: one value, two spellings, the class issue 8 set out to close.
// The verifier cannot catch it: XRP is not in the token table, so there is
// no table spelling to enforce. Secure behaviour: the same request under
// any spelling of the optional token_id (or chain_id) gets the same
// decision as under the configured spelling (here: REJECT by the cap).
func TestAttackOptionalTokenIDSpellingDodgesRules(t *testing.T) {
	const rules = `
  - name: btc-cap
    when: request.type == "KEYSIGN" && tx.token_id == "XRP" && tx.amount > decimal("1")
    action: reject
    reason: "XRP over 1 per transaction"
  - name: btc-chain-cap
    when: request.type == "KEYSIGN" && tx.chain_id == "XRP" && tx.amount > decimal("1")
    action: reject
    reason: "XRP chain over 1 per transaction"
  - name: payouts
    when: request.type == "KEYSIGN"
    action: approve
`
	xrpPath := `{"bip32_path_list": ["m/44/144/0/0/0"]}`
	as := func(tokenID, chainID string) string {
		return `{"transaction": {"token_id": "` + tokenID + `", "chain_id": "` + chainID + `",
			"destination": {"account_output": {"address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "amount": "50"}}}}`
	}
	cases := []struct {
		name, verify, tokenID, chainID string
	}{
		{"control: token XRP", "verify: {tokens: {XRP: optional}}\n", "XRP", "XRP"},
		{"token xrp", "verify: {tokens: {XRP: optional}}\n", "xrp", "XRP"},
		{"token Xrp, chain xrp", "verify: {tokens: {XRP: optional}}\n", "Xrp", "xrp"},
		{"control: chain XRP", "verify: {chains: {XRP: optional}}\n", "XRP", "XRP"},
		{"chain xrp, token unknown", "verify: {chains: {XRP: optional}}\n", "XRP_NATIVE", "xrp"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, policyWith(tt.verify, rules), "")
			req := verifiedRequest(t, protocol.V2, xrpPath, as(tt.tokenID, tt.chainID))
			if req.Verification == nil || !req.Verification.Unsupported {
				t.Fatalf("premise: want an unsupported (no decoder) verification, got %+v", req.Verification)
			}
			d := decide(t, p, req)
			if d.Action == protocol.ActionApprove {
				t.Fatalf("50 %s (chain_id %q) APPROVED by %q: the XRP caps were dodged by spelling; the gate treated %q as the optional %s",
					tt.tokenID, tt.chainID, d.Rule, tt.tokenID, strings.TrimSuffix(strings.TrimPrefix(tt.verify, "verify: "), "\n"))
			}
		})
	}
}

// Confirmation (claim holds): for tokens in the table, every variant
// spelling of token_id and chain_id is refused before any rule, and a
// verified transaction reports the table's spelling.
func TestAttackTableSpellingsConfirm(t *testing.T) {
	p := mustParse(t, policyWith("verify: {default: optional}\n", `
  - name: any
    when: request.type == "KEYSIGN"
    action: approve
`), "")
	for _, tc := range []struct{ token, chain string }{
		{"eth", "ETH"}, {"ETH ", "ETH"}, {"ETH", "eth"}, {"ETH", "ETH "}, {"ETH", "\u0415TH"}, {"\u0415TH", "ETH"}, {"ETH", ""}, {"E\u200bTH", "ETH"},
	} {
		t.Run(tc.token+"/"+tc.chain, func(t *testing.T) {
			req := verifiedRequest(t, protocol.V2, "", `{"transaction": {"token_id": "`+tc.token+`", "chain_id": "`+tc.chain+`"}}`)
			if d := decide(t, p, req); d.Action == protocol.ActionApprove {
				t.Fatalf("APPROVED token_id %q chain_id %q (verification %+v)", tc.token, tc.chain, req.Verification)
			}
		})
	}
	// The genuine spelling verifies and reads the table's.
	req := verifiedRequest(t, protocol.V2, "", "")
	if v := req.Verification; v == nil || !v.Verified || v.Token != "ETH" || v.CoboChainID != "ETH" {
		t.Fatalf("sample does not verify: %+v", v)
	}
}
