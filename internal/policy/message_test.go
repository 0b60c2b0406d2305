package policy

import (
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tssgate/internal/protocol"
	"tssgate/internal/txverify"
)

// messageFixture is one entry of testdata/message-vectors.json.
type messageFixture struct {
	Name        string         `json:"name"`
	Transaction map[string]any `json:"transaction"`
	Destination map[string]any `json:"destination"`
	MsgHashList []string       `json:"msg_hash_list"`
}

func loadMessageFixtures(t *testing.T) map[string]messageFixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "message-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []messageFixture `json:"vectors"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	out := map[string]messageFixture{}
	for _, v := range file.Vectors {
		out[v.Name] = v
	}
	return out
}

// messageSignRequest is the v2 KEYSIGN sample carrying fixture v as a
// MessageSign, verified by the built-in registry plus BSC.
func messageSignRequest(t *testing.T, v messageFixture) *protocol.Request {
	t.Helper()
	token, chain, signer := "ETH", "ETH", "0xeea5e4a7c69e4d747a693b6fbd4211ae4843da39"
	if v.Transaction != nil {
		token, chain = v.Transaction["token_id"].(string), v.Transaction["chain_id"].(string)
		signer = v.Transaction["source"].(map[string]any)["address"].(string)
	}
	dest := map[string]any{"account_output": nil}
	for k, x := range v.Destination {
		dest[k] = x
	}
	patch := map[string]any{"transaction": map[string]any{
		"type": "MessageSign", "token_id": token, "chain_id": chain,
		"source":      map[string]any{"address": signer},
		"destination": dest,
		"raw_tx_info": map[string]any{"unsigned_raw_tx": ""},
	}}
	extra, _ := json.Marshal(patch)
	detail, _ := json.Marshal(map[string]any{"msg_hash_list": v.MsgHashList, "bip32_path_list": []string{"m/44/60/0/0/0"}})
	req := request(t, protocol.V2, protocol.TypeKeySign, string(detail), string(extra))
	reg, err := txverify.DefaultRegistry().With(txverify.Token{TokenID: "BSC_BNB", Chain: txverify.ChainEVM, ChainID: "BSC_BNB", Decimals: 18, EVMChainID: big.NewInt(56)})
	if err != nil {
		t.Fatal(err)
	}
	req.Verification = reg.Verify(req).Verification()
	return req
}

