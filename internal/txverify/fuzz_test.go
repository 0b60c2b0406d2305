package txverify

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"

	"tssgate/internal/decimal"
	"tssgate/internal/protocol"
)

// The fuzz targets feed arbitrary bytes to each decoder and to the whole
// verification. Beyond "no panic", each checks the property that matters:
// a result is never Verified unless every msg_hash_list entry really is
// what the chain signs for those bytes, recomputed here independently of
// the decoder.

// vectorRaw returns the decoded unsigned_raw_tx bytes of the shared vectors
// whose token is on chain.
func vectorRaw(f *testing.F, chain string) [][]byte {
	f.Helper()
	var out [][]byte
	for _, v := range loadVectors(f) {
		tok, _ := DefaultRegistry().Lookup(v.TokenID)
		if tok.Chain != chain {
			continue
		}
		raw, err := decodeHex(v.UnsignedRawTx)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, raw)
	}
	return out
}

// fuzzClaim describes a transfer of tokenID to addr with the given hash.
func fuzzClaim(tokenID, chainID, addr string, raw, hash []byte) *claim {
	return &claim{
		tokenID: tokenID, chainID: chainID, destType: "Address",
		dests:     []protocol.Destination{{Address: addr, Amount: decimal.MustParse("1")}},
		rawTxs:    []string{hex.EncodeToString(raw)},
		msgHashes: []string{hex.EncodeToString(hash)},
	}
}

func FuzzEVM(f *testing.F) {
	for _, raw := range vectorRaw(f, ChainEVM) {
		h := keccak256(raw)
		f.Add(raw, h[:])
	}
	f.Add([]byte{0x02, 0xc0}, []byte{1})
	f.Fuzz(func(t *testing.T, raw, hash []byte) {
		if tx, err := decodeEVM(raw); err == nil {
			f := tx.facts(DefaultRegistry())
			if want := keccak256(raw); f.Hashes[0] != hex.EncodeToString(want[:]) {
				t.Fatalf("facts hash %s", f.Hashes[0])
			}
		}
		for _, tok := range []string{"ETH", "ETH_USDT", "SETH"} {
			res := DefaultRegistry().verify(fuzzClaim(tok, "", bob, raw, hash))
			if want := keccak256(raw); res.Verified && hex.EncodeToString(hash) != hex.EncodeToString(want[:]) {
				t.Fatalf("verified with hash %x, bytes sign %x", hash, want)
			}
		}
	})
}

func FuzzTRON(f *testing.F) {
	for _, raw := range vectorRaw(f, ChainTRON) {
		h := sha256.Sum256(raw)
		f.Add(raw, h[:])
	}
	f.Fuzz(func(t *testing.T, raw, hash []byte) {
		if tx, err := decodeTRON(raw); err == nil {
			tx.facts(DefaultRegistry())
		}
		for _, tok := range []string{"TRON", "TRON_USDT"} {
			res := DefaultRegistry().verify(fuzzClaim(tok, "", tronTo, raw, hash))
			if want := sha256.Sum256(raw); res.Verified && hex.EncodeToString(hash) != hex.EncodeToString(want[:]) {
				t.Fatalf("verified with hash %x, bytes sign %x", hash, want)
			}
		}
	})
}

// FuzzSolana fuzzes the wire transaction; the target base64-encodes it the
// way Cobo does, so the fuzzer explores the message format rather than
// base64 syntax.
func FuzzSolana(f *testing.F) {
	for _, text := range vectorRaw(f, ChainSolana) {
		wire, err := base64.StdEncoding.DecodeString(string(text))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(wire, wire[1:]) // zero signatures: the message follows the count
	}
	f.Fuzz(func(t *testing.T, wire, msg []byte) {
		text := []byte(base64.StdEncoding.EncodeToString(wire))
		if d, err := decodeSolana(text); err == nil {
			d.facts(DefaultRegistry())
		}
		for _, c := range []struct{ tok, addr string }{
			{"SOL", "C63eMJhWSxGhKEFFCSxnF7spphcPgsTnbYsZKjcwJ8Vp"},
			{"SOL_USDC", "8bJaa7p816rKnPSGTsZdWBDkAmsuKDnoEYzLRwrsuFV6"},
		} {
			res := DefaultRegistry().verify(fuzzClaim(c.tok, "", c.addr, text, msg))
			if res.Verified && !solanaSigns(wire, msg) {
				t.Fatalf("verified with message %x for wire %x", msg, wire)
			}
		}
	})
}

