package txverify

import (
	"errors"
	"fmt"
	"sort"
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

// verifiableCoinTypes maps each decodable coin type to its chain.
var verifiableCoinTypes = map[uint32]string{
	CoinTypeEVM:     ChainEVM,
	CoinTypeTRON:    ChainTRON,
	CoinTypeSolana:  ChainSolana,
	CoinTypeBTC:     ChainUTXO,
	CoinTypeTestnet: ChainUTXO,
	CoinTypeLTC:     ChainUTXO,
	CoinTypeDOGE:    ChainUTXO,
	CoinTypeBCH:     ChainUTXO,
}

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
