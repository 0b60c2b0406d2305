package txverify

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/sha3"
)

// Review 12 attacks on EIP-712 typed data. Digests are built here with
// x/crypto's keccak and words written out by hand; nothing of
// eip712.go is used to compute what a test expects.

func k5(parts ...[]byte) []byte {
	h := sha3.NewLegacyKeccak256()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// k5Digest is keccak(0x19 0x01 ‖ domain ‖ message) as 0x hex.
func k5Digest(domain, message []byte) string {
	return "0x" + hex.EncodeToString(k5([]byte{0x19, 0x01}, domain, message))
}

// k5Domain is the hash of EIP712Domain(string name) with name n.
func k5Domain(n string) []byte {
	return k5(k5([]byte("EIP712Domain(string name)")), k5([]byte(n)))
}

func k5Typed(types map[string]any, primary string, message map[string]any) map[string]any {
	types["EIP712Domain"] = []any{map[string]any{"name": "name", "type": "string"}}
	return map[string]any{"types": types, "primaryType": primary, "domain": map[string]any{"name": "n"}, "message": message}
}

func k5Member(name, typ string) any { return map[string]any{"name": name, "type": typ} }

// Attack: a member's type string is only checked up to its first "[":
// "uint256[] x,uint256[]" has base type uint256 and, as long as its value
// is an empty array, is never parsed further. It is written verbatim into
// encodeType, so it can swallow the separator between two members. Two
// descriptions with different member lists then share one type hash and
// one digest:
//
//	A: P(a: "uint256[] x,uint256[]", b: "uint256[]")   encodeType P(uint256[] x,uint256[] a,uint256[] b)
//	B: P(x: "uint256[]", b: "uint256[] a,uint256[]")   encodeType P(uint256[] x,uint256[] a,uint256[] b)
//
// Both hash two words keccak("") under the same type hash. tx.message.message
// is {a, b} for one and {x, b} for the other: a bound fact that is not a
// function of the digest, and a member list no wallet or contract would
// read from that encodeType (which has three members). Secure behaviour:
// a member type is an atomic type or a declared identifier followed only
// by "[]" / "[n]" suffixes; anything else is refused.
func TestAttack5TypedMemberTypeSwallowsSeparator(t *testing.T) {
	empty := k5()
	digest := k5Digest(k5Domain("n"), k5(k5([]byte("P(uint256[] x,uint256[] a,uint256[] b)")), empty, empty))
	a := k5Typed(map[string]any{"P": []any{k5Member("a", "uint256[] x,uint256[]"), k5Member("b", "uint256[]")}}, "P",
		map[string]any{"a": []any{}, "b": []any{}})
	b := k5Typed(map[string]any{"P": []any{k5Member("x", "uint256[]"), k5Member("b", "uint256[] a,uint256[]")}}, "P",
		map[string]any{"x": []any{}, "b": []any{}})
	var facts []string
	for name, typed := range map[string]map[string]any{"A": a, "B": b} {
		res := DefaultRegistry().Verify(typedRequest(t, typed, strings.TrimPrefix(digest, "0x")))
		if res.Verified {
			facts = append(facts, name+": message "+renderJSON(res.Facts.Message.Message))
		}
	}
	if len(facts) > 0 {
		t.Fatalf("typed data with a member type %q verified against digest %s: %s", "uint256[] x,uint256[]", digest, strings.Join(facts, "; "))
	}
}

// Resisted (regression): spellings of one signed value give one fact, and
// spellings the encoder cannot place exactly are refused, never guessed.
func TestAttack5TypedSpellings(t *testing.T) {
	const typeP = "P(uint256 v,address who,bytes32 tag)"
	tag := strings.Repeat("ab", 32)
	who := "0x52908400098527886E0F7030069857D2E4169EE7" // EIP-55 checksummed
	wordV := func(n int64) []byte { out := make([]byte, 32); big.NewInt(n).FillBytes(out); return out }
	whoWord := append(make([]byte, 12), mustHex5(t, strings.ToLower(who[2:]))...)
	digest := k5Digest(k5Domain("n"), k5(k5([]byte(typeP)), wordV(1000), whoWord, mustHex5(t, tag)))
	types := func() map[string]any {
		return map[string]any{"P": []any{k5Member("v", "uint256"), k5Member("who", "address"), k5Member("tag", "bytes32")}}
	}
	ok := []struct {
		name string
		v    any
		who  string
		tag  string
	}{
		{"decimal string", "1000", who, "0x" + tag},
		{"leading zeros", "0001000", strings.ToLower(who), "0x" + strings.ToUpper(tag)},
		{"hex", "0x3e8", strings.ToUpper(who[:2]) + who[2:], "0x" + tag},
	}
	want := ""
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			typed := k5Typed(types(), "P", map[string]any{"v": c.v, "who": c.who, "tag": c.tag})
			res := DefaultRegistry().Verify(typedRequest(t, typed, strings.TrimPrefix(digest, "0x")))
			if !res.Verified {
				t.Fatalf("not verified: %s: %s", res.Field, res.Reason)
			}
			got := renderJSON(res.Facts.Message.Message)
			if want == "" {
				want = got
			}
			if got != want {
				t.Fatalf("facts %s, another spelling of the same digest gave %s", got, want)
			}
		})
	}
	refused := []struct {
		name string
		v    any
		tag  string
	}{
		{"exponent", "1e3", "0x" + tag},
		{"fraction", "1000.0", "0x" + tag},
		{"negative hex", "-0x3e8", "0x" + tag},
		{"upper 0X hex", "0X3E8", "0x" + tag},
		{"short bytes32", "1000", "0x" + tag[:62]},
		{"long bytes32", "1000", "0x" + tag + "00"},
		{"bytes32 without 0x", "1000", tag},
		{"space", " 1000", "0x" + tag},
	}
	for _, c := range refused {
		t.Run("refused/"+c.name, func(t *testing.T) {
			typed := k5Typed(types(), "P", map[string]any{"v": c.v, "who": who, "tag": c.tag})
			if res := DefaultRegistry().Verify(typedRequest(t, typed, strings.TrimPrefix(digest, "0x"))); res.Verified {
				t.Fatalf("verified with v=%v tag=%s", c.v, c.tag)
			}
		})
	}
}

