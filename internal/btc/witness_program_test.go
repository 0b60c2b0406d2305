package btc

import (
	"encoding/hex"
	"strings"
	"testing"
)

// TestIsWitnessProgram checks BIP-141's witness program form. The valid
// scriptPubKeys are BIP-350's address test vectors (bitcoin/bips,
// bip-0350.mediawiki, "Test vectors for v0-v16 native segregated witness
// addresses"); the rest are hand-built near misses.
func TestIsWitnessProgram(t *testing.T) {
	cases := []struct {
		name, script string
		want         bool
	}{
		{"v0 P2WPKH (BIP-350 BC1QW508...)", "0014751e76e8199196d454941c45d1b3a323f1433bd6", true},
		{"v0 P2WSH (BIP-350 tb1qrp33...)", "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262", true},
		{"v1 40 bytes (BIP-350 bc1pw508...)", "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6", true},
		{"v16 2 bytes (BIP-350 BC1SW50QGDZ25J)", "6002751e", true},
		{"v2 16 bytes (BIP-350 bc1zw508...)", "5210751e76e8199196d454941c45d1b3a323", true},
		{"program of 1 byte", "0001ff", false},
		{"program of 41 bytes", "0029" + strings.Repeat("11", 41), false},
		{"push length disagrees", "0014" + strings.Repeat("11", 19), false},
		{"trailing byte", "0014" + strings.Repeat("11", 20) + "ac", false},
		{"OP_1NEGATE is no version", "4f14" + strings.Repeat("11", 20), false},
		{"OP_PUSHDATA1 push", "004c14" + strings.Repeat("11", 20), false},
		{"P2PKH", "76a914" + strings.Repeat("11", 20) + "88ac", false},
		{"empty", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := hex.DecodeString(c.script)
			if err != nil {
				t.Fatal(err)
			}
			if got := IsWitnessProgram(s); got != c.want {
				t.Errorf("IsWitnessProgram(%s) = %v, want %v", c.script, got, c.want)
			}
		})
	}
}
