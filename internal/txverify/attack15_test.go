package txverify

import (
	"encoding/binary"
	"math/big"
	"testing"
)

// Attacks on review 14's txverify fix (ComputeBudget read exactly). The
// message is built with attackSolMessage (attack12_facts_test.go), a hand
// encoder of the wire format; nothing is encoded by the code under test.

// TestAttack15SolanaComputeBudgetCountsAsBuiltin: without
// SetComputeUnitLimit, the runtime's default compute limit since SIMD-0170
// (Agave ComputeBudgetInstructionDetails::try_from, which walks every
// instruction again, ComputeBudget ones included, when no limit was
// requested) is 3,000 units for each builtin instruction plus 200,000 for
// each other one. The ComputeBudget program is a builtin, so each of its
// instructions adds 3,000 units on chain (Agave's own test: one
// SetComputeUnitPrice between two non-builtin instructions counts one
// builtin and two non-builtins). tx.decoded.max_fee gives ComputeBudget
// instructions no allocation at all, so an SPL transfer (a non-builtin)
// with SetComputeUnitPrice, RequestHeapFrame and
// SetLoadedAccountsDataSizeLimit verifies with a bound 9,000 units short of
// the limit the priority fee is paid on, and a policy fee cap passes a fee
// above it. A fix counts 3,000 units for every ComputeBudget instruction
// (and may keep 200,000 for the other builtins, which overstates safely).
func TestAttack15SolanaComputeBudgetCountsAsBuiltin(t *testing.T) {
	wallet, dest := testKey("attack15 wallet"), testKey("attack15 recipient")
	usdc := mustSolanaKey("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
	srcATA := mustATA(t, wallet, solTokenProgram, usdc)
	destATA := mustATA(t, dest, solTokenProgram, usdc)
	const price = 1_000_000_000 // micro-lamports per unit: 1,000 lamports
	priceIx := binary.LittleEndian.AppendUint64([]byte{3}, price)
	heapIx := binary.LittleEndian.AppendUint32([]byte{1}, 64*1024)
	loadedIx := binary.LittleEndian.AppendUint32([]byte{4}, 64*1024)
	// TransferChecked: source, mint, destination, authority; 5 USDC.
	checked := append(binary.LittleEndian.AppendUint64([]byte{12}, 5_000_000), 6)
	tests := []struct {
		name   string
		budget [][]byte
	}{
		{name: "price only", budget: [][]byte{priceIx}},
		{name: "price, heap frame and loaded data size", budget: [][]byte{priceIx, heapIx, loadedIx}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ixs [][3][]byte
			for _, b := range tt.budget {
				ixs = append(ixs, [3][]byte{{5}, nil, b})
			}
			ixs = append(ixs, [3][]byte{{4}, {1, 3, 2, 0}, checked})
			// Keys: the wallet (signer, fee payer), its token account and
			// the recipient's (writable), then read-only the mint, the
			// token program and the ComputeBudget program.
			msg := attackSolMessage(t, [3]byte{1, 0, 3},
				[][32]byte{wallet, srcATA, destATA, usdc, solTokenProgram, solComputeBudgetProgram}, ixs)
			res := DefaultRegistry().Verify(v2Request(t, attackSolDesc(msg, desc{tokenID: "SOL_USDC", chainID: "SOL", address: solAddr(dest), amount: "5"})))
			wantVerified(t, res)
			// The chain's limit: one non-builtin (SPL Token) at 200,000
			// and each ComputeBudget instruction, a builtin, at 3,000.
			units := int64(200_000 + 3_000*len(tt.budget))
			atLeast := big.NewInt(5000 + units*price/1_000_000)
			if res.Facts.MaxFee == nil || res.Facts.MaxFee.Cmp(atLeast) < 0 {
				t.Errorf("max_fee %v lamports, but with no SetComputeUnitLimit the runtime allots %d units (200,000 for the SPL transfer, 3,000 for each of %d ComputeBudget instructions) and the priority fee reaches %s lamports", res.Facts.MaxFee, units, len(tt.budget), atLeast)
			}
		})
	}
}
