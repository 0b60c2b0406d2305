package txverify

import (
	"encoding/binary"
	"math/big"
	"testing"
)

// Attacks on this session's txverify fixes (review 14). Messages are built
// with attackSolMessage (attack12_facts_test.go), a hand encoder of the
// wire format; nothing is encoded by the code under test.

// TestAttack14SolanaComputeBudgetTrailingBytes: the runtime reads a
// ComputeBudget instruction with borsh's try_from_slice_unchecked (Agave,
// compute_budget_instruction_details.rs), which decodes the variant and
// its argument and ignores any bytes after them. A SetComputeUnitPrice of
// 10 bytes, or a SetComputeUnitLimit of 6, therefore sets the price or
// limit on chain, but computeBudget reads only the exact lengths 9 and 5
// and silently skips the rest, so tx.decoded.max_fee is computed without
// the priority fee (or at the default limit) and a policy fee cap passes
// a transaction that can burn far more. A fix refuses (or reads) a
// ComputeBudget instruction whose data it does not read exactly.
func TestAttack14SolanaComputeBudgetTrailingBytes(t *testing.T) {
	payer, dest := testKey("attack14 payer"), testKey("attack14 dest")
	const price = 1_000_000_000 // micro-lamports per unit: 1,000 lamports
	priceIx := func(extra ...byte) []byte {
		return append(binary.LittleEndian.AppendUint64([]byte{3}, price), extra...)
	}
	limitIx := func(units uint32, extra ...byte) []byte {
		return append(binary.LittleEndian.AppendUint32([]byte{2}, units), extra...)
	}
	transfer := binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint32(nil, 2), 1_000_000_000)
	tests := []struct {
		name   string
		budget [][]byte
		// minUnits is a lower bound of the compute limit the chain
		// applies: the priority fee is price times the limit.
		minUnits int64
	}{
		// No readable limit: the System transfer's default share, at
		// least the 3,000 units SIMD-0170 gives a builtin.
		{name: "price with a trailing zero byte", budget: [][]byte{priceIx(0)}, minUnits: 3_000},
		{name: "price with trailing garbage", budget: [][]byte{priceIx(0xff, 0xff, 0xff)}, minUnits: 3_000},
		// The limit the runtime reads is 1.4M; tssgate falls back to the
		// default for one instruction.
		{name: "limit with a trailing byte", budget: [][]byte{limitIx(1_400_000, 0), priceIx()}, minUnits: 1_400_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := verifyBudgetedTransfer(t, payer, dest, tt.budget, transfer)
			if !res.Verified {
				return // refused: no fact to under-report
			}
			atLeast := big.NewInt(5000 + tt.minUnits*price/1_000_000)
			if res.Facts.MaxFee == nil || res.Facts.MaxFee.Cmp(atLeast) < 0 {
				t.Errorf("verified with max_fee %v lamports, but the runtime reads this ComputeBudget data (trailing bytes ignored) and lets the fee reach at least %s lamports", res.Facts.MaxFee, atLeast)
			}
		})
	}
}
