package txverify

import (
	"encoding/binary"
	"strings"
	"testing"
)

// A ComputeBudget instruction verifies only as exactly one variant the
// runtime reads, each of price and limit at most once: anything else
// could set a price or limit tssgate did not read into max_fee.
func TestSolanaComputeBudgetReadExactly(t *testing.T) {
	payer, dest := testKey("fix14 payer"), testKey("fix14 dest")
	u32 := func(variant byte, v uint32) []byte { return binary.LittleEndian.AppendUint32([]byte{variant}, v) }
	price := binary.LittleEndian.AppendUint64([]byte{3}, 7)
	transfer := binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint32(nil, 2), 1_000_000_000)
	tests := []struct {
		name     string
		budget   [][]byte
		verified bool
		reason   string
	}{
		{"price and limit", [][]byte{u32(2, 300), price}, true, ""},
		{"heap frame and loaded data size", [][]byte{u32(1, 64<<10), u32(4, 1<<20), price}, true, ""},
		{"no data", [][]byte{{}}, false, "without data"},
		{"deprecated RequestUnits (0)", [][]byte{append([]byte{0}, make([]byte, 8)...)}, false, "not one tssgate reads"},
		{"unknown variant 9", [][]byte{{9, 0, 0, 0, 0}}, false, "not one tssgate reads"},
		{"price one byte long", [][]byte{append(price[:len(price):len(price)], 0)}, false, "has 10 bytes of data, not 9"},
		{"limit one byte short", [][]byte{u32(2, 300)[:4]}, false, "has 4 bytes of data, not 5"},
		{"heap frame with a trailing byte", [][]byte{append(u32(1, 64<<10), 0)}, false, "has 6 bytes of data, not 5"},
		{"price twice", [][]byte{price, price}, false, "SetComputeUnitPrice given twice"},
		{"limit twice", [][]byte{u32(2, 300), u32(2, 1_400_000)}, false, "SetComputeUnitLimit given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := verifyBudgetedTransfer(t, payer, dest, tt.budget, transfer)
			if res.Verified != tt.verified {
				t.Fatalf("verified %v, want %v (reason %q)", res.Verified, tt.verified, res.Reason)
			}
			if !tt.verified && !strings.Contains(res.Reason, tt.reason) {
				t.Fatalf("reason %q, want it to contain %q", res.Reason, tt.reason)
			}
		})
	}
}

// verifyBudgetedTransfer verifies, as a SOL transfer of 1 to dest, a
// message from payer of one ComputeBudget instruction for each of budget
// (hand-encoded data) followed by the System instruction transfer.
func verifyBudgetedTransfer(t *testing.T, payer, dest [32]byte, budget [][]byte, transfer []byte) Result {
	t.Helper()
	var ixs [][3][]byte
	for _, b := range budget {
		ixs = append(ixs, [3][]byte{{3}, nil, b})
	}
	ixs = append(ixs, [3][]byte{{2}, {0, 1}, transfer})
	msg := attackSolMessage(t, [3]byte{1, 0, 2},
		[][32]byte{payer, dest, solSystemProgram, solComputeBudgetProgram}, ixs)
	return DefaultRegistry().Verify(v2Request(t, attackSolDesc(msg, desc{tokenID: "SOL", chainID: "SOL", address: solAddr(dest), amount: "1"})))
}