// TestMessageAndCallFacts reads tx.message and tx.call through CEL: each
// expression either holds (the rule approves) or errors naming why (the
// rule rejects), never silently false.
func TestMessageAndCallFacts(t *testing.T) {
	fx := loadMessageFixtures(t)
	safe := messageSignRequest(t, fx["eip712_cobo_safe_multisend_bsc"])
	mail := messageSignRequest(t, fx["eip712_spec_mail"])
	login := messageSignRequest(t, fx["eip191_cobo_v1_doc_example"])
	transfer := request(t, protocol.V2, protocol.TypeKeySign, "", "")
	transfer.Verification = txverify.DefaultRegistry().Verify(transfer).Verification()
	var call *protocol.Request
	for _, v := range loadFactVectors(t) {
		if v.Name == "eth_eip1559_sepolia" {
			d, _ := genuine(t, v)
			var err error
			if call, err = build(t, v, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, r := range []*protocol.Request{safe, mail, login, transfer, call} {
		if r.Verification == nil || !r.Verification.Verified {
			t.Fatalf("fixture not verified: %+v", r.Verification)
		}
	}
	cases := []struct {
		name  string
		req   *protocol.Request
		when  string
		error string // "": the expression holds
	}{
		{"safe domain and canonical values", safe, `tx.message.kind == "eip712" && tx.message.domain.chain_id == "56" &&
			tx.message.domain.verifying_contract == "0xd8754ce245e4dad365e0ca6cf62d519aafc447a8" && tx.message.primary_type == "SafeTx" &&
			decimal(tx.message.message.operation) == decimal("1") && tx.message.message.to == "0x9641d764fc13c8b624c04430c7356c1c7c8102e2" &&
			tx.message.message.data.startsWith("0x8d80ff0a") && !tx.message.unlimited && tx.chain_id == "BSC_BNB" && tx.verified &&
			tx.message.signer == "0x5393209fc04e4df32c023d9487fed571dd0b09b2" && tx.decoded.method == "sign_message" && size(tx.destinations) == 0`, ""},
		{"safe is no permit", safe, `tx.message.permit.spender == ""`, "not a recognised permit"},
		{"typed data has no text", safe, `tx.message.text == ""`, "not set for EIP-712"},
		{"mail nested struct", mail, `tx.message.message.from.wallet == "0xcd2a3d9f938e13cd947ec05abc7fe734df8dd826" && tx.message.domain.name == "Ether Mail" && size(tx.message.undeclared) == 0`, ""},
		{"eip191 text and hex", login, `tx.message.kind == "eip191" && tx.message.text == "aaaa" && tx.message.hex == "0x61616161"`, ""},
		{"eip191 has no domain", login, `tx.message.domain.name == ""`, "only set for EIP-712"},
		{"transfer has no message", transfer, `tx.message.kind == "eip191"`, "only set for a verified message"},
		{"transfer has no call", transfer, `tx.call.method == ""`, "only set for a verified contract call"},
		{"unknown selector", call, `tx.call.selector == "0x11223344" && tx.call.method == "" && tx.call.contract == "0x47f95183e513da1c599e76611dcb00304d07b6a0"`, ""},
		{"unknown selector has no args", call, `tx.call.args.x == 1`, "not in any ABI"},
		// Unknown, not none: "no unlimited grant" must not pass.
		{"unknown selector has no grants", call, `!tx.call.grants.exists(g, g.all)`, "tx.call.grants is not set"},
		{"unknown selector grants size", call, `size(tx.call.grants) == 0`, "tx.call.grants is not set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParse(t, policyWith("default: reject\n", "  - name: r\n    when: >\n      "+strings.ReplaceAll(tc.when, "\n", " ")+"\n    action: approve\n"), "")
			d := decide(t, p, tc.req)
			if tc.error == "" {
				if d.Action != protocol.ActionApprove {
					t.Fatalf("%s: %s %s", d.Action, d.Rule, d.Reason)
				}
				return
			}
			if d.Action == protocol.ActionApprove || d.Rule != "r" || !strings.Contains(d.Reason, tc.error) {
				t.Fatalf("got %s by %s (%s), want an error containing %q", d.Action, d.Rule, d.Reason, tc.error)
			}
		})
	}
}

// TestSameMessageSameFacts: every spelling of one signed typed message
// that verifies (structured_data, raw_structured_data or both; chainId as
// a number, a decimal or a hex string; the verifying contract in any case;
// the nonce in any spelling; the hash with or without 0x, in any case)
// gives the same bound facts.
func TestSameMessageSameFacts(t *testing.T) {
	table := readmeFactTable(t)
	base := loadMessageFixtures(t)["eip712_cobo_safe_onchain_rejection_eth"]
	typed := base.Destination["structured_data"].(map[string]any)
	digest := strings.TrimPrefix(base.MsgHashList[0], "0x")
	var first map[string]string
	n := 0
	for _, form := range []string{"structured", "raw", "both"} {
		for _, chainID := range []any{"0x1", json.Number("1"), "1", "0x01"} {
			for _, vc := range []string{"0x193FBEf6230867a3a64012916a8710BF25E7118f", "0x193fbef6230867a3a64012916a8710bf25e7118f", "0x193FBEF6230867A3A64012916A8710BF25E7118F"} {
				for _, nonce := range []any{"6", json.Number("6"), "0x6"} {
					for _, hash := range []string{"0x" + digest, digest, "0x" + strings.ToUpper(digest)} {
						var td map[string]any
						b, _ := json.Marshal(typed)
						d := json.NewDecoder(strings.NewReader(string(b)))
						d.UseNumber()
						if err := d.Decode(&td); err != nil {
							t.Fatal(err)
						}
						td["domain"].(map[string]any)["chainId"] = chainID
						td["domain"].(map[string]any)["verifyingContract"] = vc
						td["message"].(map[string]any)["nonce"] = nonce
						dest := map[string]any{"destination_type": "EVM_EIP_712_Signature"}
						raw, _ := json.Marshal(td)
						switch form {
						case "structured":
							dest["structured_data"] = td
						case "raw":
							dest["raw_structured_data"] = string(raw)
						default:
							dest["structured_data"], dest["raw_structured_data"] = td, string(raw)
						}
						v := base
						v.Destination, v.MsgHashList = dest, []string{hash}
						req := messageSignRequest(t, v)
						if !req.Verification.Verified {
							t.Fatalf("%s chainId %v: not verified: %s", form, chainID, req.Verification.Reason)
						}
						facts := boundFacts(factsOf(txValue(req)), table)
						if first == nil {
							first = facts
						} else if diff := diffFacts(first, facts); diff != "" {
							t.Fatalf("%s chainId %v contract %s nonce %v hash %s: facts differ: %s", form, chainID, vc, nonce, hash, diff)
						}
						n++
					}
				}
			}
		}
	}
	if n != 324 || first["tx.message.domain.chain_id"] != `"1"` || first["tx.message.message"] == "" {
		t.Fatalf("%d spellings; facts %v", n, first)
	}
}

// TestMessagesRefusedWhateverVerifySays: a bare hash, an unknown message
// type or a message under a token without a decoder is never "a token
// tssgate cannot decode", so verify: optional (even as the default) does
// not let a rule approve it.
func TestMessagesRefusedWhateverVerifySays(t *testing.T) {
	fx := loadMessageFixtures(t)
	p := mustParse(t, policyWith("default: approve\nverify: {default: optional, tokens: {BTC: optional, FOO: optional}}\n",
		"  - name: everything\n    when: request.type == \"KEYSIGN\"\n    action: approve\n"), "")
	raw := fx["raw_message_signature_must_reject"]
	mail := fx["eip712_spec_mail"]
	cases := []struct {
		name  string
		v     messageFixture
		token string
		dest  map[string]any
	}{
		{"raw hash under BTC", raw, "BTC", nil},
		{"raw hash under a token without a decoder", raw, "FOO", nil},
		{"BTC EIP-191 hash", raw, "BTC", map[string]any{"destination_type": "BTC_EIP_191_Signature", "msg_hash": "17fd5ef96dbc156f87366cea21c9c3779b6b5f75babfba62915ac9498b828864"}},
		{"unknown message type", mail, "ETH", map[string]any{"destination_type": "EVM_EIP_4361_Signature", "message": "YWFhYQ=="}},
		{"typed data under a token without a decoder", mail, "FOO", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.v
			v.Transaction = map[string]any{"token_id": tc.token, "chain_id": tc.token, "source": map[string]any{"address": "0xeea5e4a7c69e4d747a693b6fbd4211ae4843da39"}}
			if tc.dest != nil {
				v.Destination = tc.dest
			}
			req := messageSignRequest(t, v)
			if req.Verification.Verified || req.Verification.Unsupported {
				t.Fatalf("verification %+v", req.Verification)
			}
			if d := decide(t, p, req); d.Action == protocol.ActionApprove || d.Rule != "verify" {
				t.Fatalf("got %s by %s (%s), want a REJECT by verify", d.Action, d.Rule, d.Reason)
			}
		})
	}
}
