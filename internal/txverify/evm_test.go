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

// TestSelectorsAreKeccak recomputes every known method's selector from its
// canonical signature, written out here independently of the table.
func TestSelectorsAreKeccak(t *testing.T) {
	want := map[string]string{
		"transfer(address,uint256)":                                          "token_transfer",
		"transferFrom(address,address,uint256)":                              "token_transfer_from",
		"approve(address,uint256)":                                           "approve",
		"increaseAllowance(address,uint256)":                                 "increase_allowance",
		"decreaseAllowance(address,uint256)":                                 "decrease_allowance",
		"permit(address,address,uint256,uint256,uint8,bytes32,bytes32)":      "permit",
		"permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)": "permit",
		"setApprovalForAll(address,bool)":                                    "set_approval_for_all",
		"safeTransferFrom(address,address,uint256)":                          "nft_safe_transfer_from",
		"safeTransferFrom(address,address,uint256,bytes)":                    "nft_safe_transfer_from",
		"safeTransferFrom(address,address,uint256,uint256,bytes)":            "erc1155_safe_transfer_from",
		"safeBatchTransferFrom(address,address,uint256[],uint256[],bytes)":   "erc1155_safe_batch_transfer_from",
	}
	for sig, method := range want {
		t.Run(sig, func(t *testing.T) {
			h := keccak256([]byte(sig))
			m, ok := tokenMethods[[4]byte(h[:4])]
			if !ok {
				t.Fatalf("selector %x is not in the table", h[:4])
			}
			if m.signature() != sig || m.method != method {
				t.Errorf("table has %s as %s, want %s", m.signature(), m.method, method)
			}
		})
	}
	if len(tokenMethods) != len(want) {
		t.Errorf("table has %d methods, the test lists %d", len(tokenMethods), len(want))
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
			d: desc{tokenID: "ETH", chainID: "ETH", destType: "EVM_Contract", address: usdt, amount: "0", calldata: "0x" + hex.EncodeToString(approve)}, field: "method", reason: "must be described under its own token_id"},
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
			d: desc{tokenID: "ETH_USDT", chainID: "ETH", address: bob, amount: "0"}, field: "calldata", reason: "argument 1 (address) has non-zero padding"},
		{name: "transfer with trailing words", spec: dyn(usdt, nil, append(transfer, make([]byte, 32)...)),
			d: desc{tokenID: "ETH_USDT", chainID: "ETH", address: bob, amount: "1.5"}, field: "calldata", reason: "32 bytes after the last argument"},
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
	// A contract outside the table: its decimals are unknown, so the
	// destination is what a native contract call pays (the contract and
	// the native value); the method and contract stay visible.
	if d := f.Destinations[0]; len(f.Destinations) != 1 || !d.AmountKnown || d.BaseUnits.Sign() != 0 || d.Address != alice ||
		f.TokenContract != alice || f.Method != "token_transfer" {
		t.Errorf("unknown token: destinations %+v, contract %s, method %s", f.Destinations, f.TokenContract, f.Method)
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
		// Random contracts are outside the token table, so even a token
		// transfer verifies as a native contract call.
		wantVerified(t, res)
	}
}

