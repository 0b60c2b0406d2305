package txverify

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

// Calldata in these tests is written out word by word (hexWords), as the
// Solidity ABI specification lays out its examples, so no encoder of the
// code under test is involved.

func hexWords(t testing.TB, words ...string) []byte {
	t.Helper()
	var out []byte
	for _, w := range words {
		b, err := hex.DecodeString(w)
		if err != nil {
			t.Fatalf("bad test word %q", w)
		}
		out = append(out, b...)
	}
	return out
}

// w is a 32-byte word holding n, left-padded.
func w(n string) string { return strings.Repeat("0", 64-len(n)) + n }

// r is a 32-byte word holding hex bytes b, right-padded.
func r(b string) string { return b + strings.Repeat("0", 64-len(b)) }

const callContract = "0x3333333333333333333333333333333333333333"

// callRequest verifies an EIP-1559 ETH call of data to contract.
func callResult(t testing.TB, reg *Registry, contract string, data []byte, info map[string]any) Result {
	t.Helper()
	spec := evmSpec{typ: 2, chainID: 1, nonce: 1, gas: 100000, tip: big.NewInt(1), fee: big.NewInt(gwei), to: contract, data: data}
	d := desc{tokenID: "ETH", chainID: "ETH", destType: "EVM_Contract", address: contract, amount: "0", calldata: "0x" + hex.EncodeToString(data), calldataInfo: info}
	d.rawTx, d.msgHashes = spec.hexTx(), []string{spec.hash()}
	return reg.Verify(v2Request(t, d))
}

