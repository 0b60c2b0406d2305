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
