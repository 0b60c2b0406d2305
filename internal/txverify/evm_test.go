package txverify

import (
	"bytes"
	"encoding/hex"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

// rlpEnc encodes a []byte as a string and a []any as a list, following the
// Yellow Paper's appendix B. It is the tests' independent encoder.
func rlpEnc(v any) []byte {
	switch x := v.(type) {
	case []byte:
		if len(x) == 1 && x[0] < 0x80 {
			return []byte{x[0]}
		}
		return append(rlpHeader(0x80, len(x)), x...)
	case []any:
		var payload []byte
		for _, it := range x {
			payload = append(payload, rlpEnc(it)...)
		}
		return append(rlpHeader(0xc0, len(payload)), payload...)
	}
	panic("rlpEnc: unsupported type")
}

func rlpHeader(base byte, n int) []byte {
	if n <= 55 {
		return []byte{base + byte(n)}
	}
	lb := new(big.Int).SetInt64(int64(n)).Bytes()
	return append([]byte{base + 55 + byte(len(lb))}, lb...)
}

// ui is the RLP byte string of an unsigned integer (0 is empty).
func ui(n uint64) []byte { return new(big.Int).SetUint64(n).Bytes() }

// evmSpec is a transaction to build.
type evmSpec struct {
	typ                byte // 0, 1, 2
	chainID            uint64
	nonce, gas         uint64
	gasPrice, tip, fee *big.Int
	to                 string // "" creates a contract
	value              *big.Int
	data               []byte
	accessList         []any
}

func (s evmSpec) encode() []byte {
	to := []byte{}
	if s.to != "" {
		to, _ = hex.DecodeString(strings.TrimPrefix(s.to, "0x"))
	}
	val := s.value
	if val == nil {
		val = new(big.Int)
	}
	al := s.accessList
	if al == nil {
		al = []any{}
	}
	switch s.typ {
	case 1:
		return append([]byte{1}, rlpEnc([]any{ui(s.chainID), ui(s.nonce), s.gasPrice.Bytes(), ui(s.gas), to, val.Bytes(), s.data, al})...)
	case 2:
		return append([]byte{2}, rlpEnc([]any{ui(s.chainID), ui(s.nonce), s.tip.Bytes(), s.fee.Bytes(), ui(s.gas), to, val.Bytes(), s.data, al})...)
	}
	return rlpEnc([]any{ui(s.nonce), s.gasPrice.Bytes(), ui(s.gas), to, val.Bytes(), s.data, ui(s.chainID), []byte{}, []byte{}})
}

func (s evmSpec) hexTx() string { return "0x" + hex.EncodeToString(s.encode()) }

func (s evmSpec) hash() string {
	h := keccak256(s.encode())
	return "0x" + hex.EncodeToString(h[:])
}

// erc20 builds calldata for selector with 32-byte words.
func erc20(sel string, words ...[]byte) []byte {
	out, _ := hex.DecodeString(sel)
	for _, w := range words {
		out = append(out, make([]byte, 32-len(w))...)
		out = append(out, w...)
	}
	return out
}

func addr(s string) []byte {
	b, _ := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	return b
}

const (
	usdt    = "0xdac17f958d2ee523a2206206994597c13d831ec7"
	usdc    = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
	alice   = "0x1111111111111111111111111111111111111111"
	bob     = "0x2222222222222222222222222222222222222222"
	router  = "0x7a250d5630b4cf539739c2ab0f0e2a4e4c7b4c3d"
	gwei    = 1_000_000_000
	oneEth  = "1000000000000000000"
	sepolia = 11155111
)

func TestSelectorsAreKeccak(t *testing.T) {
	for sig, sel := range map[string][4]byte{
		"transfer(address,uint256)":             selTransfer,
		"transferFrom(address,address,uint256)": selTransferFrom,
		"approve(address,uint256)":              selApprove,
	} {
		h := keccak256([]byte(sig))
		if [4]byte(h[:4]) != sel {
			t.Errorf("%s: selector %x, keccak says %x", sig, sel, h[:4])
		}
	}
}

func TestEVMGenerated(t *testing.T) {
	eth := func(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }
	legacy := func(to string, value *big.Int, data []byte) evmSpec {
		return evmSpec{chainID: 1, nonce: 7, gas: 60000, gasPrice: big.NewInt(30 * gwei), to: to, value: value, data: data}
	}
	dyn := func(to string, value *big.Int, data []byte) evmSpec {
		return evmSpec{typ: 2, chainID: 1, nonce: 8, gas: 90000, tip: big.NewInt(2 * gwei), fee: big.NewInt(50 * gwei), to: to, value: value, data: data}
	}
	transfer := erc20("a9059cbb", addr(bob), big.NewInt(1_500_000).Bytes())
	approve := erc20("095ea7b3", addr(router), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1)).Bytes())
	swap := append(addr("38ed1739"), make([]byte, 64)...)

	tests := []struct {
		name   string
		spec   evmSpec
		d      desc // rawTx and msgHashes are filled in
		field  string
		reason string
		method string
	}{
		{name: "legacy native", spec: legacy(bob, eth(2), nil), d: desc{tokenID: "ETH", chainID: "ETH", address: bob, amount: "2"}, method: "native_transfer"},
		{name: "eip2930 native with access list", spec: evmSpec{typ: 1, chainID: 1, nonce: 1, gas: 30000, gasPrice: big.NewInt(gwei), to: bob, value: eth(1),
			accessList: []any{[]any{addr(usdt), []any{make([]byte, 32), bytes.Repeat([]byte{1}, 32)}}, []any{addr(alice), []any{}}}},
			d: desc{tokenID: "ETH", chainID: "ETH", address: strings.ToUpper(bob[:2]) + bob[2:], amount: "1"}, method: "native_transfer"},
		{name: "eip1559 USDC transfer", spec: dyn(usdc, nil, transfer), d: desc{tokenID: "ETH_USDC", chainID: "ETH", address: bob, amount: "1.5"}, method: "token_transfer"},
		{name: "eip2930 USDT transfer", spec: evmSpec{typ: 1, chainID: 1, gas: 70000, gasPrice: big.NewInt(gwei), to: usdt, data: transfer},
			d: desc{tokenID: "ETH_USDT", chainID: "ETH", address: bob, amount: "1.5"}, method: "token_transfer"},
		{name: "transferFrom", spec: dyn(usdt, nil, erc20("23b872dd", addr(alice), addr(bob), big.NewInt(42).Bytes())),
			d: desc{tokenID: "ETH_USDT", chainID: "ETH", address: bob, amount: "0.000042"}, field: "method", reason: "transferFrom"},
		{name: "approve described as a transfer", spec: dyn(usdt, nil, approve),
			d: desc{tokenID: "ETH_USDT", chainID: "ETH", address: router, amount: "1"}, field: "method", reason: "approve"},
		{name: "approve described as a contract call", spec: dyn(usdt, nil, approve),
			d: desc{tokenID: "ETH", chainID: "ETH", destType: "EVM_Contract", address: usdt, amount: "0", calldata: "0x" + hex.EncodeToString(approve)}, field: "method", reason: "must be described under the token's own token_id"},
		{name: "token transfer described as a native contract call", spec: dyn(usdt, nil, transfer),
			d: desc{tokenID: "ETH", chainID: "ETH", destType: "EVM_Contract", address: usdt, amount: "0", calldata: hex.EncodeToString(transfer)}, field: "method", reason: "calls token_transfer"},
		{name: "contract call", spec: dyn(router, eth(3), swap),
			d: desc{tokenID: "ETH", chainID: "ETH", destType: "EVM_Contract", address: router, amount: "3", calldata: "0X" + strings.ToUpper(hex.EncodeToString(swap))}, method: "contract_call"},
		{name: "contract call with no value key", spec: dyn(router, nil, swap),
			d: desc{tokenID: "ETH", chainID: "ETH", destType: "EVM_Contract", address: router, amount: "", calldata: hex.EncodeToString(swap)}, method: "contract_call"},
		{name: "contract call, calldata differs", spec: dyn(router, nil, swap),
			d: desc{tokenID: "ETH", chainID: "ETH", destType: "EVM_Contract", address: router, amount: "0", calldata: "0x38ed1739"}, field: "calldata"},
		{name: "contract call, value differs", spec: dyn(router, eth(3), swap),
			d: desc{tokenID: "ETH", chainID: "ETH", destType: "EVM_Contract", address: router, amount: "2", calldata: hex.EncodeToString(swap)}, field: "value"},
		{name: "contract call, other contract", spec: dyn(router, nil, swap),
			d: desc{tokenID: "ETH", chainID: "ETH", destType: "EVM_Contract", address: usdt, amount: "0", calldata: hex.EncodeToString(swap)}, field: "destination"},
		{name: "contract call labelled with a token", spec: dyn(router, nil, swap),
			d: desc{tokenID: "ETH_USDT", chainID: "ETH", destType: "EVM_Contract", address: router, amount: "0", calldata: hex.EncodeToString(swap)}, field: "token"},
		{name: "native transfer with calldata", spec: legacy(bob, eth(1), []byte{0xde, 0xad}),
			d: desc{tokenID: "ETH", chainID: "ETH", address: bob, amount: "1"}, field: "method", reason: "contract_call"},
		{name: "token transfer also sending ETH", spec: dyn(usdt, eth(1), transfer),
			d: desc{tokenID: "ETH_USDT", chainID: "ETH", address: bob, amount: "1.5"}, field: "value"},
		{name: "token transfer on a look-alike contract", spec: dyn(alice, nil, transfer),
			d: desc{tokenID: "ETH_USDT", chainID: "ETH", address: bob, amount: "1.5"}, field: "token", reason: alice},
		{name: "USDC bytes labelled USDT", spec: dyn(usdc, nil, transfer),
			d: desc{tokenID: "ETH_USDT", chainID: "ETH", address: bob, amount: "1.5"}, field: "token", reason: usdc},
		{name: "transfer with dirty address padding", spec: dyn(usdt, nil, append(addr("a9059cbb"), append(append(bytes.Repeat([]byte{0}, 11), 1), append(addr(bob), make([]byte, 32)...)...)...)),
			d: desc{tokenID: "ETH_USDT", chainID: "ETH", address: bob, amount: "0"}, field: "method", reason: "contract_call"},
		{name: "transfer with trailing words", spec: dyn(usdt, nil, append(transfer, make([]byte, 32)...)),
			d: desc{tokenID: "ETH_USDT", chainID: "ETH", address: bob, amount: "1.5"}, field: "method"},
		{name: "mainnet bytes labelled Sepolia", spec: legacy(bob, eth(1), nil),
			d: desc{tokenID: "SETH", chainID: "SETH", address: bob, amount: "1"}, field: "chain_id", reason: "11155111"},
		{name: "Sepolia bytes labelled ETH", spec: evmSpec{chainID: sepolia, gas: 21000, gasPrice: big.NewInt(1), to: bob, value: eth(1)},
			d: desc{tokenID: "ETH", chainID: "ETH", address: bob, amount: "1"}, field: "chain_id"},
		{name: "contract creation", spec: dyn("", nil, swap),
			d: desc{tokenID: "ETH", chainID: "ETH", address: bob, amount: "0"}, field: "destination", reason: "creates a contract"},
		{name: "invalid description address", spec: legacy(bob, eth(1), nil),
			d: desc{tokenID: "ETH", chainID: "ETH", address: "0x2222", amount: "1"}, field: "destination", reason: "not a 0x-prefixed"},
		{name: "wallet destination", spec: legacy(bob, eth(1), nil),
			d: desc{tokenID: "ETH", chainID: "ETH", destType: "CustodialWallet", amount: "1"}, field: "destination", reason: "Cobo wallet"},
		{name: "message signature destination", spec: legacy(bob, eth(1), nil),
			d: desc{tokenID: "ETH", chainID: "ETH", destType: "EVM_EIP_191_Signature"}, field: "destination_type"},
		{name: "amount beyond token decimals", spec: dyn(usdt, nil, transfer),
			d: desc{tokenID: "ETH_USDT", chainID: "ETH", address: bob, amount: "1.5000001"}, field: "amount"},
	}
	reg := DefaultRegistry()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.d
			d.rawTx, d.msgHashes = tt.spec.hexTx(), []string{tt.spec.hash()}
			res := reg.Verify(v2Request(t, d))
			if tt.field != "" {
				wantFailure(t, res, tt.field, tt.reason)
				return
			}
			wantVerified(t, res)
			if res.Facts.Method != tt.method {
				t.Errorf("method %q, want %q", res.Facts.Method, tt.method)
			}
		})
	}
}

