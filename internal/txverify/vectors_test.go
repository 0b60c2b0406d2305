package txverify

import (
	"math/big"
	"strings"
	"testing"

	"tssgate/internal/decimal"
)

// vectorCase is how a public vector is described in a KEYSIGN, and what
// its bytes must decode to.
type vectorCase struct {
	name       string
	chainID    string
	destType   string
	address    string // description address; "" means the vector's destination
	amount     string // token units
	calldata   string
	decimals   int32  // of the token, to build off-by-one amounts
	otherAddr  string // a valid address of the same chain that is not the destination
	method     string
	txType     string
	factsAddr  string // Facts.Destinations[0].Address
	baseUnits  string
	token      string // Facts.TokenContract
	tokenAcct  string // Facts.Destinations[0].TokenAccount
	wrongToken string // a token_id of the same chain with the other kind of asset
}

var vectorCases = []vectorCase{
	{
		name: "eth_legacy_transfer", chainID: "ETH", amount: "0.0001", decimals: 18,
		otherAddr: "0x000000000000000000000000000000000000dEaD",
		method:    "native_transfer", txType: "legacy",
		factsAddr: "0x0f76f604fd7762bd94b48ca2523f69ab9665c97f", baseUnits: "100000000000000",
		wrongToken: "ETH_USDT",
	},
	{
		name: "eth_erc20_usdt_transfer", chainID: "ETH", amount: "50", decimals: 6,
		otherAddr: "0x0f76F604fd7762Bd94B48CA2523F69ab9665c97f",
		method:    "token_transfer", txType: "legacy",
		factsAddr: "0x8b45b84e2cf29e5f826797df7e1aa93fc71a2bfd", baseUnits: "50000000",
		token: "0xdac17f958d2ee523a2206206994597c13d831ec7", wrongToken: "ETH",
	},
	{
		// A native coin sent with calldata is a contract call, which Cobo
		// describes as an EVM_Contract destination.
		name: "eth_eip1559_sepolia", chainID: "SETH", destType: "EVM_Contract",
		amount: "0.001", calldata: "0x1122334455667788", decimals: 18,
		otherAddr: "0x000000000000000000000000000000000000dEaD",
		method:    "contract_call", txType: "eip1559",
		factsAddr: "0x47f95183e513da1c599e76611dcb00304d07b6a0", baseUnits: "1000000000000000",
	},
	{
		name: "tron_trx_transfer", chainID: "TRON", amount: "10", decimals: 6,
		otherAddr: "TVpZV9L9v3HzcUiXkws2DWbiAomFQhXSzU",
		method:    "native_transfer", txType: "tron",
		factsAddr: "TEDv9wo5epcVi7pW3rEZUa7wbtPuAKZCer", baseUnits: "10000000",
		wrongToken: "TRON_USDT",
	},
	{
		name: "tron_trc20_usdt_transfer", chainID: "TRON", amount: "10", decimals: 6,
		otherAddr: "TEDv9wo5epcVi7pW3rEZUa7wbtPuAKZCer",
		method:    "token_transfer", txType: "tron",
		factsAddr: "THKAcY3fvSyfkzbYxj2aAgxC5R6YAPMJqa", baseUnits: "10000000",
		token: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", wrongToken: "TRON",
	},
	{
		name: "sol_system_transfer", chainID: "SOL", amount: "0.000000011", decimals: 9,
		otherAddr: "6ensJPEtJ24yZmTT9Vo4hVJT3k6hCGHWMMPgDbTdbhah",
		method:    "system_transfer", txType: "solana",
		factsAddr: "C63eMJhWSxGhKEFFCSxnF7spphcPgsTnbYsZKjcwJ8Vp", baseUnits: "11",
		wrongToken: "SOL_USDC",
	},
	{
		name: "sol_spl_usdc_transfer_checked", chainID: "SOL", amount: "2", decimals: 6,
		otherAddr: "6ensJPEtJ24yZmTT9Vo4hVJT3k6hCGHWMMPgDbTdbhah",
		method:    "spl_transfer_checked", txType: "solana",
		factsAddr: "8bJaa7p816rKnPSGTsZdWBDkAmsuKDnoEYzLRwrsuFV6", baseUnits: "2000000",
		token: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", tokenAcct: "2VpLnZpPENF5rcmSkFnA4TGE4oPRe9W9za2TW32MZZd2",
		wrongToken: "SOL",
	},
}