// Resisted (regression): raw_structured_data with keys differing only in
// case, a nested undeclared member, or a domain member the domain type
// does not declare is refused; structured_data and raw_structured_data
// with different undeclared members are refused.
func TestAttack5TypedShadowMembers(t *testing.T) {
	const typeP = "P(uint256 v)"
	vw := make([]byte, 32)
	vw[31] = 1
	digest := strings.TrimPrefix(k5Digest(k5Domain("n"), k5(k5([]byte(typeP)), vw)), "0x")
	domainT := `"EIP712Domain":[{"name":"name","type":"string"}]`
	cases := []struct {
		name string
		dest map[string]any
	}{
		{"case-folded duplicate key", map[string]any{"destination_type": DestEIP712, "raw_structured_data": `{"types":{` + domainT + `,"P":[{"name":"v","type":"uint256"}]},"primaryType":"P","domain":{"name":"n"},"message":{"v":"1","V":"9"}}`}},
		{"exact duplicate key", map[string]any{"destination_type": DestEIP712, "raw_structured_data": `{"types":{` + domainT + `,"P":[{"name":"v","type":"uint256"}]},"primaryType":"P","domain":{"name":"n"},"message":{"v":"9","v":"1"}}`}},
		{"undomained chainId", map[string]any{"destination_type": DestEIP712, "raw_structured_data": `{"types":{` + domainT + `,"P":[{"name":"v","type":"uint256"}]},"primaryType":"P","domain":{"name":"n","chainId":1},"message":{"v":"1"}}`}},
		{"structured and raw disagree on undeclared", map[string]any{"destination_type": DestEIP712,
			"structured_data":     k5Typed(map[string]any{"P": []any{k5Member("v", "uint256")}}, "P", map[string]any{"v": "1", "to": "0x1111111111111111111111111111111111111111"}),
			"raw_structured_data": `{"types":{` + domainT + `,"P":[{"name":"v","type":"uint256"}]},"primaryType":"P","domain":{"name":"n"},"message":{"v":"1","to":"0x2222222222222222222222222222222222222222"}}`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := messageRequest(t, msgDesc{tokenID: "ETH", chainID: "ETH", signer: "0xd0ab4e9cac1cf79b35b886e1066b58806e64839f", dest: c.dest, hashes: []string{"0x" + digest}})
			if res := DefaultRegistry().Verify(req); res.Verified {
				t.Fatalf("verified: message %s undeclared %s", renderJSON(res.Facts.Message.Message), renderJSON(res.Facts.Message.Undeclared))
			}
		})
	}
}

// Resisted (regression): bare-hash and unknown message types are refused
// under every spelling, and a message-signing type never verifies under a
// transfer transaction type.
func TestAttack5MessageTypeSpellings(t *testing.T) {
	digest := "0x" + strings.Repeat("11", 32)
	for _, dt := range []string{DestRawMessage, DestBTCEIP191, "raw_message_signature", " Raw_Message_Signature", "Raw_Message_Signature ",
		"EVM_EIP_191_signature", "evm_eip_191_Signature", "EVM_EIP_4361_Signature", ""} {
		for _, txType := range []string{"MessageSign", "messagesign", "Transfer"} {
			t.Run(txType+"/"+dt, func(t *testing.T) {
				req := messageRequest(t, msgDesc{tokenID: "ETH", chainID: "ETH", txType: txType, signer: "0xd0ab4e9cac1cf79b35b886e1066b58806e64839f",
					dest: map[string]any{"destination_type": dt, "message": "aGVsbG8=", "raw_hash": digest}, hashes: []string{digest}})
				if res := DefaultRegistry().Verify(req); res.Verified {
					t.Fatalf("verified as %s", res.Facts.Method)
				}
			})
		}
	}
}