func TestEVMFacts(t *testing.T) {
	approveAll := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	spec := evmSpec{typ: 2, chainID: 1, nonce: 12, gas: 50000, tip: big.NewInt(3), fee: big.NewInt(40 * gwei), to: usdt,
		data: erc20("095ea7b3", addr(router), approveAll.Bytes())}
	tx, err := decodeEVM(spec.encode())
	if err != nil {
		t.Fatal(err)
	}
	f := tx.facts(DefaultRegistry())
	switch {
	case f.Method != "approve" || f.Selector != "095ea7b3" || f.TokenContract != usdt:
		t.Errorf("method %q selector %q contract %q", f.Method, f.Selector, f.TokenContract)
	case f.Spender != router || f.Allowance.Cmp(approveAll) != 0:
		t.Errorf("spender %q allowance %s", f.Spender, f.Allowance)
	case *f.Nonce != 12 || *f.GasLimit != 50000 || f.ChainID.Int64() != 1 || f.TxType != "eip1559":
		t.Errorf("nonce %d gas %d chain %s type %s", *f.Nonce, *f.GasLimit, f.ChainID, f.TxType)
	case f.MaxFeePerGas.Int64() != 40*gwei || f.MaxPriorityFeePerGas.Int64() != 3 || f.GasPrice != nil:
		t.Errorf("fees %s %s %v", f.MaxFeePerGas, f.MaxPriorityFeePerGas, f.GasPrice)
	case f.MaxFee.Cmp(big.NewInt(50000*40*gwei)) != 0:
		t.Errorf("max fee %s", f.MaxFee)
	case len(f.Destinations) != 1 || f.Destinations[0].Address != usdt || f.Destinations[0].BaseUnits.Sign() != 0:
		t.Errorf("destinations %+v", f.Destinations)
	}

	// A token the registry does not know: amounts stay unscaled.
	spec.data = erc20("a9059cbb", addr(bob), big.NewInt(5).Bytes())
	spec.to = alice
	tx, err = decodeEVM(spec.encode())
	if err != nil {
		t.Fatal(err)
	}
	f = tx.facts(DefaultRegistry())
	if d := f.Destinations[0]; d.AmountKnown || d.BaseUnits.Int64() != 5 || d.Address != bob || f.TokenContract != alice {
		t.Errorf("unknown token destination %+v, contract %s", d, f.TokenContract)
	}
}

