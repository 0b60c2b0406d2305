package btc

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Network holds one chain's address encodings and signing rules.
type Network struct {
	// Name is the network's identifier here: "btc", "testnet", "signet",
	// "ltc", "doge" or "bch".
	Name string
	// P2PKH and P2SH are the base58check version bytes accepted; the
	// first of each is the canonical one used when encoding.
	P2PKH, P2SH []byte
	// HRP is the bech32/bech32m human-readable part, "" when the chain has
	// no segwit.
	HRP string
	// Taproot is whether witness v1 (P2TR) outputs are spendable.
	Taproot bool
	// CashAddr is the CashAddr prefix (BCH), "" otherwise. When set,
	// addresses are encoded in CashAddr with the prefix, and every input
	// is signed with the FORKID digest.
	CashAddr string
}

// Segwit reports whether the network has segregated witness.
func (n *Network) Segwit() bool { return n.HRP != "" }

// The networks tssgate verifies (PROTOCOL.md 11.7). Signet shares
// testnet's encodings: an address cannot tell them apart, so the network
// comes from the request's chain, never from the address.
var (
	Mainnet = &Network{Name: "btc", P2PKH: []byte{0x00}, P2SH: []byte{0x05}, HRP: "bc", Taproot: true}
	Testnet = &Network{Name: "testnet", P2PKH: []byte{0x6f}, P2SH: []byte{0xc4}, HRP: "tb", Taproot: true}
	Signet  = &Network{Name: "signet", P2PKH: []byte{0x6f}, P2SH: []byte{0xc4}, HRP: "tb", Taproot: true}
	// Litecoin's canonical P2SH version is 0x32 (M...); 0x05 (3...) is its
	// SCRIPT_ADDRESS and still accepted.
	Litecoin = &Network{Name: "ltc", P2PKH: []byte{0x30}, P2SH: []byte{0x32, 0x05}, HRP: "ltc", Taproot: true}
	// Dogecoin has no segwit in use: bech32 addresses are refused.
	Dogecoin = &Network{Name: "doge", P2PKH: []byte{0x1e}, P2SH: []byte{0x16}}
	// Bitcoin Cash: CashAddr, with legacy base58 accepted on input.
	BitcoinCash = &Network{Name: "bch", P2PKH: []byte{0x00}, P2SH: []byte{0x05}, CashAddr: "bitcoincash"}
)

// NetworkByName returns the network called name (see Network.Name).
func NetworkByName(name string) (*Network, bool) {
	for _, n := range []*Network{Mainnet, Testnet, Signet, Litecoin, Dogecoin, BitcoinCash} {
		if n.Name == name {
			return n, true
		}
	}
	return nil, false
}

// DecodeAddress returns the scriptPubKey an address pays on n. It accepts
// base58check with one of n's version bytes; bech32 (witness v0, 20 or 32
// bytes) and bech32m (v1, 32 bytes, where n has Taproot) with n's HRP, in
// one case; CashAddr with or without n's prefix, in one case. Anything
// else, including another network's address, is an error.
func DecodeAddress(n *Network, addr string) ([]byte, error) {
	if addr == "" || len(addr) > 120 {
		return nil, fmt.Errorf("address %q: empty or too long", clip(addr))
	}
	// A 160-bit CashAddr body is 42 characters; base58check addresses
	// of 21-byte payloads are at most 34.
	if n.CashAddr != "" && (strings.Contains(addr, ":") || len(addr) == 42) {
		return decodeCashAddr(n, addr)
	}
	if n.HRP != "" && strings.HasPrefix(strings.ToLower(addr), n.HRP+"1") {
		return decodeSegwit(n, addr)
	}
	payload, err := base58CheckDecode(addr)
	if err != nil {
		return nil, fmt.Errorf("address %q is not a %s address: %v", clip(addr), n.Name, err)
	}
	if len(payload) != 21 {
		return nil, fmt.Errorf("address %q: base58check payload is %d bytes, want 21", clip(addr), len(payload))
	}
	v, h := payload[0], payload[1:]
	switch {
	case bytes.IndexByte(n.P2PKH, v) >= 0:
		return P2PKHScript(h), nil
	case bytes.IndexByte(n.P2SH, v) >= 0:
		return P2SHScript(h), nil
	}
	return nil, fmt.Errorf("address %q: version byte %#02x is not a %s P2PKH or P2SH version", clip(addr), v, n.Name)
}

