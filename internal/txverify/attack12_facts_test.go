package txverify

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"math/big"
	"testing"
)

// Attacks on facts the policy reads as bound (review 12). Every message
// here is built by hand with a tiny encoder of the wire format written
// from the Solana transaction documentation; nothing is encoded by the code
// under test.

// attackSolMessage serializes a legacy Solana message: header, static
// keys, a blockhash, and instructions of (program index, account indexes,
// data). Every length is below 128, so each compact-u16 is one byte.
func attackSolMessage(t *testing.T, header [3]byte, keys [][32]byte, ixs [][3][]byte) []byte {
	t.Helper()
	one := func(n int) byte {
		if n >= 0x80 {
			t.Fatalf("length %d needs a multi-byte compact-u16", n)
		}
		return byte(n)
	}
	msg := append([]byte{}, header[:]...)
	msg = append(msg, one(len(keys)))
	for _, k := range keys {
		msg = append(msg, k[:]...)
	}
	msg = append(msg, make([]byte, 32)...) // recent blockhash: any 32 bytes
	msg = append(msg, one(len(ixs)))
	for _, ix := range ixs {
		msg = append(msg, ix[0][0], one(len(ix[1])))
		msg = append(msg, ix[1]...)
		msg = append(msg, one(len(ix[2])))
		msg = append(msg, ix[2]...)
	}
	return msg
}

// attackSolDesc wraps a message as Cobo sends it: hex of the base64 of a
// wire transaction with one empty signature slot, and the message itself
// as the one "hash".
func attackSolDesc(msg []byte, d desc) desc {
	wire := append(append([]byte{1}, make([]byte, 64)...), msg...)
	d.rawTx = hex.EncodeToString([]byte(base64.StdEncoding.EncodeToString(wire)))
	d.msgHashes = []string{hex.EncodeToString(msg)}
	return d
}

// TestAttack12SolanaMemoRaisesComputeLimit: without SetComputeUnitLimit the
// runtime gives every instruction that is not a ComputeBudget instruction
// its default allocation (200,000 units for a non-builtin program such as
// Memo, before and after SIMD-0170), and the priority fee is the unit price
// times that limit. tx.decoded.max_fee ("the most the bytes let the network
// fee reach") leaves Memo instructions out of the count, so a transfer
// carrying six memos and a high unit price verifies with a max_fee a sixth
// of what it can cost, and a policy fee cap passes it.
func TestAttack12SolanaMemoRaisesComputeLimit(t *testing.T) {
	payer, dest := testKey("attack12 payer"), testKey("attack12 dest")
	const price = 1_000_000_000 // micro-lamports per unit: 1,000 lamports
	cb := binary.LittleEndian.AppendUint64([]byte{3}, price)
	transfer := binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint32(nil, 2), 1_000_000_000)
	ixs := [][3][]byte{
		{{3}, nil, cb},
		{{2}, {0, 1}, transfer},
	}
	const memos = 6
	for range memos {
		ixs = append(ixs, [3][]byte{{4}, nil, []byte("ref")})
	}
	msg := attackSolMessage(t, [3]byte{1, 0, 3},
		[][32]byte{payer, dest, solSystemProgram, solComputeBudgetProgram, solMemoProgram}, ixs)
	res := DefaultRegistry().Verify(v2Request(t, attackSolDesc(msg, desc{tokenID: "SOL", chainID: "SOL", address: solAddr(dest), amount: "1"})))
	wantVerified(t, res)

	// A lower bound of what the chain may charge: one signature, and the
	// price at the six memos' default allocation alone (the transfer's
	// own allocation, 3,000 or 200,000 units, only adds to it).
	units := int64(memos * 200_000)
	atLeast := new(big.Int).SetInt64(5000 + units*price/1_000_000)
	if res.Facts.MaxFee == nil || res.Facts.MaxFee.Cmp(atLeast) < 0 {
		t.Errorf("max_fee %v lamports, but the default compute limit with %d Memo instructions lets the fee reach at least %s lamports", res.Facts.MaxFee, memos, atLeast)
	}
}

