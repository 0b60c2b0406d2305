package policy

import (
	"fmt"
	"testing"

	"tssgate/internal/protocol"
)

// Review 14: attacks on review 13's fixes to list entries and rule
// literals. Each test here failed when it was written; it passes once the
// finding it names is fixed.

// The BIP-173 test vector P2WPKH address, in the lower case every encoder
// must write (and tssgate's UTXO facts show) and in the all-upper-case
// spelling BIP-173 says decoders must accept, which is what a QR code or
// a payment request commonly carries.
const (
	bech32Lower = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
	bech32Upper = "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"
)

// TestAttack14UpperCaseBech32NeverMatches: review 13 refused list entries
// and literals that spell a value tssgate shows in lower case with upper
// case (EIP-55 addresses, 64-hex hashes), since they load and then never
// match. A bech32 address has the same two spellings: BIP-173 makes the
// all-upper-case form valid and equal to the lower-case one, and tssgate's
// tx facts show only the lower case. A deny-list entry (or a when literal)
// copied in upper case loads without a word and blocks nothing. Each case
// must be refused at load, or be normalized so that it blocks.
func TestAttack14UpperCaseBech32NeverMatches(t *testing.T) {
	tests := []struct {
		name  string
		lists string
		files map[string]string
		probe string // the literal the rule looks up in lists.blocked
	}{
		{
			name:  "upper-case entry in a list file",
			lists: "  blocked: {file: blocked.txt}\n",
			files: map[string]string{"blocked.txt": bech32Upper + "\n"},
			probe: bech32Lower,
		},
		{
			name:  "upper-case inline entry",
			lists: "  blocked: [" + bech32Upper + "]\n",
			probe: bech32Lower,
		},
		{
			name:  "upper-case literal probing a lower-case list",
			lists: "  blocked: [" + bech32Lower + "]\n",
			probe: bech32Upper,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, tc.files)
			src := policyWith("lists:\n"+tc.lists, fmt.Sprintf(`
  - name: blocked
    when: 'request.type == "PING" && "%s" in lists.blocked'
    action: reject
  - {name: ping, when: 'request.type == "PING"', action: approve}
`, tc.probe))
			action, refused := decidesOrRefuses(t, src, dir, &protocol.Request{Version: protocol.V2, Type: protocol.TypePing})
			if refused != "" {
				return
			}
			if action != protocol.ActionReject {
				t.Errorf("the policy loaded and %s is not found in lists.blocked (action %s): the upper-case bech32 spelling of one address never matches the lower-case one tx shows", tc.probe, action)
			}
		})
	}
}

// TestAttack14ConcatenatedChecksumLiteral: upperCaseLiterals looks at
// single string literals only. The same EIP-55 address written as two
// literals joined with + (as a long address is when a line is wrapped) is
// one constant string that a deny rule compares exactly with the
// lower-case tx address, so the rule loads and never fires and the
// transfer is approved. The check must see constant expressions (fold
// them first), or the comparison must be normalized.
func TestAttack14ConcatenatedChecksumLiteral(t *testing.T) {
	tests := []struct {
		name string
		when string
	}{
		{"equality with a concatenated literal", `tx.destinations.exists(d, d.address == "` + blockedChecksum[:21] + `" + "` + blockedChecksum[21:] + `")`},
		{"membership in a list of a concatenated literal", `tx.destinations.exists(d, d.address in ["` + blockedChecksum[:21] + `" + "` + blockedChecksum[21:] + `"])`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := policyWith("", fmt.Sprintf(`
  - name: blocked
    when: 'request.type == "KEYSIGN" && %s'
    action: reject
  - {name: sign, when: 'request.type == "KEYSIGN"', action: approve}
`, tc.when))
			extra := `{"transaction": {"destination": {"account_output": {"address": "` + blockedChecksum + `", "amount": "1"}}}}`
			req := request(t, protocol.V2, protocol.TypeKeySign, "", extra)
			action, refused := decidesOrRefuses(t, src, "", req)
			if refused != "" {
				return
			}
			if action != protocol.ActionReject {
				t.Errorf("the deny rule spells %s as a concatenation and the transfer pays it, yet the decision is %s", blockedChecksum, action)
			}
		})
	}
}
