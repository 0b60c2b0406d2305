package txverify

import (
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tssgate/internal/btc"
	"tssgate/internal/protocol"
)

// messageVectorFile is a copy of /work/shared/testdata/message-vectors.json
// (PROTOCOL.md 12.4: Cobo's EIP-191 examples, the EIP-712 Mail example,
// two Cobo Safe records, the BIP-322 vectors and a raw-hash refusal).
var messageVectorFile = filepath.Join("testdata", "message-vectors.json")

type messageVector struct {
	Name          string          `json:"name"`
	Kind          string          `json:"kind"`
	Transaction   map[string]any  `json:"transaction"`
	Destination   map[string]any  `json:"destination"`
	SourceAddress string          `json:"source_address"`
	Digest        string          `json:"digest"`
	DigestAll     string          `json:"digest_sighash_all"`
	MsgHashList   []string        `json:"msg_hash_list"`
	MessageUTF8   *string         `json:"message_utf8"`
	Expected      json.RawMessage `json:"expected"`
}

func loadMessageVectors(t testing.TB) map[string]messageVector {
	t.Helper()
	b, err := os.ReadFile(messageVectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []messageVector `json:"vectors"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	out := map[string]messageVector{}
	for _, v := range file.Vectors {
		out[v.Name] = v
	}
	return out
}

// msgDesc is a MessageSign KEYSIGN as a test builds it.
type msgDesc struct {
	tokenID, chainID, txType string
	signer                   string
	dest                     map[string]any
	hashes                   []string
	paths                    []string
}

// messageRequest puts d into the built-in v2 KEYSIGN sample and decodes it
// as the server does.
func messageRequest(t testing.TB, d msgDesc) *protocol.Request {
	t.Helper()
	detail, extra, err := protocol.Sample(protocol.V2, protocol.TypeKeySign)
	if err != nil {
		t.Fatal(err)
	}
	var dm, xm map[string]any
	mustUnmarshal(t, detail, &dm)
	mustUnmarshal(t, extra, &xm)
	hashes := make([]any, len(d.hashes))
	paths := make([]any, len(d.hashes))
	for i, h := range d.hashes {
		hashes[i] = h
		paths[i] = "m/44/60/0/0/0"
	}
	for i, p := range d.paths {
		paths[i] = p
	}
	dm["msg_hash_list"], dm["bip32_path_list"] = hashes, paths
	tx := xm["transaction"].(map[string]any)
	tx["token_id"], tx["chain_id"] = d.tokenID, d.chainID
	tx["type"] = "MessageSign"
	if d.txType != "" {
		tx["type"] = d.txType
	}
	delete(tx, "raw_tx_info")
	src := tx["source"].(map[string]any)
	src["address"] = d.signer
	tx["destination"] = d.dest
	return decodeRequest(t, protocol.V2, dm, xm)
}

// bscRegistry adds BSC's native coin for the BSC Safe record.
func bscRegistry(t testing.TB) *Registry {
	t.Helper()
	r, err := DefaultRegistry().With(Token{TokenID: "BSC_BNB", Chain: ChainEVM, ChainID: "BSC_BNB", Decimals: 18, EVMChainID: big.NewInt(56)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func vectorDesc(v messageVector) msgDesc {
	d := msgDesc{tokenID: "ETH", chainID: "ETH", dest: v.Destination, hashes: v.MsgHashList, signer: "0xd0ab4e9cac1cf79b35b886e1066b58806e64839f"}
	if v.Transaction != nil {
		d.tokenID, d.chainID = v.Transaction["token_id"].(string), v.Transaction["chain_id"].(string)
		d.signer = v.Transaction["source"].(map[string]any)["address"].(string)
	}
	switch v.Kind {
	case "bip322":
		d.tokenID, d.chainID, d.signer = "BTC", "BTC", v.SourceAddress
	case "raw":
		d.tokenID, d.chainID = "BTC", "BTC"
	}
	return d
}

func TestMessageVectors(t *testing.T) {
	reg := bscRegistry(t)
	for name, v := range loadMessageVectors(t) {
		t.Run(name, func(t *testing.T) {
			res := reg.Verify(messageRequest(t, vectorDesc(v)))
			switch v.Kind {
			case "raw":
				if res.Verified || res.Unsupported || res.Field != "destination_type" {
					t.Fatalf("raw hash: got %+v, want a destination_type refusal", res)
				}
				return
			}
			if !res.Verified {
				t.Fatalf("not verified: %s", res.Reason)
			}
			m := res.Facts.Message
			if m == nil || m.Kind != v.Kind {
				t.Fatalf("message facts %+v, want kind %s", m, v.Kind)
			}
			if res.Facts.Hashes[0] != v.Digest {
				t.Errorf("hash %s, want %s", res.Facts.Hashes[0], v.Digest)
			}
			if v.MessageUTF8 != nil && (!m.TextValid || m.Text != *v.MessageUTF8) {
				t.Errorf("text %q (valid %v), want %q", m.Text, m.TextValid, *v.MessageUTF8)
			}
		})
	}
}

// TestSafeRecordFacts checks the canonical facts of the real BSC Safe
// record: chainId "0x38" becomes "56", operation "1" the integer 1, the
// verifying contract lower case.
func TestSafeRecordFacts(t *testing.T) {
	v := loadMessageVectors(t)["eip712_cobo_safe_multisend_bsc"]
	res := bscRegistry(t).Verify(messageRequest(t, vectorDesc(v)))
	if !res.Verified {
		t.Fatal(res.Reason)
	}
	m := res.Facts.Message
	if m.Domain.ChainID != "56" || m.Domain.VerifyingContract != "0xd8754ce245e4dad365e0ca6cf62d519aafc447a8" || m.PrimaryType != "SafeTx" {
		t.Errorf("domain %+v primary %s", m.Domain, m.PrimaryType)
	}
	if op := m.Message["operation"]; renderCanon(op) != "1" {
		t.Errorf("operation %v", op)
	}
	if m.Permit != nil || m.Unlimited {
		t.Errorf("a SafeTx is not a permit: %+v", m.Permit)
	}
	if res.TokenID != "BSC_BNB" || res.ChainID != "BSC_BNB" {
		t.Errorf("token %s chain %s", res.TokenID, res.ChainID)
	}
}

func renderCanon(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

// TestMessageTampers: each tamper fails on the right field.
func TestMessageTampers(t *testing.T) {
	vecs := loadMessageVectors(t)
	mail := vecs["eip712_spec_mail"]
	safe := vecs["eip712_cobo_safe_onchain_rejection_eth"]
	eip191 := vecs["eip191_cobo_v1_doc_example"]
	clone := func(m map[string]any) map[string]any {
		var out map[string]any
		b, _ := json.Marshal(m)
		_ = json.Unmarshal(b, &out)
		return out
	}
	sd := func(dest map[string]any) map[string]any { return dest["structured_data"].(map[string]any) }
	cases := []struct {
		name  string
		edit  func(d *msgDesc)
		field string
	}{
		{"value changed in structured_data only", func(d *msgDesc) {
			sd(d.dest)["message"].(map[string]any)["contents"] = "Hello, Eve!"
		}, "raw_structured_data"},
		{"chainId changed in both", func(d *msgDesc) {
			sd(d.dest)["domain"].(map[string]any)["chainId"] = 5
			delete(d.dest, "raw_structured_data")
		}, "msg_hash_list"},
		{"member reordered in types", func(d *msgDesc) {
			p := sd(d.dest)["types"].(map[string]any)["Person"].([]any)
			p[0], p[1] = p[1], p[0]
			delete(d.dest, "raw_structured_data")
		}, "msg_hash_list"},
		{"hash not the listed one", func(d *msgDesc) {
			d.hashes = []string{"0x" + strings.Repeat("ab", 32)}
		}, "msg_hash_list"},
		{"two hashes", func(d *msgDesc) {
			d.hashes = append(d.hashes, "0x"+strings.Repeat("cd", 32))
		}, "msg_hash_list"},
		{"missing EIP712Domain", func(d *msgDesc) {
			delete(sd(d.dest)["types"].(map[string]any), "EIP712Domain")
		}, "structured_data"},
		{"undeclared type", func(d *msgDesc) {
			sd(d.dest)["types"].(map[string]any)["Mail"].([]any)[0].(map[string]any)["type"] = "Persona"
		}, "structured_data"},
		{"cyclic type", func(d *msgDesc) {
			ts := sd(d.dest)["types"].(map[string]any)
			ts["Person"] = append(ts["Person"].([]any), map[string]any{"name": "boss", "type": "Mail"})
		}, "structured_data"},
		{"uint out of range", func(d *msgDesc) {
			sd(d.dest)["domain"].(map[string]any)["chainId"] = "-1"
		}, "structured_data"},
		{"null member", func(d *msgDesc) {
			sd(d.dest)["message"].(map[string]any)["contents"] = nil
		}, "structured_data"},
		{"neither form", func(d *msgDesc) {
			delete(d.dest, "raw_structured_data")
			delete(d.dest, "structured_data")
		}, "structured_data"},
		{"not a MessageSign", func(d *msgDesc) { d.txType = "ContractCall" }, "destination_type"},
		{"token not EVM", func(d *msgDesc) { d.tokenID, d.chainID = "BTC", "BTC" }, "token_id"},
		{"token contract", func(d *msgDesc) { d.tokenID = "ETH_USDT" }, "token_id"},
		{"chain_id spelled otherwise", func(d *msgDesc) { d.chainID = "eth" }, "chain_id"},
		{"unknown destination type", func(d *msgDesc) { d.dest["destination_type"] = "EVM_EIP_4361_Signature" }, "destination_type"},
		{"raw message", func(d *msgDesc) { d.dest["destination_type"] = "Raw_Message_Signature" }, "destination_type"},
		{"BTC EIP-191", func(d *msgDesc) { d.dest["destination_type"] = "BTC_EIP_191_Signature" }, "destination_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := vectorDesc(mail)
			d.dest = clone(mail.Destination)
			tc.edit(&d)
			res := DefaultRegistry().Verify(messageRequest(t, d))
			if res.Verified || res.Unsupported || res.Field != tc.field {
				t.Fatalf("got field %q (%s), want %s", res.Field, res.Reason, tc.field)
			}
		})
	}
	t.Run("safe record with operation Call", func(t *testing.T) {
		d := vectorDesc(safe)
		res := DefaultRegistry().Verify(messageRequest(t, d))
		if !res.Verified {
			t.Fatal(res.Reason)
		}
	})
	t.Run("EIP-191 keccak of bare message", func(t *testing.T) {
		d := vectorDesc(eip191)
		d.hashes = []string{"a80470dba00d5faf620fd6c51a1ca94668e13cd66fffaee3702f5497a8549053"}
		if res := DefaultRegistry().Verify(messageRequest(t, d)); res.Verified || res.Field != "msg_hash_list" {
			t.Fatalf("got %+v", res)
		}
	})
	t.Run("EIP-191 not base64", func(t *testing.T) {
		d := vectorDesc(eip191)
		d.dest = map[string]any{"destination_type": DestEIP191, "message": "YWFhYQ"}
		if res := DefaultRegistry().Verify(messageRequest(t, d)); res.Verified || res.Field != "message" {
			t.Fatalf("got %+v", res)
		}
	})
}

// TestBIP322 checks what the vectors do not: the P2TR SIGHASH_ALL
// alternative, a legacy or foreign address, and a message changed by one
// byte.
func TestBIP322(t *testing.T) {
	vecs := loadMessageVectors(t)
	p2tr, p2wpkh := vecs["bip322_simple_p2tr_no_prefix"], vecs["bip322_simple_p2wpkh_hello_world"]
	cases := []struct {
		name  string
		v     messageVector
		edit  func(d *msgDesc)
		field string
	}{
		{"P2TR SIGHASH_ALL", p2tr, func(d *msgDesc) { d.hashes = []string{"0x" + p2tr.DigestAll} }, ""},
		{"P2TR digest for another message", p2tr, func(d *msgDesc) {
			d.dest = map[string]any{"destination_type": DestBIP322, "message_bip322": "4e6f207072656669782066616c6c6261636c"}
		}, "msg_hash_list"},
		{"0x prefix", p2wpkh, func(d *msgDesc) {
			d.dest = map[string]any{"destination_type": DestBIP322, "message_bip322": "0x48656c6c6f20576f726c64"}
		}, ""},
		{"legacy P2PKH address", p2wpkh, func(d *msgDesc) { d.signer = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2" }, "source"},
		{"P2SH address", p2wpkh, func(d *msgDesc) { d.signer = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy" }, "source"},
		{"testnet address on mainnet", p2wpkh, func(d *msgDesc) { d.signer = testnetSigner(t) }, "source"},
		{"testnet address on testnet", p2wpkh, func(d *msgDesc) { d.signer, d.tokenID, d.chainID = testnetSigner(t), "XTN", "XTN" }, ""},
		{"litecoin", p2wpkh, func(d *msgDesc) { d.tokenID, d.chainID = "LTC", "LTC" }, "token_id"},
		{"under ETH", p2wpkh, func(d *msgDesc) { d.tokenID, d.chainID = "ETH", "ETH" }, "token_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := vectorDesc(tc.v)
			tc.edit(&d)
			res := DefaultRegistry().Verify(messageRequest(t, d))
			if tc.field == "" {
				if !res.Verified || res.Facts.Message.Kind != "bip322" {
					t.Fatalf("not verified: %s", res.Reason)
				}
				return
			}
			if res.Verified || res.Unsupported || res.Field != tc.field {
				t.Fatalf("got %q (%s), want %s", res.Field, res.Reason, tc.field)
			}
		})
	}
}

// testnetSigner is the Hello World vector's key hash as a testnet
// address: the same scriptPubKey, so the same digest, on another network.
func testnetSigner(t *testing.T) string {
	t.Helper()
	spk, _ := hex.DecodeString("00142b05d564e6a7a33c087f16e0f730d1440123799d")
	a, err := btc.EncodeAddress(btc.Testnet, spk)
	if err != nil || !strings.HasPrefix(a, "tb1q") {
		t.Fatalf("testnet address %q: %v", a, err)
	}
	return a
}