// solanaSigns reports whether msg is the message of wire: what follows the
// signature count and signatures. Only counts below 128 (one byte) are
// considered, which is all a transaction within the size limit can carry.
func solanaSigns(wire, msg []byte) bool {
	if len(wire) == 0 || wire[0] >= 0x80 {
		return false
	}
	start := 1 + 64*int(wire[0])
	return start <= len(wire) && hex.EncodeToString(wire[start:]) == hex.EncodeToString(msg)
}

// FuzzVerify fuzzes whole package_data texts through protocol.Decode and
// Verify. A verified result must have msg_hash_list inside the hashes the
// chain signs, recomputed here from unsigned_raw_tx.
func FuzzVerify(f *testing.F) {
	vs := loadVectors(f)
	for _, vc := range vectorCases {
		req := v2Request(f, descFor(vs[vc.name], vc))
		f.Add(req.Raw)
	}
	f.Add(v1Request(f, nil).Raw)
	f.Fuzz(func(t *testing.T, pkg []byte) {
		for _, v := range []protocol.Version{protocol.V1, protocol.V2} {
			req, err := protocol.Decode(v, pkg)
			if err != nil {
				continue
			}
			res := DefaultRegistry().Verify(req)
			if !res.Verified {
				if res.Field == "" || res.Reason == "" {
					t.Fatalf("failure without field or reason: %+v", res)
				}
				continue
			}
			if res.Field == "internal" {
				t.Fatalf("internal failure: %s", res.Reason)
			}
			tok, _ := DefaultRegistry().Lookup(req.KeySign.Tx.TokenID)
			raw, err := decodeHex(req.KeySign.Tx.UnsignedRawTxs[0])
			if err != nil {
				t.Fatalf("verified undecodable hex: %v", err)
			}
			var signed string
			switch tok.Chain {
			case ChainEVM:
				h := keccak256(raw)
				signed = hex.EncodeToString(h[:])
			case ChainTRON:
				h := sha256.Sum256(raw)
				signed = hex.EncodeToString(h[:])
			case ChainSolana:
				wire, err := base64.StdEncoding.DecodeString(string(raw))
				if err != nil || len(wire) == 0 || wire[0] >= 0x80 || 1+64*int(wire[0]) > len(wire) {
					t.Fatalf("verified an unreadable Solana transaction")
				}
				signed = hex.EncodeToString(wire[1+64*int(wire[0]):])
			}
			if len(req.KeySign.MsgHashes) == 0 {
				t.Fatal("verified an empty msg_hash_list")
			}
			for _, h := range req.KeySign.MsgHashes {
				if normHex(h) != signed {
					t.Fatalf("verified msg_hash %s, the bytes sign %s", h, signed)
				}
			}
		}
	})
}

// FuzzRegistry checks that no token configuration panics and that every
// accepted one can be looked up.
func FuzzRegistry(f *testing.F) {
	f.Add("OP_USDC", "OP_ETH", "evm", "0x0b2c639c533813f4aa9d7837caf62653d097ff85", int32(6), int64(10))
	f.Add("SOL_X", "SOL", "solana", "So11111111111111111111111111111111111111112", int32(9), int64(0))
	f.Fuzz(func(t *testing.T, id, chainID, chain, contract string, decimals int32, evmChainID int64) {
		tok := Token{TokenID: id, ChainID: chainID, Chain: chain, Contract: contract, Decimals: decimals}
		if evmChainID != 0 {
			tok.EVMChainID = big.NewInt(evmChainID)
		}
		reg, err := DefaultRegistry().With(tok)
		if err != nil {
			return
		}
		if got, ok := reg.Lookup(id); !ok || got.ChainID != chainID {
			t.Fatalf("accepted %+v but cannot look it up", tok)
		}
		for _, other := range reg.Tokens() {
			if other.TokenID != id && assetKey(other.Chain, other.EVMChainID, other.Contract) == assetKey(strings.ToLower(chain), tok.EVMChainID, normalizedContract(chain, contract)) {
				t.Fatalf("accepted %+v as an alias of %s", tok, other.TokenID)
			}
		}
	})
}

// normalizedContract is how the registry stores a contract: EVM contracts
// lower-case, others as given.
func normalizedContract(chain, contract string) string {
	if strings.EqualFold(chain, ChainEVM) {
		return strings.ToLower(contract)
	}
	return contract
}
