package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tssgate/internal/protocol"
)

// Issue 8 end to end: the real verifier (realVerify, as the server runs
// it) in front of the policy. Each case is one set of signed bytes with a
// second spelling of the same facts that used to reach an APPROVE.

// verifiedRequest is request() with the real verification instead of the
// engine tests' assumed one.
func verifiedRequest(t *testing.T, v protocol.Version, detailPatch, extraPatch string) *protocol.Request {
	t.Helper()
	req := request(t, v, protocol.TypeKeySign, detailPatch, extraPatch)
	req.Verification = realVerify(req)
	return req
}

// Finding 5: with XRP optional, ETH bytes labelled XRP are refused however
// the ETH path is spelled, and when the paths are missing.
func TestRelabelledTransactionRejectedForEveryPathSpelling(t *testing.T) {
	p := mustParse(t, policyWith("verify: {tokens: {XRP: optional}}\n", `
  - name: any
    when: request.type == "KEYSIGN"
    action: approve
`), "")
	const asXRP = `{"transaction": {"token_id": "XRP", "chain_id": "XRP"}}`
	tests := []struct {
		name   string
		detail string
		want   protocol.Action
		reason string
	}{
		{"m/ path", `{"bip32_path_list": ["m/44/60/0/0/0"]}`, protocol.ActionReject, "coin type 60"},
		{"path without m/", `{"bip32_path_list": ["44/60/0/0/0"]}`, protocol.ActionReject, "coin type 60"},
		{"hardened path", `{"bip32_path_list": ["m/44'/60'/0'/0/0"]}`, protocol.ActionReject, "coin type 60"},
		{"hex coin type", `{"bip32_path_list": ["m/44/0x3c/0/0/0"]}`, protocol.ActionReject, "not a BIP-32 path"},
		{"empty bip32_path_list", `{"bip32_path_list": []}`, protocol.ActionReject, "bip32_path_list: is empty"},
		{"no bip32_path_list", `{"bip32_path_list": null}`, protocol.ActionReject, "bip32_path_list: is empty"},
		// The control: a XRP path is what optional is for.
		{"XRP path", `{"bip32_path_list": ["m/44/144/0/0/0"]}`, protocol.ActionApprove, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(t, p, verifiedRequest(t, protocol.V2, tt.detail, asXRP))
			if d.Action != tt.want || !strings.Contains(d.Reason, tt.reason) {
				t.Fatalf("got %s by %q (%q), want %s (~%q)", d.Action, d.Rule, d.Reason, tt.want, tt.reason)
			}
			if tt.want == protocol.ActionReject && d.Rule != RuleVerify {
				t.Fatalf("rejected by %q, want %q", d.Rule, RuleVerify)
			}
		})
	}
}

// Findings 3 and 7: tx.chain_id, tx.token_id and tx.msg_hashes are the
// table's and the bytes' spelling, v1 included; a description spelling
// chain_id differently never reaches the rules.
func TestTxFactsAreCanonical(t *testing.T) {
	p := mustParse(t, policyWith("", `
  - name: eth-rule
    when: >
      tx.verified && tx.chain_id == "ETH" && tx.token_id == "ETH" &&
      tx.msg_hashes == ["1acf0342f77d22389a9cf6524a2af14dc420928d2942efe0dc0764be2ea5321b"] &&
      tx.destinations.all(d, d.token_account == "")
    action: approve
`), "")
	const upperHash = `{"msg_hash_list": ["0X1ACF0342F77D22389A9CF6524A2AF14DC420928D2942EFE0DC0764BE2EA5321B"]}`
	tests := []struct {
		name   string
		v      protocol.Version
		detail string
		extra  string
		want   protocol.Action
		rule   string
	}{
		{"v2 as the table spells it", protocol.V2, "", "", protocol.ActionApprove, "eth-rule"},
		{"v2 hash upper case with 0X", protocol.V2, upperHash, "", protocol.ActionApprove, "eth-rule"},
		{"v1 has the entry's chain_id", protocol.V1, "", "", protocol.ActionApprove, "eth-rule"},
		{"v1 hash upper case", protocol.V1, upperHash, "", protocol.ActionApprove, "eth-rule"},
		{"chain_id lower case", protocol.V2, "", `{"transaction": {"chain_id": "eth"}}`, protocol.ActionReject, RuleVerify},
		{"chain_id empty", protocol.V2, "", `{"transaction": {"chain_id": ""}}`, protocol.ActionReject, RuleVerify},
		{"chain_id absent", protocol.V2, "", `{"transaction": {"chain_id": null}}`, protocol.ActionReject, RuleVerify},
		{"hash twice", protocol.V2, `{"msg_hash_list": ["0x1acf0342f77d22389a9cf6524a2af14dc420928d2942efe0dc0764be2ea5321b", "1ACF0342F77D22389A9CF6524A2AF14DC420928D2942EFE0DC0764BE2EA5321B"], "bip32_path_list": ["m/44/60/0/0/0", "m/44/60/0/0/0"]}`, "", protocol.ActionReject, RuleVerify},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(t, p, verifiedRequest(t, tt.v, tt.detail, tt.extra))
			if d.Action != tt.want || d.Rule != tt.rule {
				t.Fatalf("got %s by %q (%q), want %s by %q", d.Action, d.Rule, d.Reason, tt.want, tt.rule)
			}
		})
	}
}