// TestEVMTokenMethods covers token movements disguised as native contract
// calls: calldata with a known token method's selector must decode
// strictly whatever the contract, a token method on a contract in the
// token table must be described under the token's own token_id, and the
// same methods on other contracts verify as native calls with their
// method visible.
func TestEVMTokenMethods(t *testing.T) {
	const nft = "0x3333333333333333333333333333333333333333" // outside the token table
	million := bigInt(t, "1000000000000")                    // 1,000,000 USDT in base units
	transfer := abiEncode(hexTransfer, addr(bob), million)
	approve := abiEncode(hexApprove, addr(router), maxUint256)
	nftData := abiEncode(hexNFTSafeData, addr(alice), addr(bob), big.NewInt(7), abiTestBytes("hi"))
	permit := abiEncode(hexPermit, addr(alice), addr(router), maxUint256, big.NewInt(1<<40), word(27), word(0xaa), word(0xbb))
	daiPermit := abiEncode(hexDAIPermit, addr(alice), addr(router), big.NewInt(0), big.NewInt(0), true, word(28), word(0xaa), word(0xbb))
	batch := abiEncode(hexERC1155Batch, addr(alice), addr(bob), abiTestArray{big.NewInt(1)}, abiTestArray{big.NewInt(5)}, abiTestBytes{})
	eth := func(contract string, value *big.Int, data []byte) (evmSpec, desc) {
		s := evmSpec{typ: 2, chainID: 1, nonce: 3, gas: 100000, tip: big.NewInt(gwei), fee: big.NewInt(40 * gwei), to: contract, value: value, data: data}
		amount := "0"
		if value != nil {
			amount = tokenUnits(t, value.String(), 18)
		}
		return s, desc{tokenID: "ETH", chainID: "ETH", destType: "EVM_Contract", address: contract, amount: amount, calldata: "0x" + hex.EncodeToString(data)}
	}
	tests := []struct {
		name   string
		to     string
		value  *big.Int
		data   []byte
		asUSDT bool   // describe as an ETH_USDT transfer of 1,000,000 to bob instead
		field  string // "" means verified
		reason string
		method string // when verified
	}{
		// The finding: each verified under ETH as a 0-value contract call.
		{name: "USDT transfer + 1 trailing byte under ETH", to: usdt, data: append(transfer, 0), field: "calldata", reason: "transfer(address,uint256), but the arguments are not its canonical ABI encoding: 1 bytes after the last argument"},
		{name: "USDT transfer + 32 trailing bytes under ETH", to: usdt, data: append(transfer, make([]byte, 32)...), field: "calldata", reason: "32 bytes after the last argument"},
		{name: "USDT transfer with dirty address padding under ETH", to: usdt, data: edit(transfer, func(b []byte) []byte { b[4+11] = 1; return b }), field: "calldata", reason: "argument 1 (address) has non-zero padding"},
		{name: "USDT approve + trailing byte under ETH", to: usdt, data: append(approve, 0), field: "calldata", reason: "approve(address,uint256)"},
		{name: "USDT increaseAllowance(spender, max) under ETH", to: usdt, data: abiEncode(hexIncreaseAllowance, addr(router), maxUint256), field: "method", reason: "increase_allowance"},

		// Every token method on a table contract under the native token_id.
		{name: "USDT transfer under ETH", to: usdt, data: transfer, field: "method", reason: "calls token_transfer"},
		{name: "USDC transfer under ETH", to: usdc, data: transfer, field: "method", reason: "token_transfer"},
		{name: "USDT transferFrom under ETH", to: usdt, data: abiEncode(hexTransferFrom, addr(alice), addr(bob), million), field: "method", reason: "token_transfer_from"},
		{name: "USDT approve under ETH", to: usdt, data: approve, field: "method", reason: "approve"},
		{name: "USDT decreaseAllowance under ETH", to: usdt, data: abiEncode(hexDecreaseAllowance, addr(router), big.NewInt(1)), field: "method", reason: "decrease_allowance"},
		{name: "USDC EIP-2612 permit under ETH", to: usdc, data: permit, field: "method", reason: "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)"},
		{name: "USDC DAI-style permit under ETH", to: usdc, data: daiPermit, field: "method", reason: "permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)"},
		{name: "USDT setApprovalForAll under ETH", to: usdt, data: abiEncode(hexApprovalForAll, addr(router), true), field: "method", reason: "set_approval_for_all"},
		{name: "USDT safeTransferFrom under ETH", to: usdt, data: abiEncode(hexNFTSafe, addr(alice), addr(bob), million), field: "method", reason: "nft_safe_transfer_from"},
		{name: "USDT safeTransferFrom(bytes) under ETH", to: usdt, data: nftData, field: "method", reason: "nft_safe_transfer_from"},
		{name: "USDT ERC-1155 safeTransferFrom under ETH", to: usdt, data: abiEncode(hexERC1155Safe, addr(alice), addr(bob), big.NewInt(1), million, abiTestBytes{}), field: "method", reason: "erc1155_safe_transfer_from"},
		{name: "USDT ERC-1155 safeBatchTransferFrom under ETH", to: usdt, data: batch, field: "method", reason: "erc1155_safe_batch_transfer_from"},
		// Any other method of a listed token too: DAI's push and move,
		// transferAndCall and increaseApproval move or approve tokens
		// without being one of the known methods.
		{name: "USDT unknown method under ETH", to: usdt, data: append(addr("38ed1739"), make([]byte, 64)...), field: "method", reason: "a token in the token table"},
		{name: "USDT increaseApproval under ETH", to: usdt, data: abiEncode("d73dd623", addr(bob), million), field: "method", reason: "selector 0xd73dd623"},
		{name: "USDT empty calldata under ETH", to: usdt, data: nil, field: "method", reason: "a token in the token table"},

		// Under the token's own token_id: strict too.
		{name: "USDT transfer + trailing byte under ETH_USDT", to: usdt, data: append(transfer, 0), asUSDT: true, field: "calldata", reason: "1 bytes after"},
		{name: "USDT transfer under ETH_USDT", to: usdt, data: transfer, asUSDT: true, method: "token_transfer"},
		{name: "USDT increaseAllowance under ETH_USDT", to: usdt, data: abiEncode(hexIncreaseAllowance, addr(bob), million), asUSDT: true, field: "method", reason: "increase_allowance"},

		// Contracts outside the table: verifiable, method visible.
		{name: "other ERC-20 transfer under ETH", to: nft, data: transfer, method: "token_transfer"},
		{name: "other ERC-20 approve under ETH", to: nft, data: approve, method: "approve"},
		{name: "other ERC-20 increaseAllowance under ETH", to: nft, data: abiEncode(hexIncreaseAllowance, addr(router), maxUint256), method: "increase_allowance"},
		{name: "other ERC-20 permit under ETH", to: nft, data: permit, method: "permit"},
		{name: "NFT setApprovalForAll under ETH", to: nft, data: abiEncode(hexApprovalForAll, addr(router), true), method: "set_approval_for_all"},
		{name: "NFT safeTransferFrom(bytes) under ETH", to: nft, data: nftData, method: "nft_safe_transfer_from"},
		{name: "ERC-1155 safeBatchTransferFrom under ETH", to: nft, data: batch, method: "erc1155_safe_batch_transfer_from"},
		{name: "NFT transferFrom paying ETH", to: nft, value: big.NewInt(1e17), data: abiEncode(hexTransferFrom, addr(alice), addr(bob), big.NewInt(7)), method: "token_transfer_from"},
		{name: "short calldata under ETH", to: nft, data: []byte{0xa9, 0x05, 0x9c}, method: "contract_call"},

		// Malformed calls are refused whatever the contract.
		{name: "other ERC-20 transfer + trailing byte under ETH", to: nft, data: append(transfer, 0), field: "calldata", reason: "1 bytes after"},
		{name: "NFT setApprovalForAll with bool 2", to: nft, data: abiEncode(hexApprovalForAll, addr(router), word(2)), field: "calldata", reason: "argument 2 (bool) is neither 0 nor 1"},
		{name: "permit with v over 255", to: nft, data: abiEncode(hexPermit, addr(alice), addr(router), maxUint256, big.NewInt(1), word(1, 27), word(0xaa), word(0xbb)), field: "calldata", reason: "argument 5 (uint8)"},
		{name: "DAI permit with allowed 2", to: nft, data: abiEncode(hexDAIPermit, addr(alice), addr(router), big.NewInt(0), big.NewInt(0), word(2), word(28), word(0xaa), word(0xbb)), field: "calldata", reason: "argument 5 (bool)"},
		{name: "safeTransferFrom(bytes) with a non-canonical offset", to: nft, data: edit(nftData, func(b []byte) []byte {
			b[4+3*32+31] = 0xa0
			return append(b[:4+128], append(make([]byte, 32), b[4+128:]...)...)
		}), field: "calldata", reason: "has offset 160, the canonical encoding puts it at 128"},
		{name: "safeTransferFrom(bytes) with dirty padding", to: nft, data: edit(nftData, func(b []byte) []byte { b[len(b)-1] = 1; return b }), field: "calldata", reason: "non-zero padding"},
		{name: "batch with mismatched arrays", to: nft, data: abiEncode(hexERC1155Batch, addr(alice), addr(bob), abiTestArray{big.NewInt(1)}, abiTestArray{}, abiTestBytes{}), field: "calldata", reason: "1 ids but 0 values"},
		{name: "transfer selector only", to: nft, data: addr(hexTransfer), field: "calldata", reason: "0 bytes of arguments"},
	}
	reg := DefaultRegistry()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, d := eth(tt.to, tt.value, tt.data)
			if tt.asUSDT {
				d = desc{tokenID: "ETH_USDT", chainID: "ETH", address: bob, amount: "1000000"}
			}
			d.rawTx, d.msgHashes = s.hexTx(), []string{s.hash()}
			res := reg.Verify(v2Request(t, d))
			if tt.field != "" {
				wantFailure(t, res, tt.field, tt.reason)
				return
			}
			wantVerified(t, res)
			f := res.Facts
			if f.Method != tt.method {
				t.Errorf("method %q, want %q", f.Method, tt.method)
			}
			if tt.asUSDT {
				return
			}
			// A native contract call pays the contract its native value,
			// whatever the calldata; a known token method names the contract.
			v := res.Verification()
			if !v.Verified || len(v.Destinations) != 1 || v.Destinations[0].Address != tt.to || v.Destinations[0].Amount.String() != d.amount {
				t.Errorf("verification %+v, want the contract %s paid %s", v, tt.to, d.amount)
			}
			if wantContract := map[bool]string{true: tt.to, false: ""}[tt.method != "contract_call"]; f.TokenContract != wantContract {
				t.Errorf("token contract %q, want %q", f.TokenContract, wantContract)
			}
		})
	}
}
