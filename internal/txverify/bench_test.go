package txverify

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"testing"

	"tssgate/internal/protocol"
)

// benchRequest is the decoded v2 request of one public vector.
func benchRequest(b *testing.B, name string) *protocol.Request {
	b.Helper()
	vs := loadVectors(b)
	for _, vc := range vectorCases {
		if vc.name == name {
			req := v2Request(b, descFor(vs[name], vc))
			if res := DefaultRegistry().Verify(req); !res.Verified {
				b.Fatalf("%s does not verify: %s", name, res.Reason)
			}
			return req
		}
	}
	b.Fatalf("no vector %s", name)
	return nil
}

func benchVerify(b *testing.B, name string) {
	req := benchRequest(b, name)
	reg := DefaultRegistry()
	b.ReportAllocs()
	for b.Loop() {
		if !reg.Verify(req).Verified {
			b.Fatal("not verified")
		}
	}
}

// BenchmarkVerifyEVM verifies the ERC-20 USDT vector (RLP, Keccak, ABI).
func BenchmarkVerifyEVM(b *testing.B) { benchVerify(b, "eth_erc20_usdt_transfer") }

// BenchmarkVerifyEVMNative verifies the plain ETH legacy vector.
func BenchmarkVerifyEVMNative(b *testing.B) { benchVerify(b, "eth_legacy_transfer") }

// BenchmarkVerifyTRON verifies the TRC-20 USDT vector (protobuf, SHA-256,
// base58check).
func BenchmarkVerifyTRON(b *testing.B) { benchVerify(b, "tron_trc20_usdt_transfer") }

// BenchmarkVerifySolana verifies the SPL USDC vector, including the
// associated token account derivation (SHA-256 and curve checks per bump).
func BenchmarkVerifySolana(b *testing.B) { benchVerify(b, "sol_spl_usdc_transfer_checked") }

// BenchmarkVerifySolanaNative verifies the System transfer vector.
func BenchmarkVerifySolanaNative(b *testing.B) { benchVerify(b, "sol_system_transfer") }

// utxoBenchCase is a BTC KEYSIGN spending n inputs of kind (from the
// independent encoder of utxo_test.go) paying one destination plus change.
func utxoBenchCase(b *testing.B, n int, kind string) *protocol.Request {
	b.Helper()
	tc := newCase(tChains[0], kind)
	ins := make([]tIn, n)
	total := int64(0)
	for i := range ins {
		ins[i] = tIn{txid: fmt.Sprintf("%064x", i+1), vout: uint32(i), seq: 0xfffffffd, kind: kind, amount: 1_000_000}
		total += 1_000_000
	}
	tc.tx.ins = ins
	tc.tx.outs = []tOut{{spk: tSPK("dest"), value: 500_000}, {spk: tSPK(kind), value: total - 500_000 - 10_000}}
	tc.refresh()
	tc.dests = []map[string]any{{"address": tc.chain.addr["dest"], "amount": "0.005"}}
	tc.change = []map[string]any{{"address": tc.chain.addr[kind], "value": sats(total - 510_000)}}
	req := tc.request(b)
	if res := DefaultRegistry().Verify(req); !res.Verified {
		b.Fatalf("bench case does not verify: %s", res.Reason)
	}
	return req
}

func benchUTXO(b *testing.B, n int, kind string) {
	req := utxoBenchCase(b, n, kind)
	reg := DefaultRegistry()
	b.ReportAllocs()
	for b.Loop() {
		if !reg.Verify(req).Verified {
			b.Fatal("not verified")
		}
	}
}

func benchVerifyRequest(b *testing.B, reg *Registry, req *protocol.Request) {
	b.Helper()
	if res := reg.Verify(req); !res.Verified {
		b.Fatalf("does not verify: %s", res.Reason)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !reg.Verify(req).Verified {
			b.Fatal("not verified")
		}
	}
}

// BenchmarkVerifyUTXO1 verifies a 1-input P2WPKH BTC payment (BIP-143).
func BenchmarkVerifyUTXO1(b *testing.B) { benchUTXO(b, 1, "p2wpkh") }

// BenchmarkVerifyUTXO50 verifies a 50-input P2WPKH BTC payment.
func BenchmarkVerifyUTXO50(b *testing.B) { benchUTXO(b, 50, "p2wpkh") }

// BenchmarkVerifyUTXO50Taproot verifies a 50-input P2TR payment (BIP-341:
// every digest commits to every input).
func BenchmarkVerifyUTXO50Taproot(b *testing.B) { benchUTXO(b, 50, "p2tr") }

// BenchmarkVerifyUTXO50Legacy verifies a 50-input P2PKH payment: the
// legacy digest re-serializes the whole transaction per input.
func BenchmarkVerifyUTXO50Legacy(b *testing.B) { benchUTXO(b, 50, "p2pkh") }

// BenchmarkVerifyEIP712 verifies the BSC Safe record with both
// structured_data and raw_structured_data (two parses, two digests).
func BenchmarkVerifyEIP712(b *testing.B) {
	v := loadMessageVectors(b)["eip712_cobo_safe_multisend_bsc"]
	reg := bscRegistry(b)
	benchVerifyRequest(b, reg, messageRequest(b, vectorDesc(v)))
}

// BenchmarkVerifyEIP191 verifies Cobo's EIP-191 example.
func BenchmarkVerifyEIP191(b *testing.B) {
	v := loadMessageVectors(b)["eip191_cobo_v1_doc_example"]
	benchVerifyRequest(b, DefaultRegistry(), messageRequest(b, vectorDesc(v)))
}

// BenchmarkVerifyBIP322 verifies the P2TR vector (two BIP-341 digests).
func BenchmarkVerifyBIP322(b *testing.B) {
	v := loadMessageVectors(b)["bip322_simple_p2tr_no_prefix"]
	benchVerifyRequest(b, DefaultRegistry(), messageRequest(b, vectorDesc(v)))
}

// BenchmarkVerifyCallTuple verifies an EVM call of Permit2's
// permit(address,((address,uint160,uint48,uint48),address,uint256),bytes):
// the token-method checks, the general decoder and its re-encoding, grants.
func BenchmarkVerifyCallTuple(b *testing.B) {
	data := hexWords(b, selectorOf("permit(address,((address,uint160,uint48,uint48),address,uint256),bytes)"),
		w("1111111111111111111111111111111111111111"), w("4444444444444444444444444444444444444444"), w("3e8"), w("5"), w("0"),
		w("2222222222222222222222222222222222222222"), w("9"), w("100"), w("41"), r("aa"), r(""), r(""))
	spec := evmSpec{typ: 2, chainID: 1, nonce: 1, gas: 100000, tip: big.NewInt(1), fee: big.NewInt(gwei), to: alice, data: data}
	d := desc{tokenID: "ETH", chainID: "ETH", destType: "EVM_Contract", address: alice, amount: "0", calldata: "0x" + hex.EncodeToString(data)}
	d.rawTx, d.msgHashes = spec.hexTx(), []string{spec.hash()}
	benchVerifyRequest(b, DefaultRegistry(), v2Request(b, d))
}
