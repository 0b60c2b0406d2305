package txverify

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
)

// A Solana wire-format builder for the tests, from the transaction format
// documentation: shortvec lengths, header, keys, blockhash, instructions,
// and for v0 a 0x80 prefix and address table lookups.

func shortvec(n int) []byte {
	var out []byte
	for {
		b := byte(n & 0x7f)
		n >>= 7
		if n == 0 {
			return append(out, b)
		}
		out = append(out, b|0x80)
	}
}

type solIx struct {
	prog  int
	accts []int
	data  []byte
}

type solLUT struct {
	key      [32]byte
	writable []byte
	readonly []byte
}

type solMsgSpec struct {
	v0     bool
	header [3]byte
	keys   [][32]byte
	ixs    []solIx
	luts   []solLUT
	nsig   int // signature slots in the wire transaction; -1 means header[0]
}

func (m solMsgSpec) message() []byte {
	var out []byte
	if m.v0 {
		out = append(out, 0x80)
	}
	out = append(out, m.header[:]...)
	out = append(out, shortvec(len(m.keys))...)
	for _, k := range m.keys {
		out = append(out, k[:]...)
	}
	bh := sha256.Sum256([]byte("blockhash"))
	out = append(out, bh[:]...)
	out = append(out, shortvec(len(m.ixs))...)
	for _, ix := range m.ixs {
		out = append(out, byte(ix.prog))
		out = append(out, shortvec(len(ix.accts))...)
		for _, a := range ix.accts {
			out = append(out, byte(a))
		}
		out = append(out, shortvec(len(ix.data))...)
		out = append(out, ix.data...)
	}
	if m.v0 {
		out = append(out, shortvec(len(m.luts))...)
		for _, l := range m.luts {
			out = append(out, l.key[:]...)
			out = append(out, shortvec(len(l.writable))...)
			out = append(out, l.writable...)
			out = append(out, shortvec(len(l.readonly))...)
			out = append(out, l.readonly...)
		}
	}
	return out
}

func (m solMsgSpec) wire() []byte {
	n := m.nsig
	if n < 0 {
		n = int(m.header[0])
	}
	return append(append(shortvec(n), make([]byte, 64*n)...), m.message()...)
}

// desc fills the raw transaction and the message as the hash.
func (m solMsgSpec) desc(d desc) desc {
	d.rawTx = "0x" + hex.EncodeToString([]byte(base64.StdEncoding.EncodeToString(m.wire())))
	d.msgHashes = []string{"0x" + hex.EncodeToString(m.message())}
	if d.chainID == "" {
		d.chainID = "SOL"
	}
	return d
}

// testKey is a deterministic Ed25519 public key (on the curve, like a wallet).
func testKey(name string) [32]byte {
	seed := sha256.Sum256([]byte(name))
	return [32]byte(ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey))
}

func sysTransfer(lamports uint64) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 2)
	return binary.LittleEndian.AppendUint64(b, lamports)
}

func splTransfer(amount uint64) []byte {
	return binary.LittleEndian.AppendUint64([]byte{3}, amount)
}

func splChecked(amount uint64, decimals byte) []byte {
	return append(binary.LittleEndian.AppendUint64([]byte{12}, amount), decimals)
}

func cbLimit(units uint32) []byte { return binary.LittleEndian.AppendUint32([]byte{2}, units) }
func cbPrice(micro uint64) []byte { return binary.LittleEndian.AppendUint64([]byte{3}, micro) }

