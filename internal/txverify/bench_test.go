package txverify

import (
	"fmt"
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
