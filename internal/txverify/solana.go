package txverify

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
)

// Solana transactions. Cobo's unsigned_raw_tx is hex of the ASCII base64
// of a wire transaction (compact-u16 signature count, 64-byte signatures,
// message). EdDSA signs the message itself, so the "hash" msg_hash_list
// carries is the serialized message, hex-encoded (PROTOCOL.md 4.5, 8.3).
//
// Messages are legacy or v0 (first byte 0x80). Accounts loaded through
// address lookup tables cannot be resolved without chain state, so an
// instruction this package must interpret may not reference one.
//
// Instructions interpreted: System Transfer; SPL Token and Token-2022
// Transfer and TransferChecked; Associated Token Account Create and
// CreateIdempotent. An SPL transfer credits a token account, whose owner
// is account state the bytes do not carry: it verifies only when the
// description names an owner whose associated token account (for the
// registry's mint and the instruction's token program) is the credited
// account, and the owner is then the destination. Its debited account
// must likewise be the authority's own associated token account: an
// authority may sign as a delegate of another owner's account, and a
// transfer out of it is not the wallet's payment. ComputeBudget
// instructions are read for the fee facts (each exactly one known variant
// at its exact length, price and limit at most once, or the transaction
// is not interpreted) and otherwise ignored, as are Memo instructions
// (which still count towards the default compute limit): neither moves
// funds.
// Any other instruction makes the transaction "other", which never
// verifies: an instruction whose effect is unknown may move anything.