func mustATA(t testing.TB, owner, program, mint [32]byte) [32]byte {
	t.Helper()
	a, err := associatedTokenAddress(owner, program, mint)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestSolanaGenerated(t *testing.T) {
	payer, dest, other := testKey("payer"), testKey("dest"), testKey("other")
	usdc := mustSolanaKey("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
	srcATA := mustATA(t, payer, solTokenProgram, usdc)
	destATA := mustATA(t, dest, solTokenProgram, usdc)
	plainAcct := testKey("a token account that is not an ATA")

	// Native: payer, dest, system, compute budget.
	native := func(lamports uint64, extra ...solIx) solMsgSpec {
		return solMsgSpec{header: [3]byte{1, 0, 2}, nsig: -1,
			keys: [][32]byte{payer, dest, solSystemProgram, solComputeBudgetProgram, solMemoProgram},
			ixs:  append([]solIx{{prog: 3, data: cbPrice(1000)}, {prog: 3, data: cbLimit(450)}, {prog: 2, accts: []int{0, 1}, data: sysTransfer(lamports)}}, extra...)}
	}
	// SPL: payer (authority), source ATA, destination account, mint, token program, ATA program, system, owner.
	spl := func(to [32]byte, data []byte, extra ...solIx) solMsgSpec {
		accts := []int{1, 2, 0}
		if data[0] == 12 {
			accts = []int{1, 3, 2, 0}
		}
		return solMsgSpec{header: [3]byte{1, 0, 5}, nsig: 0,
			keys: [][32]byte{payer, srcATA, to, usdc, solTokenProgram, solATAProgram, solSystemProgram, dest},
			ixs:  append(extra, solIx{prog: 4, accts: accts, data: data})}
	}
	createATA := solIx{prog: 5, accts: []int{0, 2, 7, 3, 6, 4}, data: []byte{1}}

	tests := []struct {
		name     string
		msg      solMsgSpec
		d        desc
		field    string
		reason   string
		method   string
		factAddr string
	}{
		{name: "SOL transfer", msg: native(1_500_000_000), d: desc{tokenID: "SOL", address: solAddr(dest), amount: "1.5"}, method: "system_transfer", factAddr: solAddr(dest)},
		{name: "SOL transfer with memo", msg: native(1, solIx{prog: 4, accts: []int{0}, data: []byte("invoice 7")}), d: desc{tokenID: "SOL", address: solAddr(dest), amount: "0.000000001"}, method: "system_transfer", factAddr: solAddr(dest)},
		{name: "SOL transfer, v0 with an unused lookup table", msg: func() solMsgSpec {
			m := native(5)
			m.v0, m.luts = true, []solLUT{{key: other, writable: []byte{1}, readonly: []byte{2, 3}}}
			return m
		}(), d: desc{tokenID: "SOL", address: solAddr(dest), amount: "0.000000005"}, method: "system_transfer", factAddr: solAddr(dest)},
		{name: "SOL transfer to a lookup-table account", msg: func() solMsgSpec {
			m := native(5)
			m.v0, m.luts = true, []solLUT{{key: other, writable: []byte{1}}}
			m.ixs[2].accts = []int{0, 5}
			return m
		}(), d: desc{tokenID: "SOL", address: solAddr(dest), amount: "0.000000005"}, field: "instruction", reason: "lookup table"},
		{name: "USDC Transfer to the owner's ATA", msg: spl(destATA, splTransfer(2_000_000)), d: desc{tokenID: "SOL_USDC", address: solAddr(dest), amount: "2"}, method: "spl_transfer", factAddr: solAddr(dest)},
		{name: "USDC TransferChecked creating the ATA", msg: spl(destATA, splChecked(7, 6), createATA), d: desc{tokenID: "SOL_USDC", address: solAddr(dest), amount: "0.000007"}, method: "spl_transfer_checked", factAddr: solAddr(dest)},
		// Naming the credited token account instead of its owner never
		// verifies: its owner is account state, not in the bytes.
		{name: "USDC TransferChecked to a named token account", msg: spl(plainAcct, splChecked(7, 6)), d: desc{tokenID: "SOL_USDC", address: solAddr(plainAcct), amount: "0.000007"}, field: "destination", reason: "owner of a token account cannot be proven"},
		{name: "USDC Transfer to a named token account", msg: spl(plainAcct, splTransfer(7)), d: desc{tokenID: "SOL_USDC", address: solAddr(plainAcct), amount: "0.000007"}, field: "destination", reason: "owner of a token account cannot be proven"},
		{name: "USDC TransferChecked described by the owner's ATA", msg: spl(destATA, splChecked(7, 6)), d: desc{tokenID: "SOL_USDC", address: solAddr(destATA), amount: "0.000007"}, field: "destination", reason: "instead of its owner wallet"},
		{name: "USDC Transfer to someone else's ATA", msg: spl(mustATA(t, other, solTokenProgram, usdc), splTransfer(7)), d: desc{tokenID: "SOL_USDC", address: solAddr(dest), amount: "0.000007"}, field: "destination", reason: solAddr(destATA)},
		// The authority may sign as a delegate: only its own associated
		// token account, for this token program and mint, is its money.
		{name: "USDC Transfer out of a token account that is not an ATA", msg: func() solMsgSpec {
			m := spl(destATA, splTransfer(7))
			m.keys[1] = plainAcct
			return m
		}(), d: desc{tokenID: "SOL_USDC", address: solAddr(dest), amount: "0.000007"}, field: "source", reason: solAddr(plainAcct)},
		{name: "USDC TransferChecked out of another owner's ATA", msg: func() solMsgSpec {
			m := spl(destATA, splChecked(7, 6))
			m.keys[1] = mustATA(t, other, solTokenProgram, usdc)
			return m
		}(), d: desc{tokenID: "SOL_USDC", address: solAddr(dest), amount: "0.000007"}, field: "source", reason: solAddr(srcATA)},
		{name: "USDC Transfer out of the wallet's ATA for another mint", msg: func() solMsgSpec {
			m := spl(destATA, splTransfer(7))
			m.keys[1] = mustATA(t, payer, solTokenProgram, testKey("another mint"))
			return m
		}(), d: desc{tokenID: "SOL_USDC", address: solAddr(dest), amount: "0.000007"}, field: "source", reason: "not the SOL_USDC associated token account"},
		{name: "USDC Transfer out of the wallet's Token-2022 ATA under SPL Token", msg: func() solMsgSpec {
			m := spl(destATA, splTransfer(7))
			m.keys[1] = mustATA(t, payer, solToken2022Program, usdc)
			return m
		}(), d: desc{tokenID: "SOL_USDC", address: solAddr(dest), amount: "0.000007"}, field: "source", reason: solAddr(srcATA)},
		{name: "TransferChecked with wrong decimals", msg: spl(destATA, splChecked(7, 9)), d: desc{tokenID: "SOL_USDC", address: solAddr(dest), amount: "0.000007"}, field: "token", reason: "decimals"},
		{name: "TransferChecked of another mint", msg: func() solMsgSpec {
			m := spl(destATA, splChecked(7, 6))
			m.keys[3] = testKey("fake mint")
			return m
		}(), d: desc{tokenID: "SOL_USDC", address: solAddr(dest), amount: "0.000007"}, field: "token", reason: "mint"},
		{name: "ATA creation for another owner", msg: func() solMsgSpec {
			m := spl(destATA, splChecked(7, 6), createATA)
			m.keys[7] = other
			return m
		}(), d: desc{tokenID: "SOL_USDC", address: solAddr(dest), amount: "0.000007"}, field: "instruction", reason: "creates token account"},
		{name: "unknown program", msg: native(1, solIx{prog: 1, data: []byte{9}}), d: desc{tokenID: "SOL", address: solAddr(dest), amount: "0.000000001"}, field: "instruction", reason: "not interpreted"},
		{name: "system CreateAccount", msg: native(1, solIx{prog: 2, accts: []int{0, 1}, data: make([]byte, 52)}), d: desc{tokenID: "SOL", address: solAddr(dest), amount: "0.000000001"}, field: "instruction", reason: "not a System Transfer"},
		{name: "two transfers", msg: native(1, solIx{prog: 2, accts: []int{0, 1}, data: sysTransfer(1)}), d: desc{tokenID: "SOL", address: solAddr(dest), amount: "0.000000001"}, field: "method", reason: "2 transfer"},
		{name: "native transfer that also creates an ATA", msg: native(1, solIx{prog: 1, accts: []int{0, 1, 0, 0, 2, 2}}), d: desc{tokenID: "SOL", address: solAddr(dest), amount: "0.000000001"}, field: "instruction"},
		{name: "SOL_Contract description", msg: native(1), d: desc{tokenID: "SOL", destType: "SOL_Contract"}, field: "destination_type", reason: "SOL_Contract"},
		{name: "SOL amount off by one lamport", msg: native(1), d: desc{tokenID: "SOL", address: solAddr(dest), amount: "0.000000002"}, field: "amount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := DefaultRegistry().Verify(v2Request(t, tt.msg.desc(tt.d)))
			if tt.field != "" {
				wantFailure(t, res, tt.field, tt.reason)
				return
			}
			wantVerified(t, res)
			if res.Facts.Method != tt.method || res.Facts.Destinations[0].Address != tt.factAddr {
				t.Errorf("method %q destination %q, want %q %q", res.Facts.Method, res.Facts.Destinations[0].Address, tt.method, tt.factAddr)
			}
		})
	}
}

func TestSolanaToken2022(t *testing.T) {
	payer, dest := testKey("payer"), testKey("dest")
	mint := testKey("a Token-2022 mint")
	reg, err := DefaultRegistry().With(Token{TokenID: "SOL_T22", Chain: ChainSolana, ChainID: "SOL", Contract: solAddr(mint), Decimals: 2})
	if err != nil {
		t.Fatal(err)
	}
	src, to := mustATA(t, payer, solToken2022Program, mint), mustATA(t, dest, solToken2022Program, mint)
	if to == mustATA(t, dest, solTokenProgram, mint) {
		t.Fatal("the token program must change the ATA")
	}
	m := solMsgSpec{header: [3]byte{1, 0, 2}, nsig: -1,
		keys: [][32]byte{payer, src, to, mint, solToken2022Program},
		ixs:  []solIx{{prog: 4, accts: []int{1, 3, 2, 0}, data: splChecked(12345, 2)}}}
	res := reg.Verify(v2Request(t, m.desc(desc{tokenID: "SOL_T22", address: solAddr(dest), amount: "123.45"})))
	wantVerified(t, res)
	if d := res.Facts.Destinations[0]; d.TokenAccount != solAddr(to) || d.Address != solAddr(dest) || res.Facts.From != solAddr(payer) {
		t.Errorf("facts %+v from %s", d, res.Facts.From)
	}
	// Signed as a delegate, out of another owner's Token-2022 account.
	m.keys = slices.Clone(m.keys)
	m.keys[1] = mustATA(t, testKey("another owner"), solToken2022Program, mint)
	res = reg.Verify(v2Request(t, m.desc(desc{tokenID: "SOL_T22", address: solAddr(dest), amount: "123.45"})))
	wantFailure(t, res, "source", solAddr(m.keys[1]), solAddr(src))
}

func TestSolanaFacts(t *testing.T) {
	payer, dest := testKey("payer"), testKey("dest")
	m := solMsgSpec{header: [3]byte{1, 0, 2}, nsig: -1,
		keys: [][32]byte{payer, dest, solSystemProgram, solComputeBudgetProgram},
		ixs:  []solIx{{prog: 3, data: cbPrice(2_500_000)}, {prog: 3, data: cbLimit(1000)}, {prog: 2, accts: []int{0, 1}, data: sysTransfer(9)}}}
	d, err := decodeSolana([]byte(base64.StdEncoding.EncodeToString(m.wire())))
	if err != nil {
		t.Fatal(err)
	}
	f := d.facts(DefaultRegistry())
	// 5000 per signature + ceil(2.5 lamports x 1000 units) = 7500.
	if *f.ComputeUnitLimit != 1000 || *f.ComputeUnitPrice != 2_500_000 || f.MaxFee.Int64() != 7500 {
		t.Errorf("limit %d price %d max fee %s", *f.ComputeUnitLimit, *f.ComputeUnitPrice, f.MaxFee)
	}
	if f.From != solAddr(payer) || f.Hashes[0] != hex.EncodeToString(m.message()) || len(f.Programs) != 3 {
		t.Errorf("from %s programs %v", f.From, f.Programs)
	}
}

// TestSolanaFeeWithoutLimit: without SetComputeUnitLimit the runtime's
// default limit is 200,000 units for every instruction that is not a
// ComputeBudget one (Memo too: it is not a builtin), capped at 1.4M, and
// the priority fee is paid on that limit. The bound counts them all.
func TestSolanaFeeWithoutLimit(t *testing.T) {
	payer, dest := testKey("payer"), testKey("dest")
	transfer := solIx{prog: 2, accts: []int{0, 1}, data: sysTransfer(9)}
	memo := solIx{prog: 4, data: []byte("ref")}
	price := solIx{prog: 3, data: cbPrice(2_500_000)} // 2.5 lamports per unit
	tests := []struct {
		name string
		ixs  []solIx
		want int64 // lamports
	}{
		{name: "one transfer", ixs: []solIx{price, transfer}, want: 5000 + 500_000 + 7_500},
		// Each ComputeBudget instruction (the price one too) counts the
		// 3,000 units SIMD-0170 gives a builtin: 7,500 lamports at this
		// price, beside 500,000 for each other instruction's 200,000.
		{name: "ComputeBudget instructions get the builtin allocation", ixs: []solIx{price, {prog: 3, data: []byte{1, 0, 0, 0, 0}}, transfer}, want: 5000 + 500_000 + 2*7_500},
		{name: "a memo adds an allocation", ixs: []solIx{price, transfer, memo}, want: 5000 + 1_000_000 + 7_500},
		{name: "eight memos reach the 1.4M cap", ixs: []solIx{price, transfer, memo, memo, memo, memo, memo, memo, memo, memo}, want: 5000 + 3_500_000},
		{name: "no price: signatures only", ixs: []solIx{transfer, memo, memo}, want: 5000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := solMsgSpec{header: [3]byte{1, 0, 3}, nsig: -1,
				keys: [][32]byte{payer, dest, solSystemProgram, solComputeBudgetProgram, solMemoProgram}, ixs: tt.ixs}
			d, err := decodeSolana([]byte(base64.StdEncoding.EncodeToString(m.wire())))
			if err != nil {
				t.Fatal(err)
			}
			if f := d.facts(DefaultRegistry()); f.MaxFee == nil || f.MaxFee.Int64() != tt.want {
				t.Errorf("max fee %v lamports, want %d", f.MaxFee, tt.want)
			}
		})
	}
}

