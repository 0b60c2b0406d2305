package txverify

import (
	"math/big"
	"strings"
	"testing"
)

// Review 12 attacks on contract-call decoding (tx.call). Calldata is
// written out word by word (hexWords, w, r), selectors with x/crypto's
// keccak (k5).

func k5Selector(sig string) string { return hexOf(k5([]byte(sig))[:4]) }

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// Attack: grants are derived from the ABI entry's signature, not from
// the selector. A configured ABI (here chain-wide, without contracts, as
// a dapp's published ABI could be) holding a function whose selector
// collides with approve(address,uint256) — the public 4byte collision
// sign_szabo_bytecode(bytes16,uint128) is 0x095ea7b3 — decodes every
// ERC-20 approve on the chain under that name, with no grant: a rule
// "!tx.call.grants.exists(g, ...)" passes on an approve of 2^128 - 1
// base units, while tx.decoded.method still says approve. This collision
// constrains the spender to 16 trailing zero bytes; a layout-compatible
// collision (foo_N(address,uint256), ~2^32 keccak) has no constraint. The
// README says "Grants come from the selector and the positional
// arguments". Secure behaviour: a configured ABI may not redefine a
// built-in grant selector with another signature (refused at load), or
// grants come from the built-in layout of the selector whatever ABI names
// the call.
func TestAttack5ConfiguredABISelectorCollisionHidesGrant(t *testing.T) {
	if k5Selector("sign_szabo_bytecode(bytes16,uint128)") != "095ea7b3" {
		t.Fatal("test premise: the collision no longer holds")
	}
	abi := `[{"type":"function","name":"sign_szabo_bytecode","inputs":[{"name":"b","type":"bytes16"},{"name":"n","type":"uint128"}]}]`
	reg, err := DefaultRegistry().WithABIs(ABIEntry{File: "dapp.json", JSON: []byte(abi), EVMChainID: big.NewInt(1)})
	if err != nil {
		t.Logf("refused at load (secure): %v", err)
		return
	}
	spender := "aabbccdd" + strings.Repeat("0", 32)
	data := hexWords(t, "095ea7b3", w(spender), w(strings.Repeat("f", 32)))
	res := callResult(t, reg, alice, data, nil)
	if !res.Verified {
		t.Logf("unverified (secure): %s", res.Reason)
		return
	}
	if res.Facts.Method == methodApprove && len(res.Facts.Call.Grants) == 0 {
		t.Fatalf("tx.decoded.method %q but tx.call is %s with grants %s: an approve of 2^128-1 to 0x%s grants nothing to policy",
			res.Facts.Method, res.Facts.Call.Signature, renderJSON(res.Facts.Call.Grants), spender)
	}
}

// Attack: approve(spender, 0) is reported as a revoke whatever contract
// is called. On an ERC-721 collection (a contract the token table does
// not know) approve(to, tokenId) with tokenId 0 GRANTS token #0 to the
// spender; the revoke on ERC-721 is approve(address(0), tokenId). A rule
// "allow calls whose grants are all revokes" (a common hygiene rule)
// approves handing NFT #0 to anyone. Secure behaviour: revoke only when
// the selector's meaning is unambiguous (an ERC-20 in the token table),
// else revoke false.
func TestAttack5ERC721ApproveTokenZeroIsNoRevoke(t *testing.T) {
	const bayc = "0xbc4ca0eda7647a8ab7c2061c2e118a18a936f13d" // an ERC-721 collection, not in the token table
	attacker := "2222222222222222222222222222222222222222"
	res := callResult(t, DefaultRegistry(), bayc, hexWords(t, "095ea7b3", w(attacker), w("0")), nil)
	if !res.Verified {
		t.Logf("unverified (secure): %s", res.Reason)
		return
	}
	for _, g := range res.Facts.Call.Grants {
		if g.Revoke && strings.EqualFold(g.Spender, "0x"+attacker) {
			t.Fatalf("approve(0x%s, 0) on collection %s is a revoke in tx.call.grants %s; on ERC-721 it grants token 0", attacker, bayc, renderJSON(res.Facts.Call.Grants))
		}
	}
}