// Well-known program IDs.
var (
	solSystemProgram        = mustSolanaKey("11111111111111111111111111111111")
	solTokenProgram         = mustSolanaKey("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
	solToken2022Program     = mustSolanaKey("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
	solATAProgram           = mustSolanaKey("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
	solComputeBudgetProgram = mustSolanaKey("ComputeBudget111111111111111111111111111111")
	solMemoProgram          = mustSolanaKey("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
	solMemoV1Program        = mustSolanaKey("Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo")
)

const (
	solSignatureFee      = 5000    // lamports per signature
	solDefaultUnitsPerIx = 200_000 // default compute budget per instruction (upper bound)
	solBuiltinUnitsPerIx = 3_000   // default compute budget per builtin instruction since SIMD-0170
	solMaxUnits          = 1_400_000
	solMaxTxSize         = 1232 // bytes of a wire transaction (IPv6 MTU minus headers)
)

// parseSolanaKey reads a base58 32-byte address; it must be the canonical
// encoding (no extra leading '1's).
func parseSolanaKey(s string) ([32]byte, bool) {
	var k [32]byte
	b, err := base58Decode(s)
	if err != nil || len(b) != 32 {
		return k, false
	}
	copy(k[:], b)
	return k, true
}

func mustSolanaKey(s string) [32]byte {
	k, ok := parseSolanaKey(s)
	if !ok {
		panic("txverify: bad built-in Solana key " + s)
	}
	return k
}

func solAddr(k [32]byte) string { return base58Encode(k[:]) }

type solInstruction struct {
	program  int // index into static keys
	accounts []int
	data     []byte
}

type solMessage struct {
	version    int // -1 legacy, 0 v0
	numSigners int
	numROSign  int
	numROUnsig int
	keys       [][32]byte // static account keys
	numLookup  int        // accounts loaded from lookup tables
	instrs     []solInstruction
	message    []byte // the serialized message: what is signed
}

// solReader reads the wire format.
type solReader struct {
	b   []byte
	err error
}

func (r *solReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func (r *solReader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.fail("truncated")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *solReader) u8() int {
	b := r.bytes(1)
	if b == nil {
		return 0
	}
	return int(b[0])
}

// compactU16 reads Solana's shortvec length: 1 to 3 bytes, 7 bits each,
// canonical (no redundant trailing zero byte) and at most 0xffff.
func (r *solReader) compactU16() int {
	v := 0
	for i := 0; i < 3; i++ {
		c := r.u8()
		if r.err != nil {
			return 0
		}
		if i == 2 && c > 3 {
			r.fail("compact-u16 overflows 16 bits")
			return 0
		}
		v |= (c & 0x7f) << (7 * i)
		if c < 0x80 {
			if i > 0 && c == 0 {
				r.fail("non-canonical compact-u16")
				return 0
			}
			return v
		}
	}
	r.fail("compact-u16 longer than 3 bytes")
	return 0
}

// decodeSolana reads unsigned_raw_tx bytes (ASCII base64 of a wire
// transaction) and interprets the message's instructions.
func decodeSolana(raw []byte) (*solDecoded, error) {
	m, err := decodeSolanaMessage(raw)
	if err != nil {
		return nil, err
	}
	return m.interpret(), nil
}

// decodeSolanaMessage reads the wire transaction and returns its message.
func decodeSolanaMessage(raw []byte) (*solMessage, error) {
	for _, c := range raw {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=') {
			return nil, errors.New("unsigned_raw_tx does not hold base64 text")
		}
	}
	wire, err := base64.StdEncoding.Strict().DecodeString(string(raw))
	if err != nil {
		return nil, fmt.Errorf("base64: %v", err)
	}
	if len(wire) > solMaxTxSize {
		return nil, fmt.Errorf("wire transaction is %d bytes, more than %d", len(wire), solMaxTxSize)
	}
	r := &solReader{b: wire}
	nsig := r.compactU16()
	r.bytes(64 * nsig)
	if r.err != nil {
		return nil, fmt.Errorf("signatures: %v", r.err)
	}
	m, err := parseSolanaMessage(r.b)
	if err != nil {
		return nil, err
	}
	if nsig != 0 && nsig != m.numSigners {
		return nil, fmt.Errorf("transaction has %d signature slots, message requires %d", nsig, m.numSigners)
	}
	return m, nil
}

func parseSolanaMessage(msg []byte) (*solMessage, error) {
	m := &solMessage{version: -1, message: msg}
	r := &solReader{b: msg}
	if len(msg) > 0 && msg[0]&0x80 != 0 {
		m.version = int(msg[0] & 0x7f)
		r.u8()
		if m.version != 0 {
			return nil, fmt.Errorf("message version %d is not supported", m.version)
		}
	}
	m.numSigners, m.numROSign, m.numROUnsig = r.u8(), r.u8(), r.u8()
	nkeys := r.compactU16()
	for i := 0; i < nkeys; i++ {
		k := r.bytes(32)
		if k == nil {
			break
		}
		m.keys = append(m.keys, [32]byte(k))
	}
	r.bytes(32) // recent blockhash (or durable nonce)
	ninstr := r.compactU16()
	for i := 0; i < ninstr && r.err == nil; i++ {
		ix := solInstruction{program: r.u8()}
		nacc := r.compactU16()
		for j := 0; j < nacc && r.err == nil; j++ {
			ix.accounts = append(ix.accounts, r.u8())
		}
		ix.data = r.bytes(r.compactU16())
		m.instrs = append(m.instrs, ix)
	}
	if m.version == 0 {
		nlut := r.compactU16()
		for i := 0; i < nlut && r.err == nil; i++ {
			r.bytes(32)
			w := r.compactU16()
			r.bytes(w)
			ro := r.compactU16()
			r.bytes(ro)
			m.numLookup += w + ro
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("message: %v", r.err)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("message: %d bytes after the end", len(r.b))
	}
	// The runtime's sanitize rules that matter for reading it right.
	switch {
	case m.numSigners == 0:
		return nil, errors.New("message requires no signature")
	case m.numSigners > len(m.keys):
		return nil, errors.New("message requires more signers than it has accounts")
	case m.numROSign >= m.numSigners:
		return nil, errors.New("message has no writable signer to pay fees")
	case m.numROUnsig > len(m.keys)-m.numSigners:
		return nil, errors.New("message marks more unsigned accounts read-only than it has")
	case len(m.keys)+m.numLookup > 256:
		return nil, errors.New("message references more than 256 accounts")
	}
	for i, k := range m.keys {
		for _, k2 := range m.keys[:i] {
			if k == k2 {
				return nil, fmt.Errorf("account %s is listed twice", solAddr(k))
			}
		}
	}
	total := len(m.keys) + m.numLookup
	for i, ix := range m.instrs {
		if ix.program == 0 || ix.program >= len(m.keys) {
			return nil, fmt.Errorf("instruction %d: program index %d is not a static non-payer account", i, ix.program)
		}
		for _, a := range ix.accounts {
			if a >= total {
				return nil, fmt.Errorf("instruction %d: account index %d out of range", i, a)
			}
		}
	}
	return m, nil
}

// account resolves instruction account j of ix to a static key; ok is
// false when the index is missing or goes through a lookup table.
func (m *solMessage) account(ix solInstruction, j int) ([32]byte, bool) {
	if j >= len(ix.accounts) || ix.accounts[j] >= len(m.keys) {
		return [32]byte{}, false
	}
	return m.keys[ix.accounts[j]], true
}

// solOp is one interpreted value-moving or account-creating instruction.
type solOp struct {
	index    int      // instruction index
	kind     string   // "system_transfer", "spl_transfer", "spl_transfer_checked", "ata_create"
	program  [32]byte // the program; ata_create: the token program it names
	from     [32]byte // system: source; spl: authority
	to       [32]byte // system: recipient; spl: destination token account
	source   [32]byte // spl: source token account
	mint     [32]byte // spl checked, ata_create
	hasMint  bool
	decimals int
	owner    [32]byte // ata_create: wallet
	amount   uint64
}

// solDecoded is a message with its instructions interpreted.
type solDecoded struct {
	msg       *solMessage
	ops       []solOp
	other     []string // problems: uninterpreted instructions, unresolved accounts
	unitLimit *uint32
	unitPrice *uint64
	programs  []string
	// budgeted counts the instructions that are not ComputeBudget ones,
	// Memo included: without SetComputeUnitLimit the runtime allots each
	// of them a default share of the compute limit, and the priority fee
	// is paid on that limit, not on the units used.
	budgeted    int
	transferIdx []int // indexes into ops of transfers
}

func (m *solMessage) interpret() *solDecoded {
	d := &solDecoded{msg: m}
	for i, ix := range m.instrs {
		prog := m.keys[ix.program]
		d.programs = append(d.programs, solAddr(prog))
		if prog == solComputeBudgetProgram {
			if problem := d.computeBudget(ix); problem != "" {
				d.other = append(d.other, fmt.Sprintf("instruction %d (program %s): %s", i, solAddr(prog), problem))
			}
			continue
		}
		d.budgeted++
		if prog == solMemoProgram || prog == solMemoV1Program {
			continue
		}
		op, problem := m.interpretOne(i, ix, prog)
		if problem != "" {
			d.other = append(d.other, fmt.Sprintf("instruction %d (program %s): %s", i, solAddr(prog), problem))
			continue
		}
		if op.kind != "ata_create" {
			d.transferIdx = append(d.transferIdx, len(d.ops))
		}
		d.ops = append(d.ops, op)
	}
	return d
}

// computeBudgetDataLen is the data length of each ComputeBudget
// instruction tssgate reads: RequestHeapFrame (1) and SetComputeUnitLimit
// (2) a u32, SetComputeUnitPrice (3) a u64, SetLoadedAccountsDataSizeLimit
// (4) a u32, each after its variant byte.
var computeBudgetDataLen = map[byte]int{1: 5, 2: 5, 3: 9, 4: 5}

// computeBudget reads a ComputeBudget instruction into the fee facts and
// returns "" or why the transaction cannot be interpreted: max_fee is a
// bound only if tssgate reads every value the runtime will.
func (d *solDecoded) computeBudget(ix solInstruction) string {
	if len(ix.data) == 0 {
		return "ComputeBudget instruction without data"
	}
	// The runtime decodes the variant and its argument and ignores any
	// bytes after them, so data longer than its variant's would still set
	// the price or limit on chain: every instruction must be exactly one
	// known variant, read here, and each of price and limit set once.
	want := computeBudgetDataLen[ix.data[0]]
	if want == 0 {
		return fmt.Sprintf("ComputeBudget instruction %d is not one tssgate reads (RequestHeapFrame, SetComputeUnitLimit, SetComputeUnitPrice, SetLoadedAccountsDataSizeLimit)", ix.data[0])
	}
	if len(ix.data) != want {
		return fmt.Sprintf("ComputeBudget instruction %d has %d bytes of data, not %d: the runtime would read its value and ignore the rest", ix.data[0], len(ix.data), want)
	}
	switch ix.data[0] {
	case 2:
		if d.unitLimit != nil {
			return "SetComputeUnitLimit given twice"
		}
		v := binary.LittleEndian.Uint32(ix.data[1:])
		d.unitLimit = &v
	case 3:
		if d.unitPrice != nil {
			return "SetComputeUnitPrice given twice"
		}
		v := binary.LittleEndian.Uint64(ix.data[1:])
		d.unitPrice = &v
	}
	return ""
}

// interpretOne reads one instruction, or says why it is not interpreted.
func (m *solMessage) interpretOne(i int, ix solInstruction, prog [32]byte) (solOp, string) {
	op := solOp{index: i, program: prog}
	need := func(keys ...*[32]byte) string {
		for j, k := range keys {
			v, ok := m.account(ix, j)
			if !ok {
				return fmt.Sprintf("account %d is missing or loaded from an address lookup table", j)
			}
			*k = v
		}
		return ""
	}
	switch prog {
	case solSystemProgram:
		if len(ix.data) != 12 || binary.LittleEndian.Uint32(ix.data) != 2 {
			return op, "not a System Transfer"
		}
		op.kind = "system_transfer"
		op.amount = binary.LittleEndian.Uint64(ix.data[4:])
		return op, need(&op.from, &op.to)
	case solTokenProgram, solToken2022Program:
		switch {
		case len(ix.data) == 9 && ix.data[0] == 3:
			op.kind = "spl_transfer"
			op.amount = binary.LittleEndian.Uint64(ix.data[1:])
			return op, need(&op.source, &op.to, &op.from)
		case len(ix.data) == 10 && ix.data[0] == 12:
			op.kind, op.hasMint = "spl_transfer_checked", true
			op.amount = binary.LittleEndian.Uint64(ix.data[1:])
			op.decimals = int(ix.data[9])
			return op, need(&op.source, &op.mint, &op.to, &op.from)
		}
		return op, "not a Transfer or TransferChecked"
	case solATAProgram:
		if len(ix.data) > 1 || (len(ix.data) == 1 && ix.data[0] > 1) {
			return op, "not an associated token account Create or CreateIdempotent"
		}
		op.kind, op.hasMint = "ata_create", true
		var payer, system [32]byte
		if p := need(&payer, &op.to, &op.owner, &op.mint, &system, &op.program); p != "" {
			return op, p
		}
		if system != solSystemProgram {
			return op, "associated token account creation names a wrong system program"
		}
		return op, ""
	}
	return op, "program not interpreted"
}

func (d *solDecoded) facts(r *Registry) *Facts {
	m := d.msg
	f := &Facts{
		Chain:            ChainSolana,
		TxType:           "solana",
		Programs:         d.programs,
		ComputeUnitLimit: d.unitLimit,
		ComputeUnitPrice: d.unitPrice,
		Hashes:           []string{hex.EncodeToString(m.message)},
	}
	if m.version == 0 {
		f.TxType = "solana_v0"
	}
	// Fee bound: signatures plus the priority fee at the compute limit.
	// Without SetComputeUnitLimit the limit is the larger of the two rules
	// the runtime has had: 200,000 units for each instruction that is not
	// a ComputeBudget one (before SIMD-0170), and since SIMD-0170 200,000
	// for each non-builtin plus 3,000 for each builtin, ComputeBudget
	// included. Counting every other instruction at 200,000 and each
	// ComputeBudget one at 3,000 bounds both (builtins are overstated,
	// the safe side).
	budgetIxs := len(m.instrs) - d.budgeted
	units := min(uint64(solDefaultUnitsPerIx)*uint64(max(d.budgeted, 1))+uint64(solBuiltinUnitsPerIx)*uint64(budgetIxs), solMaxUnits)
	if d.unitLimit != nil {
		units = min(uint64(*d.unitLimit), solMaxUnits)
	}
	fee := new(big.Int).SetUint64(uint64(m.numSigners) * solSignatureFee)
	if d.unitPrice != nil {
		pri := new(big.Int).Mul(new(big.Int).SetUint64(*d.unitPrice), new(big.Int).SetUint64(units))
		pri.Add(pri, big.NewInt(999_999)) // micro-lamports, rounded up
		pri.Quo(pri, big.NewInt(1_000_000))
		fee.Add(fee, pri)
	}
	f.MaxFee = fee

	switch {
	case len(d.other) > 0:
		f.Method = "other"
	case len(d.transferIdx) > 1:
		f.Method = "multiple_transfers"
	case len(d.transferIdx) == 0:
		f.Method = "none"
	default:
		f.Method = d.ops[d.transferIdx[0]].kind
	}
	nativeDec, nativeOK := r.decimalsFor(ChainSolana, nil, "")
	for _, i := range d.transferIdx {
		op := d.ops[i]
		units := new(big.Int).SetUint64(op.amount)
		if op.kind == "system_transfer" {
			f.Destinations = append(f.Destinations, destination(solAddr(op.to), units, nativeDec, nativeOK))
			f.From = solAddr(op.from)
			continue
		}
		// The owner of the credited token account is not in the bytes;
		// compareSolana sets Address once the description's owner is
		// proven by the associated token account derivation.
		dst := destination("", units, 0, false)
		if op.hasMint {
			mint := solAddr(op.mint)
			f.TokenContract = mint
			if dec, ok := r.decimalsFor(ChainSolana, nil, mint); ok {
				dst = destination("", units, dec, true)
			}
		}
		dst.TokenAccount = solAddr(op.to)
		f.Destinations = append(f.Destinations, dst)
		f.From = solAddr(op.from)
	}
	if len(d.transferIdx) != 1 {
		f.From = ""
	}
	return f
}

func compareSolana(c *claim, tok Token, d *solDecoded, f *Facts) *failure {
	switch {
	case len(d.other) > 0:
		return fail("instruction", "%s; only transfers, token account creation, ComputeBudget and Memo instructions can be verified", d.other[0])
	case len(d.transferIdx) == 0:
		return fail("method", "transaction has no transfer instruction")
	case len(d.transferIdx) > 1:
		return fail("method", "transaction has %d transfer instructions; a description names one", len(d.transferIdx))
	}
	switch c.destType {
	case "Address":
	case "SOL_Contract":
		return fail("destination_type", "SOL_Contract descriptions cannot be verified: the encoding of their instruction data is not documented")
	default:
		return unsupportedDestinationType(c)
	}
	dest, fl := oneDestination(c, "Solana")
	if fl != nil {
		return fl
	}
	op := d.ops[d.transferIdx[0]]
	units := new(big.Int).SetUint64(op.amount)
	if tok.Native() {
		if op.kind != "system_transfer" {
			return fail("token", "description says native %s, transaction is an SPL token %s", tok.TokenID, op.kind)
		}
		for _, o := range d.ops {
			if o.kind == "ata_create" {
				return fail("instruction", "a native %s transfer also creates a token account", tok.TokenID)
			}
		}
		if got := solAddr(op.to); dest.Address != got {
			return fail("destination", "description says %s, transaction pays %s", short(dest.Address), got)
		}
		return checkAmount("amount", dest.Amount, units, tok.Decimals, tok.TokenID)
	}
	if op.kind == "system_transfer" {
		return fail("token", "description says %s (mint %s), transaction is a native SOL transfer", tok.TokenID, tok.Contract)
	}
	mint, _ := parseSolanaKey(tok.Contract)
	if op.hasMint {
		if op.mint != mint {
			return fail("token", "description says %s (mint %s), transaction transfers mint %s", tok.TokenID, tok.Contract, solAddr(op.mint))
		}
		if op.decimals != int(tok.Decimals) {
			return fail("token", "description says %s with %d decimals, TransferChecked says %d", tok.TokenID, tok.Decimals, op.decimals)
		}
	}
	// The authority may be the source's owner or a delegate it approved;
	// as a delegate the wallet would move a third account's tokens (the
	// Solana form of transferFrom). The bytes prove ownership only for the
	// authority's own associated token account, so that is the one source
	// that verifies.
	src, err := associatedTokenAddress(op.from, op.program, mint)
	if err != nil || src != op.source {
		return fail("source", "transaction debits token account %s, which is not the %s associated token account %s of its authority %s; a transfer out of any other account may move another owner's tokens as a delegate", solAddr(op.source), tok.TokenID, solAddr(src), solAddr(op.from))
	}
	owner, ownerOK := parseSolanaKey(dest.Address)
	if !ownerOK {
		return fail("destination", "description address %s is not a base58 Solana address", short(dest.Address))
	}
	if owner == op.to {
		// Accepting this would give one transfer two spellings (owner or
		// token account) and let a blocked owner be paid through its
		// token account.
		return fail("destination", "description names the credited token account %s instead of its owner wallet; the owner of a token account cannot be proven from the transaction bytes alone, so only an owner whose associated token account is credited verifies", solAddr(op.to))
	}
	ata, err := associatedTokenAddress(owner, op.program, mint)
	if err != nil || ata != op.to {
		return fail("destination", "description says %s, whose %s associated token account is %s; transaction credits token account %s", short(dest.Address), tok.TokenID, solAddr(ata), solAddr(op.to))
	}
	// The credited account is the owner's associated token account for the
	// registry's mint, so it can only hold that mint.
	// The owner as the bytes-derived key re-encoded, not the text the
	// description used for it: one spelling whatever the description.
	f.Destinations[0] = destination(solAddr(owner), units, tok.Decimals, true)
	f.Destinations[0].TokenAccount = solAddr(op.to)
	f.TokenContract = tok.Contract
	for _, o := range d.ops {
		if o.kind != "ata_create" {
			continue
		}
		created, err := associatedTokenAddress(o.owner, o.program, o.mint)
		if err != nil || created != o.to || o.to != op.to || o.mint != mint || o.program != op.program {
			return fail("instruction", "instruction %d creates token account %s, which is not the transfer's destination for %s", o.index, solAddr(o.to), tok.TokenID)
		}
	}
	return checkAmount("amount", dest.Amount, units, tok.Decimals, tok.TokenID)
}