func TestDecodeSolanaRefuses(t *testing.T) {
	payer, dest := testKey("payer"), testKey("dest")
	good := solMsgSpec{header: [3]byte{1, 0, 1}, nsig: -1,
		keys: [][32]byte{payer, dest, solSystemProgram},
		ixs:  []solIx{{prog: 2, accts: []int{0, 1}, data: sysTransfer(1)}}}
	b64 := func(b []byte) []byte { return []byte(base64.StdEncoding.EncodeToString(b)) }
	edit := func(f func(m *solMsgSpec)) []byte {
		m := good
		m.keys = append([][32]byte(nil), good.keys...)
		m.ixs = append([]solIx(nil), good.ixs...)
		f(&m)
		return b64(m.wire())
	}
	msg := good.message()
	tests := []struct {
		name   string
		raw    []byte
		reason string
	}{
		{"not base64 text", []byte("AAE\nAAg=="), "base64 text"},
		{"unpadded base64", []byte(strings.TrimRight(string(b64(good.wire())), "=")), "base64"},
		{"raw bytes, not base64", good.wire(), "base64 text"},
		{"too many signature slots", edit(func(m *solMsgSpec) { m.nsig = 2 }), "2 signature slots"},
		{"non-canonical shortvec", b64(append([]byte{0x80, 0x00}, msg...)), "non-canonical"},
		{"version 1", b64(append([]byte{0}, append([]byte{0x81}, msg...)...)), "version 1"},
		{"trailing bytes", b64(append(good.wire(), 0)), "after the end"},
		{"truncated", b64(good.wire()[:40]), "truncated"},
		{"duplicate key", edit(func(m *solMsgSpec) { m.keys[1] = payer }), "listed twice"},
		{"payer as program", edit(func(m *solMsgSpec) { m.ixs[0].prog = 0 }), "program index 0"},
		{"account out of range", edit(func(m *solMsgSpec) { m.ixs[0].accts = []int{0, 9} }), "out of range"},
		{"no signer", edit(func(m *solMsgSpec) { m.header = [3]byte{0, 0, 0}; m.nsig = 0 }), "no signature"},
		{"read-only payer", edit(func(m *solMsgSpec) { m.header = [3]byte{1, 1, 0} }), "no writable signer"},
		{"too many read-only", edit(func(m *solMsgSpec) { m.header = [3]byte{1, 0, 3} }), "read-only"},
		{"oversized", b64(append(good.wire(), make([]byte, 1300)...)), "more than 1232"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeSolana(tt.raw)
			if err == nil {
				t.Fatal("decoded, want an error")
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not mention %q", err, tt.reason)
			}
		})
	}
}

