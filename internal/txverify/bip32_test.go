package txverify

import (
	"slices"
	"strings"
	"testing"
)

func TestParseBIP32Path(t *testing.T) {
	const h = HardenedOffset
	tests := []struct {
		name   string
		path   string
		want   []uint32
		reason string // non-empty: refused, with this in the error
	}{
		{name: "Cobo bip32_path_list spelling", path: "m/44/60/0/0/0", want: []uint32{44, 60, 0, 0, 0}},
		{name: "Cobo AddressInfo spelling, no m/", path: "44/60/0/0/0", want: []uint32{44, 60, 0, 0, 0}},
		{name: "apostrophe hardened", path: "m/44'/60'/0'/0/7", want: []uint32{44 + h, 60 + h, h, 0, 7}},
		{name: "h hardened without m/", path: "44h/501h/0h/0h", want: []uint32{44 + h, 501 + h, h, h}},
		{name: "largest index", path: "m/2147483647/2147483647'", want: []uint32{h - 1, h + (h - 1)}},
		{name: "one component", path: "0", want: []uint32{0}},
		{name: "empty", path: "", reason: "empty path"},
		{name: "m alone", path: "m", reason: "master key"},
		{name: "m/ alone", path: "m/", reason: "empty"},
		{name: "hex component", path: "m/44/0x3c/0/0/0", reason: "component 2"},
		{name: "hex digits", path: "m/44/3c/0/0/0", reason: "not a decimal"},
		{name: "empty component", path: "m/44//0/0/0", reason: "component 2"},
		{name: "leading slash", path: "/44/60/0/0/0", reason: "component 1"},
		{name: "double m", path: "m/m/44", reason: "not a decimal"},
		{name: "trailing slash", path: "m/44/60/0/0/0/", reason: "component 6"},
		{name: "2^31 before hardening", path: "m/44/2147483648/0", reason: "2^31"},
		{name: "2^31 hardened", path: "m/44/2147483648'/0", reason: "2^31"},
		{name: "overflowing uint64", path: "m/44/99999999999999999999999/0", reason: "2^31"},
		{name: "space inside", path: "m/44/ 60/0/0/0", reason: "not a decimal"},
		{name: "trailing space", path: "m/44/60/0/0/0 ", reason: "not a decimal"},
		{name: "leading space", path: " m/44/60/0/0/0", reason: "not a decimal"},
		{name: "unicode digits", path: "m/44/\u0666\u0660/0/0/0", reason: "not a decimal"},
		{name: "fullwidth digits", path: "m/44/\uff16\uff10/0", reason: "not a decimal"},
		{name: "sign", path: "m/44/+60/0", reason: "not a decimal"},
		{name: "negative", path: "m/44/-60/0", reason: "not a decimal"},
		{name: "leading zero", path: "m/44/060/0/0/0", reason: "leading zero"},
		{name: "two hardened markers", path: "m/44''/60/0", reason: "not a decimal"},
		{name: "capital H", path: "m/44H/60/0", reason: "not a decimal"},
		{name: "capital M", path: "M/44/60/0", reason: "not a decimal"},
		{name: "bare marker", path: "m/'/60", reason: "empty"},
		{name: "backslash", path: "m\\44\\60", reason: "not a decimal"},
		{name: "too deep", path: strings.Repeat("0/", 255) + "0", reason: "more than 255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBIP32Path(tt.path)
			if tt.reason != "" {
				if err == nil {
					t.Fatalf("ParseBIP32Path(%q) = %v, want an error", tt.path, got)
				}
				if !strings.Contains(err.Error(), tt.reason) {
					t.Errorf("error %q does not mention %q", err, tt.reason)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("ParseBIP32Path(%q) = %v, %v, want %v", tt.path, got, err, tt.want)
			}
		})
	}
}

func TestVerifiableCoinTypes(t *testing.T) {
	if got := VerifiableCoinTypes(); !slices.Equal(got, []uint32{0, 1, 2, 3, 60, 145, 195, 501}) {
		t.Fatalf("VerifiableCoinTypes() = %v", got)
	}
	// The result is a copy.
	VerifiableCoinTypes()[0] = 7
	if got := VerifiableCoinTypes(); got[0] != 0 {
		t.Fatal("VerifiableCoinTypes shares its slice")
	}
}

// TestUTXOCoinTypes: every built-in UTXO token's network derives under
// its SLIP-44 coin type, and those are the UTXO coin types
// VerifiableCoinTypes lists.
func TestUTXOCoinTypes(t *testing.T) {
	want := map[string]uint32{"BTC": 0, "XTN": 1, "SIGNET_BTC": 1, "LTC": 2, "DOGE": 3, "BCH": 145}
	seen := 0
	for _, tok := range DefaultRegistry().Tokens() {
		if tok.Chain != ChainUTXO {
			continue
		}
		seen++
		c, ok := utxoCoinTypes[tok.Network]
		if w, known := want[tok.TokenID]; !ok || !known || c != w {
			t.Errorf("%s (network %s): coin type %d (known %v), want %d", tok.TokenID, tok.Network, c, ok, w)
		}
		if verifiableCoinTypes[c] != ChainUTXO {
			t.Errorf("%s: coin type %d is not a verifiable UTXO coin type", tok.TokenID, c)
		}
	}
	if seen != len(want) {
		t.Fatalf("%d built-in UTXO tokens, want %d", seen, len(want))
	}
}

func TestPurposeCoinType(t *testing.T) {
	tests := []struct {
		name string
		path string
		coin uint32
		err  string
	}{
		{"BIP-44 unhardened", "m/44/2/0/0/0", 2, ""},
		{"BIP-84 hardened", "m/84'/0'/0'/0/0", 0, ""},
		{"BIP-86 h marker", "86h/1h/0h/0/0", 1, ""},
		{"BIP-49", "m/49'/3'/0'", 3, ""},
		{"BIP-48 multisig", "m/48'/145'/0'/2'/0/0", 145, ""},
		{"BIP-45", "m/45'/0/0/0", 0, "purpose 45"},
		{"no purpose level's meaning", "m/0/0", 0, "purpose 0"},
		{"purpose only", "m/84'", 0, "no coin type level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx, err := ParseBIP32Path(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := purposeCoinType(idx)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("purposeCoinType(%s) = %d, %v; want an error containing %q", tt.path, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.coin {
				t.Fatalf("purposeCoinType(%s) = %d, %v; want %d", tt.path, got, err, tt.coin)
			}
		})
	}
	deep := make([]uint32, maxBIP32Depth+1)
	deep[0] = 44
	if _, err := purposeCoinType(deep); err == nil {
		t.Fatal("a path deeper than BIP-32 allows has a coin type")
	}
}

func TestFormatBIP32Path(t *testing.T) {
	tests := []struct {
		name string
		in   []uint32
		want string
	}{
		{"master", nil, "m"},
		{"mixed hardening", []uint32{84 + HardenedOffset, 0 + HardenedOffset, HardenedOffset, 1, 7}, "m/84'/0'/0'/1/7"},
		{"long", make([]uint32, 300), "m/0/0/0/0/0/0/0/0/... (300 components)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatBIP32Path(tt.in); got != tt.want {
				t.Fatalf("formatBIP32Path = %q, want %q", got, tt.want)
			}
		})
	}
}