// Finding 1: an SPL transfer's recipient is its owner wallet, with the
// credited token account beside it, so a blocklist of owners holds
// whichever account the description named.
func TestSPLRecipientIsTheOwner(t *testing.T) {
	const (
		owner   = "8bJaa7p816rKnPSGTsZdWBDkAmsuKDnoEYzLRwrsuFV6"
		account = "2VpLnZpPENF5rcmSkFnA4TGE4oPRe9W9za2TW32MZZd2"
	)
	raw, hash := splVector(t)
	p := mustParse(t, policyWith("lists: {blocked: [\""+owner+"\"]}\n", `
  - name: blocked
    when: tx.destinations.exists(d, d.address in lists.blocked)
    action: reject
    reason: blocked recipient
  - name: shape
    when: >
      tx.verified && tx.token_id == "SOL_USDC" && tx.chain_id == "SOL" &&
      tx.destinations.all(d, d.token_account == "`+account+`") &&
      tx.decoded.destinations.all(d, d.address == "`+owner+`" && d.token_account == "`+account+`")
    action: approve
`), "")
	extra := func(addr string) string {
		return `{"transaction": {"token_id": "SOL_USDC", "chain_id": "SOL",
			"destination": {"destination_type": "Address", "account_output": {"address": "` + addr + `", "amount": "2"}},
			"raw_tx_info": {"unsigned_raw_tx": "` + raw + `"}}}`
	}
	detail := `{"msg_hash_list": ["` + hash + `"], "bip32_path_list": ["m/44/501/0/0/0"]}`
	tests := []struct {
		name   string
		addr   string
		rule   string
		reason string
	}{
		{"described by the owner: the blocklist holds", owner, "blocked", "blocked recipient"},
		{"described by the token account: unverified", account, RuleVerify, "owner of a token account cannot be proven"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(t, p, verifiedRequest(t, protocol.V2, detail, extra(tt.addr)))
			if d.Approves() || d.Rule != tt.rule || !strings.Contains(d.Reason, tt.reason) {
				t.Fatalf("got %s by %q (%q), want REJECT by %q (~%q)", d.Action, d.Rule, d.Reason, tt.rule, tt.reason)
			}
		})
	}
	// Without the owner on the list, the same bytes approve and the rule
	// sees owner and token account as separate fields.
	open := mustParse(t, policyWith("", `
  - name: shape
    when: >
      tx.verified && tx.token_id == "SOL_USDC" && tx.chain_id == "SOL" &&
      tx.destinations.map(d, d.address) == ["`+owner+`"] &&
      tx.destinations.all(d, d.token_account == "`+account+`") &&
      tx.decoded.destinations.all(d, d.address == "`+owner+`" && d.token_account == "`+account+`")
    action: approve
`), "")
	if d := decide(t, open, verifiedRequest(t, protocol.V2, detail, extra(owner))); !d.Approves() || d.Rule != "shape" {
		t.Fatalf("got %s by %q (%q)", d.Action, d.Rule, d.Reason)
	}
}

// splVector reads the public SOL_USDC TransferChecked vector from the
// verifier's testdata (inside the module).
func splVector(t *testing.T) (rawTx, msgHash string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "txverify", "testdata", "keysign-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			Name          string `json:"name"`
			UnsignedRawTx string `json:"unsigned_raw_tx"`
			MsgHash       string `json:"msg_hash"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	for _, v := range file.Vectors {
		if v.Name == "sol_spl_usdc_transfer_checked" {
			return v.UnsignedRawTx, v.MsgHash
		}
	}
	t.Fatal("no sol_spl_usdc_transfer_checked vector")
	return "", ""
}