func TestDecodeEVMRefuses(t *testing.T) {
	ok := evmSpec{chainID: 1, gas: 21000, gasPrice: big.NewInt(1), to: bob, value: big.NewInt(1)}
	legacyItems := func(edit func(items []any) []any) []byte {
		items := []any{ui(0), ui(1), ui(21000), addr(bob), ui(1), []byte{}, ui(1), []byte{}, []byte{}}
		return rlpEnc(edit(items))
	}
	tests := []struct {
		name   string
		raw    []byte
		reason string
	}{
		{"empty", nil, "empty"},
		{"signed legacy", legacyItems(func(it []any) []any { it[6], it[7], it[8] = ui(37), ui(5), ui(6); return it }), "signed"},
		{"pre-EIP-155", legacyItems(func(it []any) []any { return it[:6] }), "EIP-155"},
		{"chain id 0", legacyItems(func(it []any) []any { it[6] = []byte{}; return it }), "chain id is 0"},
		{"ten fields", legacyItems(func(it []any) []any { return append(it, []byte{}) }), "10 fields"},
		{"19-byte to", legacyItems(func(it []any) []any { it[3] = addr(bob)[:19]; return it }), "19 bytes"},
		{"list as nonce", legacyItems(func(it []any) []any { it[0] = []any{}; return it }), "nonce is a list"},
		{"nonce over 64 bits", legacyItems(func(it []any) []any { it[0] = bytes.Repeat([]byte{1}, 9); return it }), "nonce is 9 bytes"},
		{"value with leading zero", legacyItems(func(it []any) []any { it[4] = []byte{0, 1}; return it }), "leading zero"},
		{"single byte as string", []byte{0xc2, 0x81, 0x05}, "non-canonical"},
		{"long form for short list", append([]byte{0xf8, 0x02}, 0x80, 0x80), "non-canonical"},
		{"trailing byte", append(ok.encode(), 0), "after the RLP item"},
		{"truncated", ok.encode()[:10], "truncated"},
		{"blob transaction", append([]byte{3}, rlpEnc([]any{})...), "0x03"},
		{"EIP-7702 transaction", append([]byte{4}, rlpEnc([]any{})...), "0x04"},
		{"signed EIP-1559", append([]byte{2}, rlpEnc([]any{ui(1), ui(0), ui(1), ui(1), ui(21000), addr(bob), ui(1), []byte{}, []any{}, ui(1), ui(2), ui(3)})...), "12 fields"},
		{"typed payload is a string", append([]byte{2}, rlpEnc([]byte("abc"))...), "not an RLP list"},
		{"bad access list", append([]byte{1}, rlpEnc([]any{ui(1), ui(0), ui(1), ui(21000), addr(bob), ui(1), []byte{}, []any{[]any{addr(bob)[:5], []any{}}}})...), "accessList entry 0"},
		{"access list key size", append([]byte{1}, rlpEnc([]any{ui(1), ui(0), ui(1), ui(21000), addr(bob), ui(1), []byte{}, []any{[]any{addr(bob), []any{[]byte{1}}}}})...), "storage key"},
		{"string at top level", rlpEnc([]byte("hello")), "not an RLP list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeEVM(tt.raw)
			if err == nil {
				t.Fatal("decoded, want an error")
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not mention %q", err, tt.reason)
			}
		})
	}
}