// descFor is the faithful description of vector v.
func descFor(v vector, vc vectorCase) desc {
	addr := vc.address
	if addr == "" {
		addr = v.Destination
	}
	return desc{
		tokenID: v.TokenID, chainID: vc.chainID, destType: vc.destType,
		address: addr, amount: vc.amount, calldata: vc.calldata,
		rawTx: v.UnsignedRawTx, msgHashes: []string{v.MsgHash},
	}
}

func TestVectorsCoverTheFile(t *testing.T) {
	vs := loadVectors(t)
	if len(vs) != len(vectorCases) {
		t.Fatalf("the vector file has %d vectors, the tests describe %d", len(vs), len(vectorCases))
	}
	for _, vc := range vectorCases {
		if _, ok := vs[vc.name]; !ok {
			t.Errorf("vector %s is not in the file", vc.name)
		}
	}
}

func TestVectorsVerify(t *testing.T) {
	vs := loadVectors(t)
	reg := DefaultRegistry()
	for _, vc := range vectorCases {
		t.Run(vc.name, func(t *testing.T) {
			v := vs[vc.name]
			res := reg.Verify(v2Request(t, descFor(v, vc)))
			wantVerified(t, res)
			f := res.Facts
			if f.Method != vc.method || f.TxType != vc.txType {
				t.Errorf("method %q type %q, want %q %q", f.Method, f.TxType, vc.method, vc.txType)
			}
			if len(f.Hashes) != 1 || f.Hashes[0] != normHex(v.MsgHash) {
				t.Errorf("hashes %v, want [%s]", f.Hashes, normHex(v.MsgHash))
			}
			if len(f.Destinations) != 1 {
				t.Fatalf("destinations %+v, want one", f.Destinations)
			}
			d := f.Destinations[0]
			if d.Address != vc.factsAddr || d.BaseUnits.String() != vc.baseUnits || d.TokenAccount != vc.tokenAcct {
				t.Errorf("destination %s %s (account %q), want %s %s (%q)", d.Address, d.BaseUnits, d.TokenAccount, vc.factsAddr, vc.baseUnits, vc.tokenAcct)
			}
			if !d.AmountKnown || d.Amount.String() != vc.amount {
				t.Errorf("amount %s (known %v), want %s", d.Amount, d.AmountKnown, vc.amount)
			}
			if f.TokenContract != vc.token {
				t.Errorf("token contract %q, want %q", f.TokenContract, vc.token)
			}
			if v.AmountBaseUnits != "" && v.AmountBaseUnits != vc.baseUnits {
				t.Errorf("the vector file says %s base units, the test %s", v.AmountBaseUnits, vc.baseUnits)
			}
			if v.DestinationTokenAccount != "" && v.DestinationTokenAccount != d.TokenAccount {
				t.Errorf("the vector file says token account %s, decoded %s", v.DestinationTokenAccount, d.TokenAccount)
			}
		})
	}
}

// TestVectorsHashSpelling checks the normalization of msg_hash_list: any
// case, with or without 0x.
func TestVectorsHashSpelling(t *testing.T) {
	vs := loadVectors(t)
	for _, vc := range vectorCases {
		v := vs[vc.name]
		bare := normHex(v.MsgHash)
		for name, h := range map[string]string{"bare": bare, "upper": strings.ToUpper(bare), "0X upper": "0X" + strings.ToUpper(bare), "0x": "0x" + bare} {
			t.Run(vc.name+"/"+name, func(t *testing.T) {
				d := descFor(v, vc)
				d.msgHashes = []string{h}
				wantVerified(t, DefaultRegistry().Verify(v2Request(t, d)))
			})
		}
	}
}

