package txverify

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"golang.org/x/crypto/sha3"

	"tssgate/internal/protocol"
)

// An independent EIP-712 encoder for the tests: it takes the type string
// and the 32-byte words as a test writes them out by hand, so it shares no
// type parsing, ordering or value reading with the code under test.

func kec(parts ...[]byte) []byte {
	h := sha3.NewLegacyKeccak256()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// iword is a big-endian 256-bit two's complement integer.
func iword(n *big.Int) []byte {
	m := new(big.Int).Mod(n, new(big.Int).Lsh(big.NewInt(1), 256))
	out := make([]byte, 32)
	b := m.Bytes()
	copy(out[32-len(b):], b)
	return out
}

func addrWord(a string) []byte {
	b, _ := hex.DecodeString(strings.TrimPrefix(strings.ToLower(a), "0x"))
	return append(make([]byte, 12), b...)
}

// structHash is keccak(keccak(typeString) ‖ words...).
func structHash(typeString string, words ...[]byte) []byte {
	return kec(append([][]byte{kec([]byte(typeString))}, words...)...)
}

func typedDigest(domain, message []byte) string {
	return hex.EncodeToString(kec([]byte{0x19, 0x01}, domain, message))
}

// typedRequest is an EIP-712 MessageSign whose msg_hash_list is digest.
func typedRequest(t testing.TB, typed map[string]any, digest string) *protocol.Request {
	t.Helper()
	return messageRequest(t, msgDesc{
		tokenID: "ETH", chainID: "ETH", signer: "0xd0ab4e9cac1cf79b35b886e1066b58806e64839f",
		dest:   map[string]any{"destination_type": DestEIP712, "structured_data": typed},
		hashes: []string{"0x" + digest},
	})
}

var testDomainTypes = []any{
	map[string]any{"name": "name", "type": "string"},
	map[string]any{"name": "chainId", "type": "uint256"},
	map[string]any{"name": "verifyingContract", "type": "address"},
}

const testVerifying = "0x000000000022D473030F116dDEE9F6B43aC78BA3"

func testDomainHash(name string) []byte {
	return structHash("EIP712Domain(string name,uint256 chainId,address verifyingContract)",
		kec([]byte(name)), iword(big.NewInt(1)), addrWord(testVerifying))
}

func testDomain(name string) map[string]any {
	return map[string]any{"name": name, "chainId": "0x1", "verifyingContract": testVerifying}
}

// TestTypedDataIntegerWidths: every uintN and intN at its extremes, spelled
// as decimal strings, hex strings and JSON numbers, against the
// independent encoder; one past each extreme is refused.
func TestTypedDataIntegerWidths(t *testing.T) {
	one := big.NewInt(1)
	for bits := 8; bits <= 256; bits += 8 {
		umax := new(big.Int).Sub(new(big.Int).Lsh(one, uint(bits)), one)
		imin := new(big.Int).Neg(new(big.Int).Lsh(one, uint(bits-1)))
		imax := new(big.Int).Sub(new(big.Int).Lsh(one, uint(bits-1)), one)
		ut, it := fmt.Sprintf("uint%d", bits), fmt.Sprintf("int%d", bits)
		typeString := fmt.Sprintf("W(%s a,%s b,%s c,%s d)", ut, it, it, ut)
		build := func(a, b, c, d any) map[string]any {
			return map[string]any{
				"types": map[string]any{"EIP712Domain": testDomainTypes, "W": []any{
					map[string]any{"name": "a", "type": ut}, map[string]any{"name": "b", "type": it},
					map[string]any{"name": "c", "type": it}, map[string]any{"name": "d", "type": ut},
				}},
				"primaryType": "W", "domain": testDomain("widths"),
				"message": map[string]any{"a": a, "b": b, "c": c, "d": d},
			}
		}
		want := typedDigest(testDomainHash("widths"), structHash(typeString, iword(umax), iword(imin), iword(imax), iword(big.NewInt(7))))
		t.Run(ut, func(t *testing.T) {
			for _, spelled := range []map[string]any{
				build(umax.String(), imin.String(), imax.String(), json.Number("7")),
				build("0x"+umax.Text(16), imin.String(), "0x"+imax.Text(16), "0x07"),
			} {
				res := DefaultRegistry().Verify(typedRequest(t, spelled, want))
				if !res.Verified {
					t.Fatalf("not verified: %s", res.Reason)
				}
				if got := res.Facts.Message.Message["a"]; renderCanon(got) != umax.String() {
					t.Errorf("a = %v, want %s", got, umax)
				}
			}
			over := new(big.Int).Add(umax, one)
			under := new(big.Int).Sub(imin, one)
			for _, bad := range []map[string]any{
				build(over.String(), imin.String(), imax.String(), "7"),
				build(umax.String(), under.String(), imax.String(), "7"),
				build(umax.String(), imin.String(), new(big.Int).Add(imax, one).String(), "7"),
				build(umax.String(), imin.String(), imax.String(), "-1"),
				build(umax.String(), imin.String(), imax.String(), "7.0"),
			} {
				res := DefaultRegistry().Verify(typedRequest(t, bad, want))
				if res.Verified || res.Field != "structured_data" {
					t.Fatalf("out of range value: got %q %s", res.Field, res.Reason)
				}
			}
		})
	}
}

// TestTypedDataNestedAndArrays: nested structs, arrays of structs, fixed
// and nested arrays, bytesN, bytes and bool against the independent
// encoder.
func TestTypedDataNestedAndArrays(t *testing.T) {
	typed := map[string]any{
		"types": map[string]any{
			"EIP712Domain": testDomainTypes,
			"Person":       []any{map[string]any{"name": "name", "type": "string"}, map[string]any{"name": "wallets", "type": "address[]"}},
			"Group": []any{
				map[string]any{"name": "name", "type": "string"},
				map[string]any{"name": "members", "type": "Person[]"},
				map[string]any{"name": "codes", "type": "uint16[2]"},
				map[string]any{"name": "grid", "type": "int8[][]"},
				map[string]any{"name": "tag", "type": "bytes4"},
				map[string]any{"name": "blob", "type": "bytes"},
				map[string]any{"name": "open", "type": "bool"},
				map[string]any{"name": "lead", "type": "Person"},
			},
		},
		"primaryType": "Group",
		"domain":      testDomain("groups"),
		"message": map[string]any{
			"name": "g",
			"members": []any{
				map[string]any{"name": "A", "wallets": []any{"0x1111111111111111111111111111111111111111"}},
				map[string]any{"name": "B", "wallets": []any{}},
			},
			"codes": []any{json.Number("1"), "65535"},
			"grid":  []any{[]any{"-1", "2"}, []any{}},
			"tag":   "0xdeadbeef",
			"blob":  "0x0102",
			"open":  true,
			"lead":  map[string]any{"name": "L", "wallets": []any{"0x2222222222222222222222222222222222222222", "0x3333333333333333333333333333333333333333"}},
			"note":  "undeclared, not hashed",
		},
	}
	personType := "Person(string name,address[] wallets)"
	groupType := "Group(string name,Person[] members,uint16[2] codes,int8[][] grid,bytes4 tag,bytes blob,bool open,Person lead)" + personType
	person := func(name string, wallets ...string) []byte {
		var ws []byte
		for _, w := range wallets {
			ws = append(ws, addrWord(w)...)
		}
		return structHash(personType, kec([]byte(name)), kec(ws))
	}
	members := kec(person("A", "0x1111111111111111111111111111111111111111"), person("B"))
	codes := kec(iword(big.NewInt(1)), iword(big.NewInt(65535)))
	grid := kec(kec(iword(big.NewInt(-1)), iword(big.NewInt(2))), kec())
	tag := append([]byte{0xde, 0xad, 0xbe, 0xef}, make([]byte, 28)...)
	lead := person("L", "0x2222222222222222222222222222222222222222", "0x3333333333333333333333333333333333333333")
	msg := structHash(groupType, kec([]byte("g")), members, codes, grid, tag, kec([]byte{1, 2}), iword(big.NewInt(1)), lead)
	want := typedDigest(testDomainHash("groups"), msg)
	res := DefaultRegistry().Verify(typedRequest(t, typed, want))
	if !res.Verified {
		t.Fatalf("not verified: %s", res.Reason)
	}
	m := res.Facts.Message
	if _, ok := m.Message["note"]; ok {
		t.Error("an undeclared member is among the hashed facts")
	}
	if m.Undeclared["note"] != "undeclared, not hashed" {
		t.Errorf("undeclared = %v", m.Undeclared)
	}
	if got := renderCanon(m.Message["lead"]); !strings.Contains(got, `"wallets":["0x2222222222222222222222222222222222222222"`) {
		t.Errorf("lead = %s", got)
	}
	// A fixed-size array of the wrong length is refused.
	typed["message"].(map[string]any)["codes"] = []any{"1"}
	if res := DefaultRegistry().Verify(typedRequest(t, typed, want)); res.Verified || res.Field != "structured_data" {
		t.Fatalf("short fixed array: %q %s", res.Field, res.Reason)
	}
}

// TestPermitFacts: each recognised permit maps to the one shape, and an
// amount of at least 2^160 - 1 is unlimited.
func TestPermitFacts(t *testing.T) {
	token := "0xA0b86991c6218b36c1d19d4a2e9eb0ce3606eB48"
	spender := "0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD"
	max160 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 160), big.NewInt(1))
	details := []any{map[string]any{"name": "token", "type": "address"}, map[string]any{"name": "amount", "type": "uint160"},
		map[string]any{"name": "expiration", "type": "uint48"}, map[string]any{"name": "nonce", "type": "uint48"}}
	perms := []any{map[string]any{"name": "token", "type": "address"}, map[string]any{"name": "amount", "type": "uint256"}}
	cases := []struct {
		name      string
		types     map[string]any
		primary   string
		message   map[string]any
		digest    func() string
		tokens    string
		amounts   string
		exps      string
		deadline  string
		unlimited bool
	}{
		{
			name: "ERC-2612 Permit", primary: "Permit",
			types: map[string]any{"Permit": []any{
				map[string]any{"name": "owner", "type": "address"}, map[string]any{"name": "spender", "type": "address"},
				map[string]any{"name": "value", "type": "uint256"}, map[string]any{"name": "nonce", "type": "uint256"},
				map[string]any{"name": "deadline", "type": "uint256"}}},
			message: map[string]any{"owner": "0xd0ab4e9cac1cf79b35b886e1066b58806e64839f", "spender": spender, "value": "1000000", "nonce": 3, "deadline": "1767225600"},
			digest: func() string {
				return typedDigest(testDomainHash("p"), structHash("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)",
					addrWord("0xd0ab4e9cac1cf79b35b886e1066b58806e64839f"), addrWord(spender), iword(big.NewInt(1000000)), iword(big.NewInt(3)), iword(big.NewInt(1767225600))))
			},
			tokens: `["` + strings.ToLower(testVerifying) + `"]`, amounts: `["1000000"]`, exps: `[]`, deadline: "1767225600",
		},
		{
			name: "Permit2 PermitSingle unlimited", primary: "PermitSingle",
			types: map[string]any{"PermitDetails": details, "PermitSingle": []any{
				map[string]any{"name": "details", "type": "PermitDetails"}, map[string]any{"name": "spender", "type": "address"},
				map[string]any{"name": "sigDeadline", "type": "uint256"}}},
			message: map[string]any{"details": map[string]any{"token": token, "amount": max160.String(), "expiration": "1767225600", "nonce": "0"}, "spender": spender, "sigDeadline": "1767000000"},
			digest: func() string {
				d := structHash("PermitDetails(address token,uint160 amount,uint48 expiration,uint48 nonce)", addrWord(token), iword(max160), iword(big.NewInt(1767225600)), iword(big.NewInt(0)))
				return typedDigest(testDomainHash("p"), structHash("PermitSingle(PermitDetails details,address spender,uint256 sigDeadline)PermitDetails(address token,uint160 amount,uint48 expiration,uint48 nonce)",
					d, addrWord(spender), iword(big.NewInt(1767000000))))
			},
			tokens: `["` + strings.ToLower(token) + `"]`, amounts: `["` + max160.String() + `"]`, exps: `["1767225600"]`, deadline: "1767000000", unlimited: true,
		},
		{
			name: "Permit2 PermitBatchTransferFrom", primary: "PermitBatchTransferFrom",
			types: map[string]any{"TokenPermissions": perms, "PermitBatchTransferFrom": []any{
				map[string]any{"name": "permitted", "type": "TokenPermissions[]"}, map[string]any{"name": "spender", "type": "address"},
				map[string]any{"name": "nonce", "type": "uint256"}, map[string]any{"name": "deadline", "type": "uint256"}}},
			message: map[string]any{"permitted": []any{map[string]any{"token": token, "amount": "5"}, map[string]any{"token": spender, "amount": "6"}}, "spender": spender, "nonce": "9", "deadline": "100"},
			digest: func() string {
				tp := "TokenPermissions(address token,uint256 amount)"
				list := kec(structHash(tp, addrWord(token), iword(big.NewInt(5))), structHash(tp, addrWord(spender), iword(big.NewInt(6))))
				return typedDigest(testDomainHash("p"), structHash("PermitBatchTransferFrom(TokenPermissions[] permitted,address spender,uint256 nonce,uint256 deadline)"+tp,
					list, addrWord(spender), iword(big.NewInt(9)), iword(big.NewInt(100))))
			},
			tokens: `["` + strings.ToLower(token) + `","` + strings.ToLower(spender) + `"]`, amounts: `["5","6"]`, exps: `[]`, deadline: "100",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			types := map[string]any{"EIP712Domain": testDomainTypes}
			for k, v := range tc.types {
				types[k] = v
			}
			typed := map[string]any{"types": types, "primaryType": tc.primary, "domain": testDomain("p"), "message": tc.message}
			res := DefaultRegistry().Verify(typedRequest(t, typed, tc.digest()))
			if !res.Verified {
				t.Fatalf("not verified: %s", res.Reason)
			}
			p := res.Facts.Message.Permit
			if p == nil {
				t.Fatal("permit not recognised")
			}
			if p.Spender != strings.ToLower(spender) || renderJSON(p.Tokens) != tc.tokens || renderJSON(p.Amounts) != tc.amounts ||
				renderJSON(p.Expirations) != tc.exps || p.Deadline.String() != tc.deadline {
				t.Errorf("permit %+v", p)
			}
			if res.Facts.Message.Unlimited != tc.unlimited {
				t.Errorf("unlimited = %v", res.Facts.Message.Unlimited)
			}
		})
	}
}

func renderJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestBIP137AndADR36 checks both digests against encoders written here
// (Bitcoin's prefix byte by byte; ADR-036's document through encoding/json,
// which sorts map keys) and the refusals.
func TestBIP137AndADR36(t *testing.T) {
	bip137 := func(m []byte) string {
		var b bytes.Buffer
		b.WriteByte(24)
		b.WriteString("Bitcoin Signed Message:\n")
		switch {
		case len(m) < 253:
			b.WriteByte(byte(len(m)))
		default:
			b.Write([]byte{253, byte(len(m) & 0xff), byte(len(m) >> 8)})
		}
		b.Write(m)
		h1 := sha256.Sum256(b.Bytes())
		h2 := sha256.Sum256(h1[:])
		return hex.EncodeToString(h2[:])
	}
	const bech = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
	adr36 := func(signer string, data []byte) string {
		doc := map[string]any{
			"account_number": "0", "chain_id": "", "memo": "", "sequence": "0",
			"fee":  map[string]any{"amount": []any{}, "gas": "0"},
			"msgs": []any{map[string]any{"type": "sign/MsgSignData", "value": map[string]any{"data": base64.StdEncoding.EncodeToString(data), "signer": signer}}},
		}
		b, _ := json.Marshal(doc)
		h := sha256.Sum256(b)
		return hex.EncodeToString(h[:])
	}
	long := bytes.Repeat([]byte("x"), 300)
	cases := []struct {
		name, tokenID, destType, field, hexMsg, signer, digest, failField string
	}{
		{"bip137 hello", "BTC", DestBIP137, "message_bip137", "48656c6c6f", bech, bip137([]byte("Hello")), ""},
		{"bip137 0x prefix", "BTC", DestBIP137, "message_bip137", "0x48656c6c6f", bech, bip137([]byte("Hello")), ""},
		{"bip137 long", "SIGNET_BTC", DestBIP137, "message_bip137", hex.EncodeToString(long), bech, bip137(long), ""},
		{"bip137 wrong hash", "BTC", DestBIP137, "message_bip137", "48656c6c6f", bech, bip137([]byte("Hellp")), "msg_hash_list"},
		{"bip137 under ETH", "ETH", DestBIP137, "message_bip137", "48656c6c6f", bech, bip137([]byte("Hello")), "token_id"},
		{"bip137 not hex", "BTC", DestBIP137, "message_bip137", "4865zz", bech, bip137([]byte("Hello")), "message_bip137"},
		{"adr36", "ATOM", DestADR36, "message_cosmos_adr36", "0x7369676e206d65", bech, adr36(bech, []byte("sign me")), ""},
		{"adr36 empty data", "ATOM", DestADR36, "message_cosmos_adr36", "", bech, adr36(bech, nil), "message_cosmos_adr36"},
		{"adr36 bad checksum", "ATOM", DestADR36, "message_cosmos_adr36", "00", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", adr36("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", []byte{0}), "source"},
		{"adr36 upper case signer", "ATOM", DestADR36, "message_cosmos_adr36", "00", strings.ToUpper(bech), adr36(strings.ToUpper(bech), []byte{0}), "source"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			chain := tc.tokenID
			res := DefaultRegistry().Verify(messageRequest(t, msgDesc{
				tokenID: tc.tokenID, chainID: chain, signer: tc.signer,
				dest: map[string]any{"destination_type": tc.destType, tc.field: tc.hexMsg}, hashes: []string{tc.digest},
			}))
			if tc.failField != "" {
				if res.Verified || res.Field != tc.failField {
					t.Fatalf("got %q %s, want %s", res.Field, res.Reason, tc.failField)
				}
				return
			}
			if !res.Verified {
				t.Fatalf("not verified: %s", res.Reason)
			}
			if res.Facts.Message.Signer != tc.signer || res.TokenID != tc.tokenID {
				t.Errorf("facts %+v", res.Facts.Message)
			}
		})
	}
}

// FuzzTypedData: the encoder never panics, and whatever verifies under
// structured_data verifies to the same digest as raw_structured_data.
func FuzzTypedData(f *testing.F) {
	for _, v := range loadMessageVectors(f) {
		if v.Kind == "eip712" {
			f.Add(v.Destination["raw_structured_data"].(string))
		}
	}
	f.Add(`{"types":{"EIP712Domain":[],"A":[{"name":"a","type":"int8[2][]"}]},"primaryType":"A","domain":{},"message":{"a":[["1","-1"]]}}`)
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := protocol.ParseJSON([]byte(raw))
		if err != nil {
			return
		}
		td, err := parseTypedData(v)
		if err != nil {
			return
		}
		res, err := hashTypedData(td)
		if err != nil {
			return
		}
		// The same text hashed again gives the same digest and facts.
		v2, _ := protocol.ParseJSON([]byte(raw))
		td2, _ := parseTypedData(v2)
		res2, err := hashTypedData(td2)
		if err != nil || res2.digest != res.digest || renderJSON(res2.message) != renderJSON(res.message) {
			t.Fatalf("hashing is not deterministic: %v", err)
		}
	})
}
