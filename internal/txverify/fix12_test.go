package txverify

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Fixes for review 12: member type strings, the type-graph walk and size
// bounds of EIP-712 typed data, EIP-191 base64 without line breaks, and
// the canonical Bitcoin signer. Digests are built with the k5 helpers
// (x/crypto's keccak, words by hand).

// Member types are exactly an atomic type or a struct name with only
// "[]" / "[n]" suffixes; every other spelling is refused before hashing.
func TestTypedMemberTypeGrammar(t *testing.T) {
	cases := []struct {
		typ   string
		value any
		ok    bool
	}{
		{"uint256", "1", true},
		{"uint256[]", []any{}, true},
		{"uint256[2]", []any{"1", "2"}, true},
		{"uint256[2][]", []any{[]any{"1", "2"}}, true},
		{"Q[]", []any{}, true},
		{"Q[1][1]", []any{[]any{map[string]any{"v": "1"}}}, true},
		{"uint256[] x,uint256[]", []any{}, false},
		{"uint256 x", "1", false},
		{"uint256[0]", []any{}, false},
		{"uint256[01]", []any{"1"}, false},
		{"uint256[ 1]", []any{"1"}, false},
		{"uint256[1025]", []any{}, false},
		{"uint256[]x", []any{}, false},
		{"uint256[", []any{}, false},
		{"uint256]", []any{}, false},
		{"uint256[][", []any{}, false},
		{"[]", []any{}, false},
		{"uint7", "1", false},
		{"Q.x", map[string]any{"v": "1"}, false},
		{"Undeclared[]", []any{}, false},
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			types := map[string]any{"P": []any{k5Member("a", c.typ)}, "Q": []any{k5Member("v", "uint256")}}
			td, err := parseTypedData(k5Typed(types, "P", map[string]any{"a": c.value}))
			if !c.ok {
				if err == nil {
					t.Fatalf("type %q accepted", c.typ)
				}
				return
			}
			if err != nil {
				t.Fatalf("type %q refused: %v", c.typ, err)
			}
			if _, err := hashTypedData(td); err != nil {
				t.Fatalf("type %q does not hash: %v", c.typ, err)
			}
		})
	}
}

// A type graph within every count limit but with 34^14 paths (a ladder
// of 15 rungs of 34 members) is checked in linear time: verified against
// an independent digest when its message is complete.
func TestTypedTypeGraphLinear(t *testing.T) {
	const levels, width = 15, 34
	typed := k5Ladder(levels, width)
	start := time.Now()
	res := DefaultRegistry().Verify(typedRequest(t, typed, strings.Repeat("00", 32)))
	if took := time.Since(start); took > time.Second {
		t.Fatalf("a %d-rung ladder took %v", levels, took)
	}
	if res.Verified || !strings.Contains(res.Reason, "missing") {
		t.Fatalf("an empty message: verified %v, %s", res.Verified, res.Reason)
	}
	// A small ladder with a full message, hashed independently.
	small := k5Ladder(3, 2)
	leaf := map[string]any{"v": "1"}
	mid := map[string]any{"m0": leaf, "m1": leaf}
	small["message"] = map[string]any{"m0": mid, "m1": mid}
	enc2 := "T2(uint256 v)"
	enc1 := "T1(T2 m0,T2 m1)" + enc2
	enc0 := "T0(T1 m0,T1 m1)T1(T2 m0,T2 m1)T2(uint256 v)"
	one := make([]byte, 32)
	one[31] = 1
	h2 := k5(k5([]byte(enc2)), one)
	h1 := k5(k5([]byte(enc1)), h2, h2)
	h0 := k5(k5([]byte(enc0)), h1, h1)
	res = DefaultRegistry().Verify(typedRequest(t, small, strings.TrimPrefix(k5Digest(k5Domain("n"), h0), "0x")))
	if !res.Verified {
		t.Fatalf("not verified: %s: %s", res.Field, res.Reason)
	}
}

