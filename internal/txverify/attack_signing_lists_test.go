package txverify

import (
	"strings"
	"testing"
)

// Confirmations (claims hold): hash lists and derivation paths. An ETH
// transaction labelled as a token without a decoder must never come out
// Unsupported (the only failure verify: optional may accept), however its
// paths and hashes are spelled; a genuine description must not verify
// with a duplicated or padded hash list.
func TestAttackSigningListsConfirm(t *testing.T) {
	base := ethVector(t)
	h := base.msgHashes[0]
	bare := strings.TrimPrefix(h, "0x")
	cases := []struct {
		name  string
		label string // token_id
		edit  func(d *desc)
	}{
		{"same hash twice, different case", "ETH", func(d *desc) {
			d.msgHashes = []string{h, "0X" + strings.ToUpper(bare)}
			d.paths = []string{"m/44/60/0/0/0", "m/44/60/0/0/0"}
		}},
		{"7000 copies", "ETH", func(d *desc) {
			d.msgHashes, d.paths = nil, nil
			for range 7000 {
				d.msgHashes, d.paths = append(d.msgHashes, h), append(d.paths, "m/44/60/0/0/0")
			}
		}},
		{"hash plus a foreign hash", "ETH", func(d *desc) {
			d.msgHashes = []string{h, strings.Repeat("ab", 32)}
			d.paths = []string{"m/44/60/0/0/0", "m/44/60/0/0/0"}
		}},
		{"fewer paths than hashes", "ETH", func(d *desc) { d.paths = []string{} }},
		{"relabelled, path 44/60 without m/", "XRP", func(d *desc) { d.paths = []string{"44/60/0/0/0"} }},
		{"relabelled, hardened h", "XRP", func(d *desc) { d.paths = []string{"m/44h/60h/0h/0/0"} }},
		{"relabelled, capital M", "XRP", func(d *desc) { d.paths = []string{"M/44/60/0/0/0"} }},
		{"relabelled, leading zero coin type", "XRP", func(d *desc) { d.paths = []string{"m/44/060/0/0/0"} }},
		{"relabelled, fullwidth digits", "XRP", func(d *desc) { d.paths = []string{"m/44/\uff16\uff10/0/0/0"} }},
		{"relabelled, trailing slash", "XRP", func(d *desc) { d.paths = []string{"m/44/60/0/0/0/"} }},
		{"relabelled, coin type 2^31+60 unmarked", "XRP", func(d *desc) { d.paths = []string{"m/44/2147483708/0/0/0"} }},
		{"relabelled, one-component path", "XRP", func(d *desc) { d.paths = []string{"m/0"} }},
		{"relabelled, second of two paths is ETH", "XRP", func(d *desc) {
			d.msgHashes = []string{h, strings.Repeat("cd", 32)}
			d.paths = []string{"m/44/144/0/0/0", "m/44/60/0/0/0"}
		}},
		{"relabelled, TRON coin type", "XRP", func(d *desc) { d.paths = []string{"m/44'/195'/0'/0/0"} }},
		{"relabelled, Solana coin type", "XRP", func(d *desc) { d.paths = []string{"m/44'/501'/0'/0'"} }},
		{"variant of a table id (ETH with zero-width space) on a XRP path", "ETH\u200b", func(d *desc) { d.paths = []string{"m/44/144/0/0/0"}; d.chainID = "XRP" }},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			d := base
			d.tokenID = tt.label
			if tt.label != "ETH" && d.chainID == "ETH" {
				d.chainID = "XRP"
			}
			tt.edit(&d)
			res := DefaultRegistry().Verify(v2Request(t, d))
			if res.Verified {
				t.Fatalf("verified")
			}
			// The zero-width variant has no table spelling to enforce: it is
			// an unknown token on a XRP path, which optional is for.
			if tt.label == "ETH\u200b" {
				return
			}
			if res.Unsupported || res.Verification().Unsupported {
				t.Fatalf("Unsupported (verify: optional would accept): %s", res.Reason)
			}
		})
	}
}