// EncodeAddress returns the canonical address of scriptPubKey pk on n:
// base58check with the first version byte; bech32 (v0) or bech32m (v1)
// lower-case; CashAddr with its prefix on BCH. A script with no address
// on n (OP_RETURN, bare multisig, unknown witness versions, segwit on a
// chain without it) is an error.
func EncodeAddress(n *Network, pk []byte) (string, error) {
	typ, h := Classify(pk)
	switch typ {
	case ScriptP2PKH, ScriptP2SH:
		if n.CashAddr != "" {
			t := byte(0)
			if typ == ScriptP2SH {
				t = 1
			}
			return encodeCashAddr(n.CashAddr, t, h), nil
		}
		v := n.P2PKH[0]
		if typ == ScriptP2SH {
			v = n.P2SH[0]
		}
		return base58CheckEncode(append([]byte{v}, h...)), nil
	case ScriptP2WPKH, ScriptP2WSH:
		if n.Segwit() {
			return encodeSegwit(n.HRP, 0, h), nil
		}
	case ScriptP2TR:
		if n.Taproot {
			return encodeSegwit(n.HRP, 1, h), nil
		}
	}
	return "", fmt.Errorf("script %x has no %s address", clipBytes(pk), n.Name)
}

func clipBytes(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// --- base58check ---

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var base58Index = func() (idx [256]int8) {
	for i := range idx {
		idx[i] = -1
	}
	for i := 0; i < len(base58Alphabet); i++ {
		idx[base58Alphabet[i]] = int8(i)
	}
	return idx
}()

func base58CheckEncode(payload []byte) string {
	sum := DoubleSHA256(payload)
	full := append(bytes.Clone(payload), sum[:4]...)
	zeros := 0
	for zeros < len(full) && full[zeros] == 0 {
		zeros++
	}
	n := new(big.Int).SetBytes(full)
	var out []byte
	b58, mod := big.NewInt(58), new(big.Int)
	for n.Sign() > 0 {
		n.DivMod(n, b58, mod)
		out = append(out, base58Alphabet[mod.Int64()])
	}
	for range zeros {
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

func base58CheckDecode(s string) ([]byte, error) {
	if len(s) > 64 {
		return nil, errors.New("too long for base58check")
	}
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	n := new(big.Int)
	b58 := big.NewInt(58)
	for i := 0; i < len(s); i++ {
		v := base58Index[s[i]]
		if v < 0 {
			return nil, fmt.Errorf("character %q is not base58", s[i])
		}
		n.Mul(n, b58)
		n.Add(n, big.NewInt(int64(v)))
	}
	full := append(make([]byte, zeros), n.Bytes()...)
	if len(full) < 5 {
		return nil, errors.New("too short for base58check")
	}
	payload, sum := full[:len(full)-4], full[len(full)-4:]
	want := DoubleSHA256(payload)
	if !bytes.Equal(sum, want[:4]) {
		return nil, errors.New("bad base58check checksum")
	}
	return payload, nil
}

// --- bech32 / bech32m (BIP-173, BIP-350) ---

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

const (
	bech32Const  = 1
	bech32mConst = 0x2bc830a3
)

func bech32Polymod(values []byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := range 5 {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}

func hrpExpand(hrp string) []byte {
	out := make([]byte, 0, 2*len(hrp)+1)
	for i := 0; i < len(hrp); i++ {
		out = append(out, hrp[i]>>5)
	}
	out = append(out, 0)
	for i := 0; i < len(hrp); i++ {
		out = append(out, hrp[i]&31)
	}
	return out
}

// convertBits regroups bits; pad adds zero bits at the end (encoding),
// otherwise leftover bits must be fewer than from and zero (decoding).
func convertBits(data []byte, from, to uint, pad bool) ([]byte, error) {
	acc, bits := uint32(0), uint(0)
	maxv := uint32(1)<<to - 1
	var out []byte
	for _, v := range data {
		if uint32(v)>>from != 0 {
			return nil, errors.New("invalid data value")
		}
		acc = acc<<from | uint32(v)
		bits += from
		for bits >= to {
			bits -= to
			out = append(out, byte(acc>>bits&maxv))
		}
	}
	if pad {
		if bits > 0 {
			out = append(out, byte(acc<<(to-bits)&maxv))
		}
	} else if bits >= from || acc<<(to-bits)&maxv != 0 {
		return nil, errors.New("invalid padding")
	}
	return out, nil
}

func encodeSegwit(hrp string, version byte, program []byte) string {
	data, _ := convertBits(program, 8, 5, true)
	data = append([]byte{version}, data...)
	c := uint32(bech32Const)
	if version > 0 {
		c = bech32mConst
	}
	values := append(hrpExpand(hrp), data...)
	values = append(values, 0, 0, 0, 0, 0, 0)
	mod := bech32Polymod(values) ^ c
	var sb strings.Builder
	sb.WriteString(hrp)
	sb.WriteByte('1')
	for _, d := range data {
		sb.WriteByte(bech32Charset[d])
	}
	for i := range 6 {
		sb.WriteByte(bech32Charset[(mod>>(5*(5-i)))&31])
	}
	return sb.String()
}

func decodeSegwit(n *Network, addr string) ([]byte, error) {
	bad := func(format string, args ...any) ([]byte, error) {
		return nil, fmt.Errorf("address %q: %s", clip(addr), fmt.Sprintf(format, args...))
	}
	if len(addr) > 90 {
		return bad("longer than 90 characters")
	}
	lower := strings.ToLower(addr)
	if lower != addr && strings.ToUpper(addr) != addr {
		return bad("mixed case")
	}
	pos := strings.LastIndexByte(lower, '1')
	if pos < 1 || pos+7 > len(lower) || lower[:pos] != n.HRP {
		return bad("not a %s segwit address", n.Name)
	}
	data := make([]byte, 0, len(lower)-pos-1)
	for i := pos + 1; i < len(lower); i++ {
		d := strings.IndexByte(bech32Charset, lower[i])
		if d < 0 {
			return bad("character %q is not bech32", lower[i])
		}
		data = append(data, byte(d))
	}
	c := bech32Polymod(append(hrpExpand(n.HRP), data...))
	if len(data) < 7 {
		return bad("no witness version")
	}
	version := data[0]
	switch {
	case version == 0 && c != bech32Const:
		return bad("bad bech32 checksum")
	case version > 0 && c != bech32mConst:
		return bad("bad bech32m checksum")
	}
	program, err := convertBits(data[1:len(data)-6], 5, 8, false)
	if err != nil {
		return bad("%v", err)
	}
	switch {
	case version == 0 && (len(program) == 20 || len(program) == 32):
	case version == 1 && len(program) == 32 && n.Taproot:
	default:
		return bad("witness version %d with a %d-byte program is not an address tssgate pays", version, len(program))
	}
	return WitnessScript(version, program), nil
}

// --- CashAddr (BCH) ---

func cashPolymod(values []byte) uint64 {
	gen := [5]uint64{0x98f2bc8e61, 0x79b76d99e2, 0xf33e5fb3c4, 0xae2eabe2a8, 0x1e4f43e470}
	c := uint64(1)
	for _, d := range values {
		c0 := byte(c >> 35)
		c = (c&0x07ffffffff)<<5 ^ uint64(d)
		for i := range 5 {
			if (c0>>i)&1 == 1 {
				c ^= gen[i]
			}
		}
	}
	return c ^ 1
}

func cashPrefix(prefix string) []byte {
	out := make([]byte, 0, len(prefix)+1)
	for i := 0; i < len(prefix); i++ {
		out = append(out, prefix[i]&31)
	}
	return append(out, 0)
}

func encodeCashAddr(prefix string, typ byte, hash []byte) string {
	payload, _ := convertBits(append([]byte{typ << 3}, hash...), 8, 5, true)
	values := append(cashPrefix(prefix), payload...)
	values = append(values, make([]byte, 8)...)
	mod := cashPolymod(values)
	var sb strings.Builder
	sb.WriteString(prefix)
	sb.WriteByte(':')
	for _, d := range payload {
		sb.WriteByte(bech32Charset[d])
	}
	for i := range 8 {
		sb.WriteByte(bech32Charset[(mod>>(5*(7-i)))&31])
	}
	return sb.String()
}

func decodeCashAddr(n *Network, addr string) ([]byte, error) {
	bad := func(format string, args ...any) ([]byte, error) {
		return nil, fmt.Errorf("address %q: %s", clip(addr), fmt.Sprintf(format, args...))
	}
	lower := strings.ToLower(addr)
	if lower != addr && strings.ToUpper(addr) != addr {
		return bad("mixed case")
	}
	body := lower
	if i := strings.IndexByte(lower, ':'); i >= 0 {
		if lower[:i] != n.CashAddr {
			return bad("CashAddr prefix %q is not %q", lower[:i], n.CashAddr)
		}
		body = lower[i+1:]
	}
	data := make([]byte, 0, len(body))
	for i := 0; i < len(body); i++ {
		d := strings.IndexByte(bech32Charset, body[i])
		if d < 0 {
			return bad("character %q is not CashAddr", body[i])
		}
		data = append(data, byte(d))
	}
	if len(data) != 42 { // 160-bit hash: 34 payload + 8 checksum characters
		return bad("not a 160-bit CashAddr")
	}
	if cashPolymod(append(cashPrefix(n.CashAddr), data...)) != 0 {
		return bad("bad CashAddr checksum")
	}
	payload, err := convertBits(data[:len(data)-8], 5, 8, false)
	if err != nil || len(payload) != 21 {
		return bad("bad CashAddr payload")
	}
	switch payload[0] {
	case 0x00:
		return P2PKHScript(payload[1:]), nil
	case 0x08:
		return P2SHScript(payload[1:]), nil
	}
	return bad("CashAddr version byte %#02x is not P2PKH or P2SH with a 160-bit hash", payload[0])
}