// Attack: Permit2's batch permit, permit(address,((address,uint160,uint48,
// uint48)[],address,uint256),bytes), sets allowances for every token of
// the batch but is no built-in, so tx.call.grants is empty (and method
// ""). The README: grants list "every allowance the call grants or
// revokes ... Permit2 approve and permit". A rule on Permit2 calls "no
// unlimited grant" passes a batch permit of 2^160 - 1. Secure behaviour:
// the batch permit is a built-in and yields one grant per detail.
func TestAttack5Permit2BatchPermitGrantsNothing(t *testing.T) {
	const permit2 = "0x000000000022d473030f116ddee9f6b43ac78ba3"
	sig := "permit(address,((address,uint160,uint48,uint48)[],address,uint256),bytes)"
	token := "4444444444444444444444444444444444444444"
	spender := "2222222222222222222222222222222222222222"
	data := hexWords(t, k5Selector(sig),
		w("1111111111111111111111111111111111111111"), // owner
		w("60"), w("160"), // offsets: permitBatch, signature
		// permitBatch: offset of details, spender, sigDeadline
		w("60"), w(spender), w("ffffffff"),
		// details: one (token, amount 2^160-1, expiration, nonce)
		w("1"), w(token), w(strings.Repeat("f", 40)), w("ffffffffffff"), w("0"),
		// signature
		w("1"), r("aa"))
	res := callResult(t, DefaultRegistry(), permit2, data, nil)
	if !res.Verified {
		t.Logf("unverified (secure): %s", res.Reason)
		return
	}
	if len(res.Facts.Call.Grants) == 0 {
		t.Fatalf("Permit2 batch permit of 2^160-1 of 0x%s to 0x%s: method %q, grants %s", token, spender, res.Facts.Call.Method, renderJSON(res.Facts.Call.Grants))
	}
}

// Resisted (regression): approve to 2^160 - 1 is unlimited and 2^160 - 2
// is not; setApprovalForAll(true) grants all and (false) revokes; the
// Permit2 approve grant names the token argument; a dirty bool is refused.
func TestAttack5GrantEdges(t *testing.T) {
	spender := "2222222222222222222222222222222222222222"
	token := "4444444444444444444444444444444444444444"
	max160 := strings.Repeat("f", 40)
	max160less1 := strings.Repeat("f", 39) + "e"
	cases := []struct {
		name        string
		data        []byte
		token       string
		all, revoke bool
	}{
		{"approve 2^160-1", hexWords(t, k5Selector("approve(address,uint256)"), w(spender), w(max160)), alice, true, false},
		{"approve 2^160-2", hexWords(t, k5Selector("approve(address,uint256)"), w(spender), w(max160less1)), alice, false, false},
		{"setApprovalForAll true", hexWords(t, k5Selector("setApprovalForAll(address,bool)"), w(spender), w("1")), alice, true, false},
		{"setApprovalForAll false", hexWords(t, k5Selector("setApprovalForAll(address,bool)"), w(spender), w("0")), alice, false, true},
		{"Permit2 approve max", hexWords(t, k5Selector("approve(address,address,uint160,uint48)"), w(token), w(spender), w(max160), w("0")), "0x" + token, true, false},
		{"DAI permit allowed", hexWords(t, k5Selector("permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)"),
			w("1111111111111111111111111111111111111111"), w(spender), w("0"), w("0"), w("1"), w("1b"), w("1"), w("2")), alice, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := callResult(t, DefaultRegistry(), alice, c.data, nil)
			if !res.Verified {
				t.Fatalf("not verified: %s", res.Reason)
			}
			g := res.Facts.Call.Grants
			if len(g) != 1 || g[0].Token != c.token || g[0].Spender != "0x"+spender || g[0].All != c.all || g[0].Revoke != c.revoke {
				t.Fatalf("grants %s, want token %s all %v revoke %v", renderJSON(g), c.token, c.all, c.revoke)
			}
		})
	}
	t.Run("setApprovalForAll bool 2", func(t *testing.T) {
		res := callResult(t, DefaultRegistry(), alice, hexWords(t, k5Selector("setApprovalForAll(address,bool)"), w(spender), w("2")), nil)
		if res.Verified {
			t.Fatalf("verified with grants %s", renderJSON(res.Facts.Call.Grants))
		}
	})
	t.Run("calldata_info selector mismatch", func(t *testing.T) {
		data := hexWords(t, k5Selector("approve(address,uint256)"), w(spender), w("1"))
		res := callResult(t, DefaultRegistry(), alice, data, map[string]any{"method": map[string]any{"selector": "0xa9059cbb", "name": "transfer", "sig": "transfer(address,uint256)"}})
		if res.Verified {
			t.Fatal("verified with calldata_info describing transfer")
		}
	})
}
