package txverify

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"tssgate/internal/btc"
	"tssgate/internal/decimal"
	"tssgate/internal/protocol"
)

// Message signing (PROTOCOL.md 12). Cobo routes it through the same
// KEYSIGN (Transaction type MessageSign); the message is in
// extra_info.transaction.destination by destination_type. A message
// KEYSIGN verifies only when its single msg_hash_list entry is the digest
// recomputed here from the described message, so the node never signs a
// hash the policy could not read. A bare hash (Raw_Message_Signature,
// BTC_EIP_191_Signature) is always refused: it can be a transaction
// sighash in disguise.

// The message-signing destination types.
const (
	DestEIP191       = "EVM_EIP_191_Signature"
	DestEIP712       = "EVM_EIP_712_Signature"
	DestBIP137       = "BTC_BIP_137_Signature"
	DestBIP322       = "BTC_BIP_322_Signature"
	DestADR36        = "COSMOS_ADR_36_Signature"
	DestRawMessage   = "Raw_Message_Signature"
	DestBTCEIP191    = "BTC_EIP_191_Signature"
	txTypeMessage    = "MessageSign"
	methodSignMsg    = "sign_message"
	maxMessageBytes  = 1 << 18
	chainBitcoinMsg  = ChainUTXO
	chainCosmosMsg   = "cosmos"
	messageKindEIP   = "eip191"
	messageKind712   = "eip712"
	messageKind137   = "bip137"
	messageKind322   = "bip322"
	messageKindADR36 = "adr36"
)

// messageChains are the Cobo token_ids (with their chain_id) under which
// Cosmos (ADR-36) messages are accepted, since the token table has no
// Cosmos entries. The ADR-036 digest binds no chain, so this only fixes
// the spelling a policy sees as tx.token_id and tx.chain_id. EVM messages
// need an EVM chain's native token of the table, Bitcoin messages (BIP-137,
// BIP-322) its BTC, XTN or SIGNET_BTC entry.
var messageChains = map[string]struct{ ChainID, Family string }{
	"ATOM": {"ATOM", chainCosmosMsg},
}

// isMessageClaim reports whether c describes message signing: the type
// says so, or the destination is one of the message types (or any other
// "..._Signature" type, which is refused as unknown rather than verified
// as a transfer).
func isMessageClaim(c *claim) bool {
	return c.txType == txTypeMessage || strings.HasSuffix(c.destType, "_Signature")
}