// TestSolanaOwnerNotTokenAccount is issue 8 finding 1: the same SPL
// TransferChecked bytes described once by the owner wallet and once by the
// credited token account. Only the owner verifies, and what policy sees is
// the owner as the address with the token account beside it, so a
// blocklist or a per-recipient limit keyed on owners sees one recipient.
func TestSolanaOwnerNotTokenAccount(t *testing.T) {
	v := loadVectors(t)["sol_spl_usdc_transfer_checked"]
	const (
		owner   = "8bJaa7p816rKnPSGTsZdWBDkAmsuKDnoEYzLRwrsuFV6"
		account = "2VpLnZpPENF5rcmSkFnA4TGE4oPRe9W9za2TW32MZZd2"
	)
	if v.Destination != owner || v.DestinationTokenAccount != account {
		t.Fatalf("vector %+v", v)
	}
	tests := []struct {
		name    string
		address string
		field   string
		reason  string
	}{
		{name: "owner wallet", address: owner},
		{name: "credited token account", address: account, field: "destination", reason: "the owner of a token account cannot be proven from the transaction bytes alone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := desc{tokenID: "SOL_USDC", chainID: "SOL", address: tt.address, amount: "2", rawTx: v.UnsignedRawTx, msgHashes: []string{v.MsgHash}}
			res := DefaultRegistry().Verify(v2Request(t, d))
			pv := res.Verification()
			if tt.field != "" {
				wantFailure(t, res, tt.field, tt.reason, account)
				if pv.Verified || pv.Unsupported {
					t.Fatalf("verification %+v", pv)
				}
				// Whatever the decoded facts show, the token account is
				// never reported as the recipient's address.
				for _, dst := range pv.Destinations {
					if dst.Address == account || dst.TokenAccount != account {
						t.Errorf("unverified destination %+v", dst)
					}
				}
				return
			}
			wantVerified(t, res)
			if len(pv.Destinations) != 1 {
				t.Fatalf("destinations %+v", pv.Destinations)
			}
			if dst := pv.Destinations[0]; dst.Address != owner || dst.TokenAccount != account || dst.Amount.String() != "2" {
				t.Errorf("destination %+v, want owner %s, token account %s, amount 2", dst, owner, account)
			}
			if pv.Token != "SOL_USDC" || pv.CoboChainID != "SOL" {
				t.Errorf("token %q chain %q", pv.Token, pv.CoboChainID)
			}
		})
	}
}