// TestAttack12SolanaDelegatedTransferIsNotTheWalletsOwn: an SPL Transfer
// names a source token account and an authority, and the authority may be
// the source's owner or a delegate the owner approved. Signed by the
// wallet as delegate, the instruction moves a third account's tokens, the
// Solana form of the ERC-20 transferFrom that EVM and TRON verification
// refuse ("it moves another account's tokens"). Here the source is another
// owner's associated token account, which the bytes name outright, and the
// transfer still verifies as the wallet's own payment: limits and rules
// keyed on the wallet count and allow someone else's funds.
func TestAttack12SolanaDelegatedTransferIsNotTheWalletsOwn(t *testing.T) {
	wallet, victim, dest := testKey("attack12 wallet"), testKey("attack12 victim"), testKey("attack12 recipient")
	usdc := mustSolanaKey("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
	victimATA := mustATA(t, victim, solTokenProgram, usdc)
	destATA := mustATA(t, dest, solTokenProgram, usdc)
	tests := []struct {
		name string
		data []byte
		acct []byte // instruction accounts: indexes into keys
	}{
		// Transfer: source, destination, authority.
		{name: "Transfer", data: binary.LittleEndian.AppendUint64([]byte{3}, 5_000_000), acct: []byte{1, 2, 0}},
		// TransferChecked: source, mint, destination, authority.
		{name: "TransferChecked", data: append(binary.LittleEndian.AppendUint64([]byte{12}, 5_000_000), 6), acct: []byte{1, 3, 2, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Keys: the wallet (signer, fee payer), the victim's token
			// account and the recipient's (writable), the mint and the
			// token program (read-only).
			msg := attackSolMessage(t, [3]byte{1, 0, 2},
				[][32]byte{wallet, victimATA, destATA, usdc, solTokenProgram},
				[][3][]byte{{{4}, tt.acct, tt.data}})
			res := DefaultRegistry().Verify(v2Request(t, attackSolDesc(msg, desc{tokenID: "SOL_USDC", chainID: "SOL", address: solAddr(dest), amount: "5"})))
			if res.Verified {
				t.Errorf("an SPL %s out of %s (the associated token account of %s, not of the signing wallet %s) verified as the wallet's own payment of %s to %s", tt.name, solAddr(victimATA), solAddr(victim), solAddr(wallet), res.Facts.Destinations[0].Amount, res.Facts.Destinations[0].Address)
			}
		})
	}
}

// TestAttack12TRONMaxFeeIsOnlyTheEnergyCap: TRON's fee_limit caps the
// energy a TriggerSmartContract may burn, nothing else. The same
// transaction also burns bandwidth when the account has none staked or
// free (the chain's transaction fee, 1,000 sun per byte today, over the
// signed transaction's size), and a transaction whose raw_data carries a
// memo (field 10) pays the memo fee (1 TRX today) on top. tx.decoded.max_fee,
// read by fee-cap rules as "the most the bytes let the network fee reach",
// is fee_limit alone, so a cap of exactly fee_limit passes a transaction
// that costs more. A fix either adds what the bytes let the chain charge
// or makes max_fee unknown (an error to read) on TRON.
func TestAttack12TRONMaxFeeIsOnlyTheEnergyCap(t *testing.T) {
	// raw_data written field by field in ascending field order, as
	// java-tron re-serializes it: ref_block_bytes, ref_block_hash,
	// expiration, data (memo), contract, timestamp, fee_limit.
	const feeLimit = 100_000_000
	calldata := []byte{0xde, 0xad, 0xbe, 0xef}
	param := cat(pbB(1, tronAddrBytes(t, tronOwner)), pbB(2, tronAddrBytes(t, tronTo)), pbB(4, calldata))
	anyMsg := cat(pbB(1, []byte("type.googleapis.com/protocol.TriggerSmartContract")), pbB(2, param))
	contract := cat(pbV(1, 31), pbB(2, anyMsg))
	raw := cat(pbB(1, []byte{0x4e, 0x6e}), pbB(4, make([]byte, 8)), pbV(8, 1_700_000_000_000),
		pbB(10, []byte("invoice 42")), pbB(11, contract), pbV(14, 1_699_999_000_000), pbV(18, feeLimit))
	res := DefaultRegistry().Verify(v2Request(t, tronDesc(raw, desc{tokenID: "TRON", destType: "TRON_Contract", address: tronTo, amount: "0", calldata: hex.EncodeToString(calldata)})))
	wantVerified(t, res)
	if res.Facts.MaxFee == nil {
		return // unknown: a fee cap then errors and rejects
	}
	// At least: the energy cap, the memo fee, and bandwidth for the raw
	// bytes alone (the signature and result add more).
	atLeast := big.NewInt(feeLimit + 1_000_000 + int64(len(raw))*1000)
	if res.Facts.MaxFee.Cmp(atLeast) < 0 {
		t.Errorf("max_fee %s sun, but a %d-byte TriggerSmartContract with a memo and fee_limit %d can burn at least %s sun", res.Facts.MaxFee, len(raw), feeLimit, atLeast)
	}
}