// verifyMessage verifies a message-signing KEYSIGN.
func (r *Registry) verifyMessage(c *claim) Result {
	switch c.destType {
	case DestRawMessage, DestBTCEIP191:
		return fail("destination_type", "%s is always refused: Cobo forbade it, and a bare hash can be a transaction sighash in disguise", c.destType).result(nil)
	case DestEIP191, DestEIP712, DestBIP137, DestBIP322, DestADR36:
	case "":
		return fail("destination_type", "a MessageSign description has no destination_type").result(nil)
	default:
		return fail("destination_type", "unknown message-signing destination type %s", short(c.destType)).result(nil)
	}
	if c.txType != txTypeMessage {
		return fail("destination_type", "%s needs transaction type MessageSign, not %q", c.destType, short(c.txType)).result(nil)
	}
	if c.dest == nil {
		return fail("destination", "message signing is described only by v2 requests").result(nil)
	}
	if len(c.msgHashes) != 1 {
		return fail("msg_hash_list", "has %d entries; a message signature signs exactly one digest", len(c.msgHashes)).result(nil)
	}
	tokenID, chainID, family, f := r.messageToken(c)
	if f != nil {
		return f.result(nil)
	}
	facts := &Facts{Chain: family, Method: methodSignMsg}
	msg := &protocol.MessageFacts{Signer: c.signer}
	var digests [][32]byte
	switch c.destType {
	case DestEIP191:
		if family != ChainEVM {
			return wrongFamily(c, tokenID).result(nil)
		}
		m, f := decodeBase64Message(c.dest.Message)
		if f != nil {
			return f.result(nil)
		}
		setMessageBytes(msg, messageKindEIP, m)
		digests = [][32]byte{eip191Digest(m)}
	case DestEIP712:
		if family != ChainEVM {
			return wrongFamily(c, tokenID).result(nil)
		}
		d, f := verifyTypedMessage(c.dest, msg)
		if f != nil {
			return f.result(nil)
		}
		digests = [][32]byte{d}
	case DestBIP137:
		if family != chainBitcoinMsg {
			return wrongFamily(c, tokenID).result(nil)
		}
		m, f := decodeHexMessage("message_bip137", c.dest.MessageBIP137, true)
		if f != nil {
			return f.result(nil)
		}
		setMessageBytes(msg, messageKind137, m)
		digests = [][32]byte{bip137Digest(m)}
	case DestBIP322:
		if family != chainBitcoinMsg {
			return wrongFamily(c, tokenID).result(nil)
		}
		m, f := decodeHexMessage("message_bip322", c.dest.MessageBIP322, true)
		if f != nil {
			return f.result(nil)
		}
		setMessageBytes(msg, messageKind322, m)
		tok, _ := r.Lookup(tokenID)
		ds, f := bip322Digests(tok.Network, c.signer, m)
		if f != nil {
			return f.result(nil)
		}
		digests = ds
	case DestADR36:
		if family != chainCosmosMsg {
			return wrongFamily(c, tokenID).result(nil)
		}
		m, f := decodeHexMessage("message_cosmos_adr36", c.dest.MessageCosmosADR36, false)
		if f != nil {
			return f.result(nil)
		}
		d, f := adr36Digest(c.signer, m)
		if f != nil {
			return f.result(nil)
		}
		setMessageBytes(msg, messageKindADR36, m)
		digests = [][32]byte{d}
	}
	if family == chainBitcoinMsg {
		tok, _ := r.Lookup(tokenID)
		msg.Signer = canonicalBitcoinSigner(tok.Network, c.signer)
	}
	facts.TxType = msg.Kind
	got := normHex(c.msgHashes[0])
	for _, d := range digests {
		if got == hex.EncodeToString(d[:]) {
			facts.Hashes = []string{got}
			facts.Message = msg
			return Result{Verified: true, Facts: facts, TokenID: tokenID, ChainID: chainID}
		}
	}
	want := make([]string, len(digests))
	for i, d := range digests {
		want[i] = hex.EncodeToString(d[:])
	}
	return fail("msg_hash_list", "entry 0 (%s) is not the %s digest of the described message, which is %s", shortHex(c.msgHashes[0]), msg.Kind, strings.Join(want, " or ")).result(facts)
}

func wrongFamily(c *claim, tokenID string) *failure {
	return fail("token_id", "%s messages cannot be signed under token_id %s", c.destType, short(tokenID))
}

// messageToken finds the token table entry a message is signed under and
// the chain family its key belongs to.
func (r *Registry) messageToken(c *claim) (tokenID, chainID, family string, f *failure) {
	if c.tokenID == "" {
		return "", "", "", fail("token_id", "description has no token_id")
	}
	if tok, ok := r.Lookup(c.tokenID); ok {
		family := ""
		switch {
		case tok.Chain == ChainEVM && tok.Native():
			family = ChainEVM
		case tok.Chain == ChainUTXO && bip322Networks[tok.Network]:
			family = chainBitcoinMsg
		default:
			return "", "", "", fail("token_id", "messages are not verified under token_id %s (EVM messages need an EVM chain's native token_id, Bitcoin messages BTC, XTN or SIGNET_BTC)", tok.TokenID)
		}
		if c.chainID != tok.ChainID {
			return "", "", "", fail("chain_id", "description says chain_id %q, token_id %s is on %s", short(c.chainID), tok.TokenID, tok.ChainID)
		}
		return tok.TokenID, tok.ChainID, family, nil
	}
	if mc, ok := messageChains[c.tokenID]; ok {
		if c.chainID != mc.ChainID {
			return "", "", "", fail("chain_id", "description says chain_id %q, token_id %s is on %s", short(c.chainID), c.tokenID, mc.ChainID)
		}
		return c.tokenID, mc.ChainID, mc.Family, nil
	}
	return "", "", "", fail("token_id", "token_id %s is not a chain tssgate verifies messages for", short(c.tokenID))
}