// TestVectorsOneChange changes one thing in each vector's request and
// checks that verification fails on the right field.
func TestVectorsOneChange(t *testing.T) {
	vs := loadVectors(t)
	reg := DefaultRegistry()
	type change struct {
		name   string
		edit   func(d *desc, v vector, vc vectorCase)
		field  string
		reason string
	}
	changes := []change{
		{"flipped hash", func(d *desc, v vector, _ vectorCase) {
			d.msgHashes = []string{flipLastNibble(v.MsgHash)}
		}, "msg_hash_list", "not produced by the transaction"},
		{"extra hash", func(d *desc, v vector, _ vectorCase) {
			d.msgHashes = []string{v.MsgHash, "0x" + strings.Repeat("ab", 32)}
		}, "msg_hash_list", "entry 1"},
		{"the hash twice", func(d *desc, v vector, _ vectorCase) {
			d.msgHashes = []string{v.MsgHash, strings.ToUpper(normHex(v.MsgHash))}
		}, "msg_hash_list", "entry 1 repeats entry 0"},
		{"empty msg_hash_list", func(d *desc, _ vector, _ vectorCase) { d.msgHashes = nil }, "msg_hash_list", "empty"},
		{"destination differs", func(d *desc, _ vector, vc vectorCase) { d.address = vc.otherAddr }, "destination", ""},
		{"amount one base unit more", func(d *desc, _ vector, vc vectorCase) {
			d.amount = addOneUnit(d.amount, vc.decimals)
		}, "", ""},
		{"truncated hex", func(d *desc, v vector, _ vectorCase) { d.rawTx = v.UnsignedRawTx[:len(v.UnsignedRawTx)-2] }, "unsigned_raw_tx", ""},
		{"odd hex", func(d *desc, v vector, _ vectorCase) { d.rawTx = v.UnsignedRawTx[:len(v.UnsignedRawTx)-1] }, "unsigned_raw_tx", "odd number"},
		{"invalid hex", func(d *desc, v vector, _ vectorCase) { d.rawTx = v.UnsignedRawTx[:len(v.UnsignedRawTx)-2] + "zz" }, "unsigned_raw_tx", "invalid hex"},
		{"empty raw tx", func(d *desc, _ vector, _ vectorCase) { d.rawTx = "0x" }, "unsigned_raw_tx", "empty"},
		{"unknown token_id", func(d *desc, _ vector, _ vectorCase) { d.tokenID = "ATOM"; d.paths = []string{"m/44/118/0/0/0"} }, "token_id", "unsupported token_id ATOM"},
		{"relabelled as a token_id without a decoder", func(d *desc, v vector, _ vectorCase) {
			d.paths = []string{testPathFor(v.TokenID)}
			d.tokenID = "ATOM"
		}, "bip32_path_list", "relabelled"},
		{"chain_id differs", func(d *desc, _ vector, _ vectorCase) { d.chainID = "BSC" }, "chain_id", "BSC"},
	}
	for _, vc := range vectorCases {
		v := vs[vc.name]
		for _, ch := range changes {
			t.Run(vc.name+"/"+ch.name, func(t *testing.T) {
				d := descFor(v, vc)
				ch.edit(&d, v, vc)
				field, reason := ch.field, ch.reason
				if ch.name == "amount one base unit more" {
					field = "amount"
					if vc.destType == "EVM_Contract" {
						field = "value"
					}
				}
				if ch.name == "destination differs" {
					reason = vc.otherAddr
				}
				wantFailure(t, reg.Verify(v2Request(t, d)), field, reason)
			})
		}
		if vc.wrongToken != "" {
			t.Run(vc.name+"/labelled "+vc.wrongToken, func(t *testing.T) {
				d := descFor(v, vc)
				d.tokenID = vc.wrongToken
				res := reg.Verify(v2Request(t, d))
				if res.Field != "token" && res.Field != "method" {
					t.Fatalf("failed on %q (%s), want token or method", res.Field, res.Reason)
				}
				if !strings.Contains(res.Reason, vc.wrongToken) {
					t.Errorf("reason %q does not name %s", res.Reason, vc.wrongToken)
				}
			})
		}
	}
}

// flipLastNibble changes the last hex digit of h.
func flipLastNibble(h string) string {
	b := []byte(h)
	if b[len(b)-1] == '0' {
		b[len(b)-1] = '1'
	} else {
		b[len(b)-1] = '0'
	}
	return string(b)
}

// addOneUnit returns amount (token units) plus one base unit at decimals.
func addOneUnit(amount string, decimals int32) string {
	d := decimal.MustParse(amount)
	return d.Add(decimal.FromBaseUnits(big.NewInt(1), decimals)).String()
}
