package txverify

import (
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