// setMessageBytes records a byte message's text and hex.
func setMessageBytes(msg *protocol.MessageFacts, kind string, m []byte) {
	msg.Kind = kind
	msg.Hex = "0x" + hex.EncodeToString(m)
	if utf8.Valid(m) {
		msg.Text, msg.TextValid = string(m), true
	}
}

// decodeBase64Message reads EIP-191's message: standard padded base64,
// canonical (no stray bits), not empty.
func decodeBase64Message(s string) ([]byte, *failure) {
	if s == "" {
		return nil, fail("message", "is empty or absent")
	}
	if len(s) > maxMessageBytes*4/3+4 {
		return nil, fail("message", "is longer than %d bytes", maxMessageBytes)
	}
	// encoding/base64 skips CR and LF even in strict mode; one message
	// has one spelling, so only the alphabet and padding are accepted.
	for i := 0; i < len(s); i++ {
		if !base64Alphabet[s[i]] {
			return nil, fail("message", "is not standard padded base64: byte %d is %q", i, s[i])
		}
	}
	m, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fail("message", "is not standard padded base64: %v", err)
	}
	return m, nil
}

// base64Alphabet reports the characters of standard base64 and its
// padding.
var base64Alphabet = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") {
		t[c] = true
	}
	return t
}()

// decodeHexMessage reads a hex message field, with or without 0x.
func decodeHexMessage(field, s string, emptyOK bool) ([]byte, *failure) {
	h := s
	if strings.HasPrefix(h, "0x") || strings.HasPrefix(h, "0X") {
		h = h[2:]
	}
	if len(h) > 2*maxMessageBytes {
		return nil, fail(field, "is longer than %d bytes", maxMessageBytes)
	}
	if h == "" && !emptyOK {
		return nil, fail(field, "is empty")
	}
	m, err := hex.DecodeString(h)
	if err != nil {
		return nil, fail(field, "is not hex: %v", err)
	}
	return m, nil
}

// eip191Digest is personal_sign's digest: keccak256("\x19Ethereum Signed
// Message:\n" ‖ decimal byte length ‖ m).
func eip191Digest(m []byte) [32]byte {
	pre := append([]byte("\x19Ethereum Signed Message:\n"+strconv.Itoa(len(m))), m...)
	return keccak256(pre)
}

// bip137Digest is SHA256d(0x18 "Bitcoin Signed Message:\n" ‖
// compactsize(len m) ‖ m).
func bip137Digest(m []byte) [32]byte {
	pre := append([]byte("\x18Bitcoin Signed Message:\n"), compactSize(uint64(len(m)))...)
	pre = append(pre, m...)
	first := sha256.Sum256(pre)
	return sha256.Sum256(first[:])
}

// compactSize is Bitcoin's variable-length integer.
func compactSize(n uint64) []byte {
	switch {
	case n < 0xfd:
		return []byte{byte(n)}
	case n <= 0xffff:
		return []byte{0xfd, byte(n), byte(n >> 8)}
	case n <= 0xffffffff:
		return []byte{0xfe, byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}
	}
	b := []byte{0xff}
	for i := 0; i < 8; i++ {
		b = append(b, byte(n>>(8*i)))
	}
	return b
}

// bip322Networks are the networks BIP-322 and BIP-137 messages are
// verified on: Bitcoin's. Litecoin and Dogecoin sign messages under their
// own magic strings, and Bitcoin Cash has no BIP-322.
var bip322Networks = map[string]bool{"btc": true, "testnet": true, "signet": true}