func fooRegistry(t testing.TB) *Registry {
	t.Helper()
	abi := `[
	  {"type":"function","name":"sam","inputs":[{"name":"name","type":"bytes"},{"name":"z","type":"bool"},{"name":"data","type":"uint256[]"}]},
	  {"type":"function","name":"g","inputs":[{"name":"","type":"uint256[][]"},{"name":"","type":"string[]"}]},
	  {"type":"function","name":"approve","inputs":[{"name":"guy","type":"address"},{"name":"wad","type":"uint256"}]},
	  {"type":"function","name":"order","inputs":[{"name":"o","type":"tuple","components":[{"name":"maker","type":"address"},{"name":"amounts","type":"uint128[2]"},{"name":"memo","type":"string"}]}]},
	  {"type":"event","name":"Ignored","inputs":[]}
	]`
	reg, err := DefaultRegistry().WithABIs(ABIEntry{File: "foo.json", JSON: []byte(abi), Contracts: []string{strings.ToUpper(callContract[:2]) + callContract[2:]}, EVMChainID: big.NewInt(1)})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestCallDecoding(t *testing.T) {
	reg := fooRegistry(t)
	// The ABI specification's sam("dave", true, [1, 2, 3]).
	sam := hexWords(t, selectorOf("sam(bytes,bool,uint256[])"), w("60"), w("1"), w("a0"), w("4"), r("64617665"), w("3"), w("1"), w("2"), w("3"))
	// The specification's g([[1, 2], [3]], ["one", "two", "three"]).
	g := hexWords(t, selectorOf("g(uint256[][],string[])"), w("40"), w("140"),
		w("2"), w("40"), w("a0"), w("2"), w("1"), w("2"), w("1"), w("3"),
		w("3"), w("60"), w("a0"), w("e0"), w("3"), r("6f6e65"), w("3"), r("74776f"), w("5"), r("7468726565"))
	order := hexWords(t, selectorOf("order((address,uint128[2],string))"), w("20"),
		w("1111111111111111111111111111111111111111"), w("5"), w("6"), w("80"), w("2"), r("6869"))
	cases := []struct {
		name, contract string
		data           []byte
		method, args   string
		field          string
	}{
		{"spec sam", callContract, sam, "sam", `{"data":["1","2","3"],"name":"0x64617665","z":true}`, ""},
		{"spec g, unnamed", callContract, g, "g", `{"arg0":[["1","2"],["3"]],"arg1":["one","two","three"]}`, ""},
		{"tuple", callContract, order, "order", `{"o":{"amounts":["5","6"],"maker":"0x1111111111111111111111111111111111111111","memo":"hi"}}`, ""},
		{"contract ABI wins over built-in", callContract, hexWords(t, "095ea7b3", w("2222222222222222222222222222222222222222"), w("7")), "approve", `{"guy":"0x2222222222222222222222222222222222222222","wad":"7"}`, ""},
		{"built-in elsewhere", alice, hexWords(t, "095ea7b3", w("2222222222222222222222222222222222222222"), w("7")), "approve", `{"spender":"0x2222222222222222222222222222222222222222","value":"7"}`, ""},
		{"configured ABI only for its contract", alice, sam, "", "", ""},
		{"unknown selector", callContract, hexWords(t, "deadbeef", w("1")), "", "", ""},
		{"trailing byte", callContract, append(append([]byte{}, sam...), 0), "", "", "calldata"},
		{"trailing word", callContract, append(append([]byte{}, sam...), make([]byte, 32)...), "", "", "calldata"},
		{"dirty bool", callContract, hexWords(t, selectorOf("sam(bytes,bool,uint256[])"), w("60"), w("2"), w("a0"), w("4"), r("64617665"), w("3"), w("1"), w("2"), w("3")), "", "", "calldata"},
		{"dirty bytes padding", callContract, hexWords(t, selectorOf("sam(bytes,bool,uint256[])"), w("60"), w("1"), w("a0"), w("4"), r("6461766501"), w("3"), w("1"), w("2"), w("3")), "", "", "calldata"},
		{"offset out of range", callContract, hexWords(t, selectorOf("sam(bytes,bool,uint256[])"), w("60"), w("1"), w("ffff"), w("4"), r("64617665"), w("3"), w("1"), w("2"), w("3")), "", "", "calldata"},
		{"shared offsets", callContract, hexWords(t, selectorOf("g(uint256[][],string[])"), w("40"), w("40"), w("0")), "", "", "calldata"},
		{"array length beyond data", callContract, hexWords(t, selectorOf("sam(bytes,bool,uint256[])"), w("60"), w("1"), w("a0"), w("4"), r("64617665"), w("ffffffff")), "", "", "calldata"},
		{"dirty address", alice, hexWords(t, "095ea7b3", "01"+w("2222222222222222222222222222222222222222")[2:], w("7")), "", "", "calldata"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := callResult(t, reg, tc.contract, tc.data, nil)
			if tc.field != "" {
				if res.Verified || res.Field != tc.field {
					t.Fatalf("got %q (%s), want %s", res.Field, res.Reason, tc.field)
				}
				return
			}
			if !res.Verified {
				t.Fatalf("not verified: %s", res.Reason)
			}
			c := res.Facts.Call
			if c == nil || c.Contract != tc.contract || c.Selector != "0x"+hex.EncodeToString(tc.data[:4]) {
				t.Fatalf("call facts %+v", c)
			}
			if c.Method != tc.method {
				t.Errorf("method %q, want %q", c.Method, tc.method)
			}
			if tc.method == "" {
				if c.Args != nil || c.Signature != "" {
					t.Errorf("unknown selector has args %v", c.Args)
				}
				return
			}
			if got := renderJSON(c.Args); got != tc.args {
				t.Errorf("args %s\nwant %s", got, tc.args)
			}
		})
	}
}

