package txverify

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// HardenedOffset is added to a BIP-32 index to mark it hardened (BIP-32:
// indexes 2^31 and above are hardened).
const HardenedOffset uint32 = 1 << 31

// maxBIP32Depth bounds the components of a path. BIP-32 depth is one byte;
// Cobo's paths have five components.
const maxBIP32Depth = 255

// ParseBIP32Path reads a derivation path such as "m/44/60/0/0/0" or
// "44'/60h/0'/0/0" into its indexes, hardened ones with HardenedOffset
// added. Cobo's own data spells paths both with and without the leading
// "m/" (PROTOCOL.md 11.3), so both are accepted and yield the same
// indexes; nothing else is. Each component is a decimal number below 2^31
// in ASCII digits without a sign or leading zeros, optionally followed by
// one hardened marker, ' or h. Refused: an empty path, "m" alone (the
// master key signs no Cobo transaction), empty components (leading,
// doubled or trailing slashes), spaces, hex, non-ASCII digits, and
// components of 2^31 or more before hardening.
//
// Strictness matters because policy reads facts from the path (the coin
// type): two spellings of one path must not parse to different facts, and
// a spelling that does not parse must not be mistaken for "no coin type".
func ParseBIP32Path(path string) ([]uint32, error) {
	if path == "" {
		return nil, errors.New("empty path")
	}
	rest := path
	if rest == "m" {
		return nil, errors.New(`"m" alone names the master key, not a signing path`)
	}
	rest = strings.TrimPrefix(rest, "m/")
	parts := strings.Split(rest, "/")
	if len(parts) > maxBIP32Depth {
		return nil, fmt.Errorf("%d components, more than %d", len(parts), maxBIP32Depth)
	}
	out := make([]uint32, len(parts))
	for i, p := range parts {
		n, err := parseBIP32Component(p)
		if err != nil {
			return nil, fmt.Errorf("component %d (%q): %v", i+1, short(p), err)
		}
		out[i] = n
	}
	return out, nil
}

// formatBIP32Path spells parsed indexes as a path, hardened ones with ',
// for reasons: "m/84'/0'/0'/0/1". It spells any []uint32, including ones
// ParseBIP32Path refuses (none: "m"); past 8 components it gives the
// count instead of the rest, as a PSBT's paths have no length bound.
func formatBIP32Path(indexes []uint32) string {
	const shown = 8
	var b strings.Builder
	b.WriteString("m")
	for k, i := range indexes {
		if k == shown {
			fmt.Fprintf(&b, "/... (%d components)", len(indexes))
			break
		}
		b.WriteString("/" + strconv.FormatUint(uint64(i&^HardenedOffset), 10))
		if i&HardenedOffset != 0 {
			b.WriteString("'")
		}
	}
	return b.String()
}

// parseBIP32Component reads one index with an optional hardened marker.
func parseBIP32Component(p string) (uint32, error) {
	hardened := false
	if strings.HasSuffix(p, "'") || strings.HasSuffix(p, "h") {
		hardened, p = true, p[:len(p)-1]
	}
	if p == "" {
		return 0, errors.New("empty")
	}
	var n uint64
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return 0, errors.New("not a decimal index")
		}
		n = n*10 + uint64(c-'0')
		if n >= uint64(HardenedOffset) {
			return 0, errors.New("index is 2^31 or more; mark hardened indexes with ' or h instead")
		}
	}
	if len(p) > 1 && p[0] == '0' {
		return 0, errors.New("leading zero")
	}
	if hardened {
		n += uint64(HardenedOffset)
	}
	return uint32(n), nil
}

// Coin types (SLIP-44), as the second component of a BIP-44 path, whose
// transactions this package decodes.
const (
	CoinTypeEVM     = 60  // Ethereum and EVM chains
	CoinTypeTRON    = 195 // TRON
	CoinTypeSolana  = 501 // Solana
	CoinTypeBTC     = 0   // Bitcoin
	CoinTypeTestnet = 1   // testnets of every coin (Bitcoin testnet and signet)
	CoinTypeLTC     = 2   // Litecoin
	CoinTypeDOGE    = 3   // Dogecoin
	CoinTypeBCH     = 145 // Bitcoin Cash
)

// utxoCoinTypes maps each UTXO network (Token.Network) to the coin type
// its keys derive under. It is the one table of UTXO coin types: a
// verified UTXO token's paths must carry its own (checkUTXOPaths), and a
// token without a decoder may carry none of them (checkNotRelabelled).
// Testnet and signet share coin type 1 ("Testnet (all coins)" in SLIP-44),
// so a path cannot tell XTN from SIGNET_BTC.
var utxoCoinTypes = map[string]uint32{
	"btc":     CoinTypeBTC,
	"testnet": CoinTypeTestnet,
	"signet":  CoinTypeTestnet,
	"ltc":     CoinTypeLTC,
	"doge":    CoinTypeDOGE,
	"bch":     CoinTypeBCH,
}

// verifiableCoinTypes maps each decodable coin type to its chain.
var verifiableCoinTypes = func() map[uint32]string {
	m := map[uint32]string{
		CoinTypeEVM:    ChainEVM,
		CoinTypeTRON:   ChainTRON,
		CoinTypeSolana: ChainSolana,
	}
	for _, c := range utxoCoinTypes {
		m[c] = ChainUTXO
	}
	return m
}()

// VerifiableCoinTypes returns the SLIP-44 coin types whose transactions
// this package decodes, ascending. A KEYSIGN for a token_id without a
// decoder that signs on one of them is refused as a relabelled
// transaction, so this set, not policy, decides what "no decoder" may
// cover.
func VerifiableCoinTypes() []uint32 {
	out := make([]uint32, 0, len(verifiableCoinTypes))
	for c := range verifiableCoinTypes {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// coinType returns the coin type of a parsed path: its second component,
// hardened or not (Cobo's documented example is non-hardened,
// PROTOCOL.md 11.7). ok is false for a path with fewer than two
// components.
func coinType(indexes []uint32) (uint32, bool) {
	if len(indexes) < 2 {
		return 0, false
	}
	return indexes[1] &^ HardenedOffset, true
}

// coinTypePurposes are the BIP-43 purposes whose second level is the
// SLIP-44 coin type: BIP-44 (P2PKH), BIP-48 (multisig), BIP-49
// (P2SH-P2WPKH), BIP-84 (P2WPKH) and BIP-86 (P2TR). Under any other
// purpose the second level may mean something else (BIP-45 puts a
// cosigner index there), so it says nothing about the coin.
var coinTypePurposes = map[uint32]bool{44: true, 48: true, 49: true, 84: true, 86: true}

// purposeCoinType returns the coin type of a parsed path whose purpose,
// hardened or not, is one of coinTypePurposes. It returns an error for a
// path with fewer than two components, more than BIP-32's 255 (a PSBT's
// paths are not bounded by ParseBIP32Path), or another purpose.
func purposeCoinType(indexes []uint32) (uint32, error) {
	coin, ok := coinType(indexes)
	if !ok {
		return 0, errors.New("has no coin type level")
	}
	if len(indexes) > maxBIP32Depth {
		// Only a PSBT's paths can be this deep; BIP-32 cannot derive them.
		return 0, fmt.Errorf("has %d components, more than BIP-32's %d", len(indexes), maxBIP32Depth)
	}
	if p := indexes[0] &^ HardenedOffset; !coinTypePurposes[p] {
		return 0, fmt.Errorf("has purpose %d, not one whose second level is the coin type (44, 48, 49, 84, 86)", p)
	}
	return coin, nil
}