// bip322Digests are the BIP-322 "simple" digests of message m for the
// address signer on network: the sighash of to_sign's input 0, which
// spends to_spend's output (0 sat, the address's scriptPubKey). P2WPKH
// signs with BIP-143 SIGHASH_ALL; P2TR with BIP-341, SIGHASH_DEFAULT or
// SIGHASH_ALL (BIP-322 v2.0.0 allows either), so both are returned.
// Legacy P2PKH addresses are refused (BIP-137 covers them), and so are
// P2SH and P2WSH, whose digest needs a script the request does not carry.
func bip322Digests(network, signer string, m []byte) ([][32]byte, *failure) {
	net, ok := btc.NetworkByName(network)
	if !ok || !bip322Networks[network] {
		return nil, fail("token_id", "BIP-322 messages are verified on Bitcoin networks only, not %s", short(network))
	}
	spk, err := btc.DecodeAddress(net, signer)
	if err != nil {
		return nil, fail("source", "address %q is not a %s address: %v", short(signer), network, err)
	}
	typ, program := btc.Classify(spk)
	switch typ {
	case btc.ScriptP2WPKH, btc.ScriptP2TR:
	case btc.ScriptP2PKH:
		return nil, fail("source", "BIP-322 from a legacy P2PKH address is refused; legacy addresses sign with BIP-137")
	default:
		return nil, fail("source", "BIP-322 from a %s address is not verified (its digest needs a script the request does not carry)", typ)
	}
	msgHash := btc.TaggedHash("BIP0322-signed-message", m)
	toSpend := &btc.Tx{
		Version: 0,
		Inputs: []btc.TxIn{{
			PrevOut:   btc.OutPoint{Index: 0xffffffff},
			ScriptSig: append([]byte{0x00, 0x20}, msgHash[:]...),
			Sequence:  0,
		}},
		Outputs: []btc.TxOut{{Value: 0, PkScript: spk}},
	}
	toSign := &btc.Tx{
		Version: 0,
		Inputs:  []btc.TxIn{{PrevOut: btc.OutPoint{Hash: btc.DoubleSHA256(toSpend.Serialize()), Index: 0}, Sequence: 0}},
		Outputs: []btc.TxOut{{Value: 0, PkScript: []byte{0x6a}}},
	}
	if typ == btc.ScriptP2WPKH {
		d, err := btc.BIP143SigHash(toSign, 0, btc.P2PKHScript(program), 0, btc.SigHashAll)
		if err != nil {
			return nil, fail("internal", "BIP-143 sighash: %v", err)
		}
		return [][32]byte{d}, nil
	}
	prevouts := []btc.TxOut{{Value: 0, PkScript: spk}}
	var out [][32]byte
	for _, ht := range []byte{btc.SigHashDefault, btc.SigHashAll} {
		d, err := btc.TaprootSigHash(toSign, 0, prevouts, ht, nil)
		if err != nil {
			return nil, fail("internal", "BIP-341 sighash: %v", err)
		}
		out = append(out, d)
	}
	return out, nil
}

// canonicalBitcoinSigner is the one spelling of a described Bitcoin
// signer: a segwit address (bech32 or bech32m, valid in one case only) in
// lower case, so "BC1Q…" and "bc1q…" are one tx.message.signer. Anything
// else is returned as described (base58check is case-sensitive).
func canonicalBitcoinSigner(network, signer string) string {
	net, ok := btc.NetworkByName(network)
	if !ok || !net.Segwit() || !strings.HasPrefix(strings.ToLower(signer), net.HRP+"1") {
		return signer
	}
	if _, err := btc.DecodeAddress(net, signer); err != nil {
		return signer
	}
	return strings.ToLower(signer)
}