// TestEVMRoundTrip encodes random transactions, decodes them and checks
// every field and the hash, then verifies each through a full request.
func TestEVMRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	randBig := func(maxBytes int) *big.Int {
		b := make([]byte, rng.IntN(maxBytes+1))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return new(big.Int).SetBytes(b)
	}
	randAddr := func() string {
		b := make([]byte, 20)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return "0x" + hex.EncodeToString(b)
	}
	for i := 0; i < 300; i++ {
		s := evmSpec{
			typ:      byte(rng.IntN(3)),
			chainID:  1 + rng.Uint64N(1<<40),
			nonce:    rng.Uint64(),
			gas:      rng.Uint64(),
			gasPrice: randBig(32),
			tip:      randBig(32),
			fee:      randBig(32),
			to:       randAddr(),
			value:    randBig(32),
		}
		switch rng.IntN(3) {
		case 1:
			s.data = erc20("a9059cbb", addr(randAddr()), randBig(32).Bytes())
		case 2:
			s.data = make([]byte, rng.IntN(300))
			for j := range s.data {
				s.data[j] = byte(rng.UintN(256))
			}
		}
		raw := s.encode()
		tx, err := decodeEVM(raw)
		if err != nil {
			t.Fatalf("case %d: %v (%x)", i, err, raw)
		}
		if tx.txType != s.typ || tx.chainID.Uint64() != s.chainID || tx.nonce != s.nonce || tx.gas != s.gas ||
			evmAddr(tx.to) != s.to || tx.value.Cmp(s.value) != 0 || !bytes.Equal(tx.data, s.data) {
			t.Fatalf("case %d: decoded %+v from %+v", i, tx, s)
		}
		if s.typ == 2 {
			if tx.maxPriority.Cmp(s.tip) != 0 || tx.maxFee.Cmp(s.fee) != 0 {
				t.Fatalf("case %d: fees %s %s", i, tx.maxPriority, tx.maxFee)
			}
		} else if tx.gasPrice.Cmp(s.gasPrice) != 0 {
			t.Fatalf("case %d: gas price %s", i, tx.gasPrice)
		}
		if want := keccak256(raw); tx.hash != want {
			t.Fatalf("case %d: hash %x, want %x", i, tx.hash, want)
		}

		// Through a request, labelled with a token for this chain id.
		reg, err := NewRegistry(Token{TokenID: "RND", Chain: ChainEVM, ChainID: "RND", Decimals: 18, EVMChainID: new(big.Int).SetUint64(s.chainID)})
		if err != nil {
			t.Fatal(err)
		}
		d := desc{tokenID: "RND", chainID: "RND", rawTx: s.hexTx(), msgHashes: []string{s.hash()}, address: s.to, amount: tokenUnits(t, s.value.String(), 18)}
		if len(s.data) > 0 {
			d.destType, d.calldata = "EVM_Contract", hex.EncodeToString(s.data)
		}
		res := reg.Verify(v2Request(t, d))
		if m := classifyCall(s.data).method; len(s.data) > 0 && (m == methodTokenTransfer || m == methodTokenTransferFr || m == methodApprove) {
			wantFailure(t, res, "method", "must be described under the token's own token_id")
			continue
		}
		wantVerified(t, res)
	}
}