func mustHex5(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// k5Ladder is typed data whose types form a ladder T0 -> T1 -> ... ->
// T(levels-1), each rung with width members of the next type: a DAG whose
// path count is width^(levels-1), in a few kilobytes of JSON.
func k5Ladder(levels, width int) map[string]any {
	types := map[string]any{}
	for i := 0; i < levels-1; i++ {
		ms := make([]any, width)
		for j := range ms {
			ms[j] = k5Member("m"+strconv.Itoa(j), "T"+strconv.Itoa(i+1))
		}
		types["T"+strconv.Itoa(i)] = ms
	}
	types["T"+strconv.Itoa(levels-1)] = []any{k5Member("v", "uint256")}
	return k5Typed(types, "T0", map[string]any{})
}

// Attack: checkAcyclic walks every path of the type graph without
// remembering visited types, bounded only by depth 16. Types T0..T12,
// each with 64 members of the next type (about 21 KB of JSON, well under
// the 1 MiB request cap), have 64^12 paths: parsing never ends, and each
// such request pins a core (the message need not even be valid, it is
// parsed after the types). Secure behaviour: a hostile description is
// refused or hashed in time linear in its size (memoise checked types,
// the way encodeType's dependency walk already does).
func TestAttack5TypedTypeGraphExplodes(t *testing.T) {
	typed := k5Ladder(13, 64)
	b, _ := json.Marshal(typed)
	req := typedRequest(t, typed, strings.Repeat("00", 32))
	done := make(chan Result, 1)
	start := time.Now()
	go func() { done <- DefaultRegistry().Verify(req) }()
	select {
	case res := <-done:
		if res.Verified {
			t.Fatal("verified")
		}
		t.Logf("refused in %v: %s: %s", time.Since(start), res.Field, res.Reason)
	case <-time.After(3 * time.Second):
		// Measure the growth on small ladders to show it is the walk.
		var took []string
		for _, levels := range []int{3, 4} {
			s := time.Now()
			DefaultRegistry().Verify(typedRequest(t, k5Ladder(levels, 64), strings.Repeat("00", 32)))
			took = append(took, fmt.Sprintf("%d levels %v", levels, time.Since(s).Round(time.Millisecond)))
		}
		t.Fatalf("a %d-byte structured_data is still being parsed after 3s (64 members per rung: %s; each rung multiplies by 64)", len(b), strings.Join(took, ", "))
	}
}

// Resisted (regression): a "Permit" whose member list differs from
// ERC-2612's (members swapped, a wider type) verifies as typed data but
// is no permit, so a rule on tx.message.permit errors and rejects.
func TestAttack5PermitByNameWithLyingMembers(t *testing.T) {
	owner, spender := "0x1111111111111111111111111111111111111111", "0x2222222222222222222222222222222222222222"
	aw := func(a string) []byte { return append(make([]byte, 12), mustHex5(t, a[2:])...) }
	iw := func(n int64) []byte { out := make([]byte, 32); big.NewInt(n).FillBytes(out); return out }
	domainT := "EIP712Domain(string name,address verifyingContract)"
	verifying := "0x3333333333333333333333333333333333333333"
	domainHash := k5(k5([]byte(domainT)), k5([]byte("n")), aw(verifying))
	cases := []struct {
		name    string
		members []any
		typeStr string
		words   [][]byte
	}{
		{"owner and spender swapped",
			[]any{k5Member("spender", "address"), k5Member("owner", "address"), k5Member("value", "uint256"), k5Member("nonce", "uint256"), k5Member("deadline", "uint256")},
			"Permit(address spender,address owner,uint256 value,uint256 nonce,uint256 deadline)",
			[][]byte{aw(spender), aw(owner), iw(5), iw(0), iw(9)}},
		{"value as int256",
			[]any{k5Member("owner", "address"), k5Member("spender", "address"), k5Member("value", "int256"), k5Member("nonce", "uint256"), k5Member("deadline", "uint256")},
			"Permit(address owner,address spender,int256 value,uint256 nonce,uint256 deadline)",
			[][]byte{aw(owner), aw(spender), iw(5), iw(0), iw(9)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			typed := map[string]any{
				"types":       map[string]any{"EIP712Domain": []any{k5Member("name", "string"), k5Member("verifyingContract", "address")}, "Permit": c.members},
				"primaryType": "Permit",
				"domain":      map[string]any{"name": "n", "verifyingContract": verifying},
				"message":     map[string]any{"owner": owner, "spender": spender, "value": "5", "nonce": "0", "deadline": "9"},
			}
			digest := k5Digest(domainHash, k5(append([][]byte{k5([]byte(c.typeStr))}, c.words...)...))
			res := DefaultRegistry().Verify(typedRequest(t, typed, strings.TrimPrefix(digest, "0x")))
			if !res.Verified {
				t.Fatalf("not verified (the independent digest disagrees?): %s", res.Reason)
			}
			if p := res.Facts.Message.Permit; p != nil {
				t.Fatalf("recognised as a permit: %s", renderJSON(p))
			}
		})
	}
}