// adr36Digest is SHA-256 of ADR-036's canonical amino sign document.
// The signer is embedded in JSON, so it must be plain bech32 (lower-case
// letters and digits, a valid checksum): no character that would need
// escaping, and one spelling per address.
func adr36Digest(signer string, data []byte) ([32]byte, *failure) {
	if len(data) == 0 {
		return [32]byte{}, fail("message_cosmos_adr36", "is empty; ADR-036 refuses empty data")
	}
	if !validBech32(signer) {
		return [32]byte{}, fail("source", "address %q is not a lower-case bech32 address", short(signer))
	}
	doc := `{"account_number":"0","chain_id":"","fee":{"amount":[],"gas":"0"},"memo":"","msgs":[{"type":"sign/MsgSignData","value":{"data":"` +
		base64.StdEncoding.EncodeToString(data) + `","signer":"` + signer + `"}}],"sequence":"0"}`
	return sha256.Sum256([]byte(doc)), nil
}

// validBech32 checks a lower-case bech32 (BIP-173) string's charset,
// separator and checksum.
func validBech32(s string) bool {
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	if len(s) < 8 || len(s) > 90 || s != strings.ToLower(s) {
		return false
	}
	pos := strings.LastIndexByte(s, '1')
	if pos < 1 || pos+7 > len(s) {
		return false
	}
	hrp, data := s[:pos], s[pos+1:]
	values := make([]int, 0, len(hrp)*2+1+len(data))
	for i := 0; i < len(hrp); i++ {
		if hrp[i] < 33 || hrp[i] > 126 {
			return false
		}
		values = append(values, int(hrp[i]>>5))
	}
	values = append(values, 0)
	for i := 0; i < len(hrp); i++ {
		values = append(values, int(hrp[i]&31))
	}
	for i := 0; i < len(data); i++ {
		d := strings.IndexByte(charset, data[i])
		if d < 0 {
			return false
		}
		values = append(values, d)
	}
	gen := [5]int{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := 1
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ v
		for i := 0; i < 5; i++ {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk == 1
}

// verifyTypedMessage hashes an EIP-712 description: structured_data
// and/or raw_structured_data, which must agree when both are present.
func verifyTypedMessage(d *protocol.V2TransactionDestination, msg *protocol.MessageFacts) ([32]byte, *failure) {
	var results []*typedResult
	var tds []*typedData
	read := func(field string, data []byte) *failure {
		if len(data) > maxTypedDataBytes {
			return fail(field, "is %d bytes, more than %d", len(data), maxTypedDataBytes)
		}
		v, err := protocol.ParseJSON(data)
		if err != nil {
			return fail(field, "is not valid JSON: %v", err)
		}
		td, err := parseTypedData(v)
		if err != nil {
			return fail(field, "%v", err)
		}
		res, err := hashTypedData(td)
		if err != nil {
			return fail(field, "%v", err)
		}
		results, tds = append(results, res), append(tds, td)
		return nil
	}
	if sd := strings.TrimSpace(string(d.StructuredData)); sd != "" && sd != "null" {
		if f := read("structured_data", d.StructuredData); f != nil {
			return [32]byte{}, f
		}
	}
	if d.RawStructuredData != "" {
		if f := read("raw_structured_data", []byte(d.RawStructuredData)); f != nil {
			return [32]byte{}, f
		}
	}
	switch len(results) {
	case 0:
		return [32]byte{}, fail("structured_data", "neither structured_data nor raw_structured_data is present")
	case 2:
		a, b := results[0], results[1]
		if a.digest != b.digest {
			return [32]byte{}, fail("raw_structured_data", "gives digest %x, structured_data gives %x; they must describe the same typed data", b.digest, a.digest)
		}
		if tds[0].primaryType != tds[1].primaryType || !reflect.DeepEqual(a.undeclared, b.undeclared) {
			return [32]byte{}, fail("raw_structured_data", "differs from structured_data in members the digest does not cover")
		}
	}
	res, td := results[0], tds[0]
	msg.Kind = messageKind712
	msg.Domain = res.domain
	msg.PrimaryType = td.primaryType
	msg.Message = res.message
	msg.Undeclared = res.undeclared
	msg.Permit, msg.Unlimited = recognisePermit(td, res)
	return res.digest, nil
}

// permitShapes are the recognised permit types: primary type name -> the
// exact encodeType it must have.
var permitShapes = map[string]string{
	"Permit":                  "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)",
	"PermitSingle":            "PermitSingle(PermitDetails details,address spender,uint256 sigDeadline)PermitDetails(address token,uint160 amount,uint48 expiration,uint48 nonce)",
	"PermitBatch":             "PermitBatch(PermitDetails[] details,address spender,uint256 sigDeadline)PermitDetails(address token,uint160 amount,uint48 expiration,uint48 nonce)",
	"PermitTransferFrom":      "PermitTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline)TokenPermissions(address token,uint256 amount)",
	"PermitBatchTransferFrom": "PermitBatchTransferFrom(TokenPermissions[] permitted,address spender,uint256 nonce,uint256 deadline)TokenPermissions(address token,uint256 amount)",
}

// unlimitedFloor is Permit2's maximum allowance, 2^160 - 1: an amount at
// least this large is as good as unlimited.
var unlimitedFloor = decimal.New(new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 160), big.NewInt(1)), 0)