// Count and size limits refuse with a reason naming the limit.
func TestTypedLimits(t *testing.T) {
	t.Run("too many members in all", func(t *testing.T) {
		res := DefaultRegistry().Verify(typedRequest(t, k5Ladder(10, 60), strings.Repeat("00", 32)))
		if res.Verified || !strings.Contains(res.Reason, "members in all") {
			t.Fatalf("got %v %s", res.Verified, res.Reason)
		}
	})
	t.Run("too deep", func(t *testing.T) {
		res := DefaultRegistry().Verify(typedRequest(t, k5Ladder(maxTypedDepth+3, 1), strings.Repeat("00", 32)))
		if res.Verified || !strings.Contains(res.Reason, "deep") {
			t.Fatalf("got %v %s", res.Verified, res.Reason)
		}
	})
	t.Run("cyclic", func(t *testing.T) {
		types := map[string]any{"A": []any{k5Member("b", "B[]")}, "B": []any{k5Member("a", "A")}}
		res := DefaultRegistry().Verify(typedRequest(t, k5Typed(types, "A", map[string]any{"b": []any{}}), strings.Repeat("00", 32)))
		if res.Verified || !strings.Contains(res.Reason, "cyclic") {
			t.Fatalf("got %v %s", res.Verified, res.Reason)
		}
	})
	t.Run("document too large", func(t *testing.T) {
		typed := k5Typed(map[string]any{"P": []any{k5Member("s", "string")}}, "P", map[string]any{"s": strings.Repeat("a", maxTypedDataBytes)})
		b, _ := json.Marshal(typed)
		req := messageRequest(t, msgDesc{tokenID: "ETH", chainID: "ETH", signer: "0xd0ab4e9cac1cf79b35b886e1066b58806e64839f",
			dest: map[string]any{"destination_type": DestEIP712, "raw_structured_data": string(b)}, hashes: []string{"0x" + strings.Repeat("00", 32)}})
		res := DefaultRegistry().Verify(req)
		if res.Verified || res.Field != "raw_structured_data" || !strings.Contains(res.Reason, "more than "+strconv.Itoa(maxTypedDataBytes)) {
			t.Fatalf("got %v %s: %s", res.Verified, res.Field, res.Reason)
		}
	})
}

// EIP-191 messages are standard padded base64 with no line breaks:
// encoding/base64 would skip CR and LF, giving one message two spellings.
func TestEIP191Base64Strict(t *testing.T) {
	m := []byte("hello, sign-in")
	digest := "0x" + hexOf(k5([]byte("\x19Ethereum Signed Message:\n"+strconv.Itoa(len(m))), m))
	enc := base64.StdEncoding.EncodeToString(m)
	cases := []struct {
		name, message string
		ok            bool
	}{
		{"plain", enc, true},
		{"LF inside", enc[:4] + "\n" + enc[4:], false},
		{"CRLF at the end", enc + "\r\n", false},
		{"CR inside", enc[:8] + "\r" + enc[8:], false},
		{"space", enc[:4] + " " + enc[4:], false},
		{"URL alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(base64.StdEncoding.EncodeToString([]byte{0xfb, 0xff})), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := c.message
			h := digest
			if c.name == "URL alphabet" {
				h = "0x" + hexOf(k5([]byte("\x19Ethereum Signed Message:\n2"), []byte{0xfb, 0xff}))
			}
			res := DefaultRegistry().Verify(messageRequest(t, msgDesc{tokenID: "ETH", chainID: "ETH", signer: "0xd0ab4e9cac1cf79b35b886e1066b58806e64839f",
				dest: map[string]any{"destination_type": DestEIP191, "message": d}, hashes: []string{h}}))
			if res.Verified != c.ok || (!c.ok && res.Field != "message") {
				t.Fatalf("verified %v (%s: %s), want %v", res.Verified, res.Field, res.Reason, c.ok)
			}
		})
	}
}

// A segwit signer is tx.message.signer in lower case however Cobo spells
// it (bech32 is valid all upper-case too); base58 is kept as described.
func TestBitcoinSignerCanonical(t *testing.T) {
	cases := []struct{ network, in, want string }{
		{"btc", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"},
		{"btc", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"},
		{"btc", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"},
		{"btc", "bC1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "bC1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"}, // mixed case: invalid, kept (and refused by BIP-322)
	}
	for _, c := range cases {
		if got := canonicalBitcoinSigner(c.network, c.in); got != c.want {
			t.Errorf("%s: got %s, want %s", c.in, got, c.want)
		}
	}
	// End to end: the BIP-322 Hello World vector's upper-case address.
	v := loadMessageVectors(t)["bip322_simple_p2wpkh_hello_world"]
	d := vectorDesc(v)
	d.signer = strings.ToUpper(d.signer)
	res := DefaultRegistry().Verify(messageRequest(t, d))
	if !res.Verified || res.Facts.Message.Signer != strings.ToLower(d.signer) {
		t.Fatalf("verified %v (%s), signer %q", res.Verified, res.Reason, res.Facts.Message.Signer)
	}
}