func TestCallGrants(t *testing.T) {
	max256 := strings.Repeat("f", 64)
	max160 := strings.Repeat("f", 40)
	spender := "2222222222222222222222222222222222222222"
	token := "4444444444444444444444444444444444444444"
	cases := []struct {
		name  string
		data  []byte
		grant string
	}{
		{"ERC-20 approve unlimited", hexWords(t, "095ea7b3", w(spender), max256),
			`[{"Token":"` + alice + `","Spender":"0x` + spender + `","Amount":"` + new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1)).String() + `","All":true,"Revoke":false}]`},
		// alice is in no token table: approve(x, 0) may be ERC-721's
		// approve(to, tokenId 0), a grant; only approve(address(0), n)
		// revokes under both readings.
		{"approve 0 on an unknown contract is no revoke", hexWords(t, "095ea7b3", w(spender), w("0")),
			`[{"Token":"` + alice + `","Spender":"0x` + spender + `","Amount":"0","All":false,"Revoke":false}]`},
		{"approve to address(0) on an unknown contract revokes", hexWords(t, "095ea7b3", w("0"), w("7")),
			`[{"Token":"` + alice + `","Spender":"0x` + strings.Repeat("0", 40) + `","Amount":"7","All":false,"Revoke":true}]`},
		{"increaseAllowance", hexWords(t, selectorOf("increaseAllowance(address,uint256)"), w(spender), w("64")),
			`[{"Token":"` + alice + `","Spender":"0x` + spender + `","Amount":"100","All":false,"Revoke":false}]`},
		{"setApprovalForAll true", hexWords(t, selectorOf("setApprovalForAll(address,bool)"), w(spender), w("1")),
			`[{"Token":"` + alice + `","Spender":"0x` + spender + `","Amount":"0","All":true,"Revoke":false}]`},
		{"setApprovalForAll false", hexWords(t, selectorOf("setApprovalForAll(address,bool)"), w(spender), w("0")),
			`[{"Token":"` + alice + `","Spender":"0x` + spender + `","Amount":"0","All":false,"Revoke":true}]`},
		{"Permit2 approve: token is the argument", hexWords(t, selectorOf("approve(address,address,uint160,uint48)"), w(token), w(spender), w(max160), w("5")),
			`[{"Token":"0x` + token + `","Spender":"0x` + spender + `","Amount":"1461501637330902918203684832716283019655932542975","All":true,"Revoke":false}]`},
		{"Permit2 permit with a tuple", hexWords(t, selectorOf("permit(address,((address,uint160,uint48,uint48),address,uint256),bytes)"),
			w("1111111111111111111111111111111111111111"), w(token), w("3e8"), w("5"), w("0"), w(spender), w("9"), w("100"), w("1"), r("aa")),
			`[{"Token":"0x` + token + `","Spender":"0x` + spender + `","Amount":"1000","All":false,"Revoke":false}]`},
		{"Permit2 batch permit: a grant per detail", hexWords(t, selectorOf("permit(address,((address,uint160,uint48,uint48)[],address,uint256),bytes)"),
			w("1111111111111111111111111111111111111111"), w("60"), w("1e0"), // owner, offsets of permitBatch and signature
			w("60"), w(spender), w("9"), // permitBatch: offset of details, spender, sigDeadline
			w("2"), w(token), w("3e8"), w("5"), w("0"), w("3333333333333333333333333333333333333333"), w("0"), w("5"), w("1"),
			w("1"), r("aa")),
			`[{"Token":"0x` + token + `","Spender":"0x` + spender + `","Amount":"1000","All":false,"Revoke":false},` +
				`{"Token":"0x3333333333333333333333333333333333333333","Spender":"0x` + spender + `","Amount":"0","All":false,"Revoke":true}]`},
		{"transfer grants nothing", hexWords(t, "a9059cbb", w(spender), w("1")), `[]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := callResult(t, DefaultRegistry(), alice, tc.data, nil)
			if !res.Verified {
				t.Fatalf("not verified: %s", res.Reason)
			}
			if got := renderJSON(res.Facts.Call.Grants); got != tc.grant {
				t.Errorf("grants %s\nwant   %s", got, tc.grant)
			}
		})
	}
}

// approve(spender, 0) is a revoke only on a contract the token table
// knows (an ERC-20). A call to a listed token other than its transfer
// never verifies today (the method check refuses it first), so the
// ERC-20 reading is checked on grantsOf itself.
func TestApproveRevokeByStandard(t *testing.T) {
	sel := [4]byte{0x09, 0x5e, 0xa7, 0xb3}
	spender := bytes.Repeat([]byte{0x22}, 20)
	zero := make([]byte, 20)
	cases := []struct {
		name    string
		erc20   bool
		spender []byte
		amount  int64
		revoke  bool
	}{
		{"ERC-20 approve 0 revokes", true, spender, 0, true},
		{"ERC-20 approve 5 grants", true, spender, 5, false},
		{"unknown contract approve 0 grants token 0", false, spender, 0, false},
		{"unknown contract approve to address(0) revokes", false, zero, 9, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := grantsOf(sel, tc.erc20, alice, []any{tc.spender, big.NewInt(tc.amount)}, evmAddr)
			if len(g) != 1 || g[0].Revoke != tc.revoke || g[0].Spender != "0x"+hex.EncodeToString(tc.spender) {
				t.Fatalf("grants %s, want revoke %v", renderJSON(g), tc.revoke)
			}
		})
	}
}

func TestCalldataInfo(t *testing.T) {
	data := hexWords(t, "095ea7b3", w("2222222222222222222222222222222222222222"), w("7"))
	info := func(name, sig, sel, address string) map[string]any {
		return map[string]any{"address": address, "method": map[string]any{"name": name, "sig": sig, "selector": sel}}
	}
	cases := []struct {
		name  string
		info  map[string]any
		field string
	}{
		{"agrees", info("approve", "approve(address,uint256)", "0x095ea7b3", strings.ToUpper(alice[2:])), ""},
		{"agrees, selector without 0x", info("approve", "approve(address,uint256)", "095EA7B3", alice), ""},
		{"other selector", info("approve", "approve(address,uint256)", "0xa9059cbb", alice), "calldata_info"},
		{"other signature", info("approve", "transfer(address,uint256)", "0x095ea7b3", alice), "calldata_info"},
		{"other name", info("transfer", "approve(address,uint256)", "0x095ea7b3", alice), "calldata_info"},
		{"other contract", info("approve", "approve(address,uint256)", "0x095ea7b3", bob), "calldata_info"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := callResult(t, DefaultRegistry(), alice, data, tc.info)
			if tc.field == "" {
				if !res.Verified {
					t.Fatalf("not verified: %s", res.Reason)
				}
				return
			}
			if res.Verified || res.Field != tc.field {
				t.Fatalf("got %q (%s), want %s", res.Field, res.Reason, tc.field)
			}
		})
	}
}

// A calldata_info on a transaction that calls no contract is a
// description the bytes contradict.
func TestCalldataInfoWithoutCall(t *testing.T) {
	spec := evmSpec{typ: 2, chainID: 1, nonce: 1, gas: 21000, tip: big.NewInt(1), fee: big.NewInt(gwei), to: bob, value: big.NewInt(5)}
	d := desc{tokenID: "ETH", chainID: "ETH", destType: "EVM_Contract", address: bob, amount: "0.000000000000000005",
		calldataInfo: map[string]any{"method": map[string]any{"name": "transfer", "sig": "transfer(address,uint256)", "selector": "0xa9059cbb"}}}
	d.rawTx, d.msgHashes = spec.hexTx(), []string{spec.hash()}
	if res := DefaultRegistry().Verify(v2Request(t, d)); res.Verified || res.Field != "calldata_info" {
		t.Fatalf("got %q %s", res.Field, res.Reason)
	}
	d.calldataInfo = map[string]any{"proxy": false}
	if res := DefaultRegistry().Verify(v2Request(t, d)); !res.Verified {
		t.Fatalf("an empty calldata_info: %s", res.Reason)
	}
}

func TestTRONCallDecoding(t *testing.T) {
	toABI := func(s string) []byte { return tronAddrBytes(t, s)[1:] }
	data := append(hexWords(t, "095ea7b3"), append(make([]byte, 12), toABI(tronTo)...)...)
	data = append(data, hexWords(t, w("0"))...)
	raw := tronTrigger(t, tronTo, 0, data)
	res := DefaultRegistry().Verify(v2Request(t, tronDesc(raw, desc{tokenID: "TRON", destType: "TRON_Contract", address: tronTo, amount: "0", calldata: hex.EncodeToString(data)})))
	if !res.Verified {
		t.Fatal(res.Reason)
	}
	c := res.Facts.Call
	if c.Contract != tronTo || c.Args["spender"] != tronTo || len(c.Grants) != 1 || c.Grants[0].Revoke || c.Grants[0].Spender != tronTo {
		t.Errorf("call %+v", c)
	}
}

func TestABILoadErrors(t *testing.T) {
	cases := []struct {
		name string
		e    ABIEntry
		want string
	}{
		{"not JSON", ABIEntry{File: "a.json", JSON: []byte("{"), EVMChainID: big.NewInt(1)}, "a.json: not a JSON ABI"},
		{"no chain", ABIEntry{File: "b.json", JSON: []byte(`[]`)}, "b.json: evm_chain_id is required"},
		{"no functions", ABIEntry{File: "c.json", JSON: []byte(`[{"type":"event","name":"E"}]`), EVMChainID: big.NewInt(1)}, "c.json: declares no functions"},
		{"bad type", ABIEntry{File: "d.json", JSON: []byte(`[{"type":"function","name":"f","inputs":[{"name":"x","type":"uint7"}]}]`), EVMChainID: big.NewInt(1)}, `d.json: function f: parameter x: unknown ABI type "uint7"`},
		{"huge static type", ABIEntry{File: "f.json", JSON: []byte(`[{"type":"function","name":"f","inputs":[{"name":"x","type":"uint256[16384][16384][16384][16384]"}]}]`), EVMChainID: big.NewInt(1)}, "f.json: function f: parameter x: type uint256[16384][16384] is over"},
		{"bad contract", ABIEntry{File: "e.json", JSON: []byte(`[{"type":"function","name":"f","inputs":[]}]`), Contracts: []string{"0x12"}, EVMChainID: big.NewInt(1)}, `e.json: contract "0x12"`},
		// A public 4byte collision with approve(address,uint256).
		{"built-in selector redefined", ABIEntry{File: "g.json", JSON: []byte(`[{"type":"function","name":"sign_szabo_bytecode","inputs":[{"name":"b","type":"bytes16"},{"name":"n","type":"uint128"}]}]`), Contracts: []string{alice}, EVMChainID: big.NewInt(1)},
			"g.json: function sign_szabo_bytecode(bytes16,uint128) has the selector 0x095ea7b3 of the built-in approve(address,uint256)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DefaultRegistry().WithABIs(tc.e)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("conflicting names across files", func(t *testing.T) {
		a := ABIEntry{File: "one.json", JSON: []byte(`[{"type":"function","name":"f","inputs":[{"name":"x","type":"uint256"}]}]`), EVMChainID: big.NewInt(1)}
		b := a
		b.File, b.JSON = "two.json", []byte(`[{"type":"function","name":"f","inputs":[{"name":"y","type":"uint256"}]}]`)
		_, err := DefaultRegistry().WithABIs(a, b)
		if err == nil || !strings.Contains(err.Error(), "two.json") || !strings.Contains(err.Error(), "one.json") {
			t.Fatalf("error %v", err)
		}
	})
}

// FuzzABIDecode: the decoder never panics, and whatever it accepts
// re-encodes to exactly its input.
func FuzzABIDecode(f *testing.F) {
	reg := fooRegistry(f)
	f.Add(hexWords(f, selectorOf("sam(bytes,bool,uint256[])"), w("60"), w("1"), w("a0"), w("4"), r("64617665"), w("3"), w("1"), w("2"), w("3")))
	f.Add(hexWords(f, selectorOf("g(uint256[][],string[])"), w("40"), w("140"), w("2"), w("40"), w("a0"), w("2"), w("1"), w("2"), w("1"), w("3"), w("3"), w("60"), w("a0"), w("e0"), w("3"), r("6f6e65"), w("3"), r("74776f"), w("5"), r("7468726565")))
	f.Add(hexWords(f, selectorOf("order((address,uint128[2],string))"), w("20"), w("1"), w("5"), w("6"), w("80"), w("2"), r("6869")))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 4 {
			return
		}
		var sel [4]byte
		copy(sel[:], data)
		fn, ok := reg.lookupABI(big.NewInt(1), callContract, sel)
		if !ok {
			return
		}
		dec := abiDecoder{addr: evmAddr}
		args, vals, err := dec.decodeCall(fn, data[4:])
		if err != nil {
			return
		}
		if enc := encodeABI(&abiT{kind: 't', comps: fn.inputs}, vals); string(enc) != string(data[4:]) {
			t.Fatalf("accepted non-canonical calldata %x", data)
		}
		if _, err := json.Marshal(args); err != nil {
			t.Fatal(err)
		}
	})
}