// recognisePermit maps a recognised permit to the one Permit shape.
func recognisePermit(td *typedData, res *typedResult) (*protocol.Permit, bool) {
	want, ok := permitShapes[td.primaryType]
	if !ok || td.encodeType(td.primaryType) != want {
		return nil, false
	}
	m := res.message
	dec := func(v any) decimal.Decimal { d, _ := v.(decimal.Decimal); return d }
	str := func(v any) string { s, _ := v.(string); return s }
	p := &protocol.Permit{Spender: str(m["spender"]), Tokens: []string{}, Amounts: []decimal.Decimal{}, Expirations: []decimal.Decimal{}}
	addDetail := func(d map[string]any, expiring bool) {
		p.Tokens = append(p.Tokens, str(d["token"]))
		p.Amounts = append(p.Amounts, dec(d["amount"]))
		if expiring {
			p.Expirations = append(p.Expirations, dec(d["expiration"]))
		}
	}
	switch td.primaryType {
	case "Permit":
		if res.domain.VerifyingContract == "" {
			return nil, false // the token is the verifying contract
		}
		p.Owner = str(m["owner"])
		p.Tokens = []string{res.domain.VerifyingContract}
		p.Amounts = []decimal.Decimal{dec(m["value"])}
		p.Deadline = dec(m["deadline"])
		p.Nonce, p.NonceKnown = dec(m["nonce"]), true
	case "PermitSingle":
		d, _ := m["details"].(map[string]any)
		addDetail(d, true)
		p.Deadline = dec(m["sigDeadline"])
		p.Nonce, p.NonceKnown = dec(d["nonce"]), true
	case "PermitBatch":
		list, _ := m["details"].([]any)
		for _, e := range list {
			d, _ := e.(map[string]any)
			addDetail(d, true)
		}
		p.Deadline = dec(m["sigDeadline"])
	case "PermitTransferFrom":
		d, _ := m["permitted"].(map[string]any)
		addDetail(d, false)
		p.Deadline = dec(m["deadline"])
		p.Nonce, p.NonceKnown = dec(m["nonce"]), true
	case "PermitBatchTransferFrom":
		list, _ := m["permitted"].([]any)
		for _, e := range list {
			d, _ := e.(map[string]any)
			addDetail(d, false)
		}
		p.Deadline = dec(m["deadline"])
		p.Nonce, p.NonceKnown = dec(m["nonce"]), true
	}
	unlimited := false
	for _, a := range p.Amounts {
		if a.Cmp(unlimitedFloor) >= 0 {
			unlimited = true
		}
	}
	return p, unlimited
}
