package policy

import (
	"fmt"
	"strings"
	"testing"

	"tssgate/internal/protocol"
)

// Review 15: attacks on review 14's fixes to upper-case constants and list
// entries (upperCaseLiterals, upperCaseBitcoinAddress). Each test here
// failed when it was written; it passes once the finding it names is fixed.

// The CashAddr specification's example P2PKH address (hash160
// 76a04053bda0a88bda5177b86a15c3b29f559873), in the one spelling tx shows
// for a BCH address (btc.EncodeAddress writes the prefix), and the body
// alone, which wallets and explorers commonly display and CashAddr lets a
// decoder accept.
const (
	cashAddrPrefixed = "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"
	cashAddrBody     = "qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"
)

// TestAttack15PrefixlessCashAddrNeverMatches: tx shows a BCH address
// with its "bitcoincash:" prefix, and list entries are compared exactly
// (only EVM addresses are normalized). A deny-list entry written as the
// prefix-less CashAddr body, in lower case, loads without a word and never
// matches, so the deny rule cannot fire. Worse, the same entry in upper
// case is refused with the advice to write it in lower case, which gives
// exactly that silent entry. Each case must be refused at load, or be
// normalized so that it blocks.
func TestAttack15PrefixlessCashAddrNeverMatches(t *testing.T) {
	tests := []struct {
		name  string
		lists string
		files map[string]string
	}{
		{
			name:  "prefix-less entry in a list file",
			lists: "  blocked: {file: blocked.txt}\n",
			files: map[string]string{"blocked.txt": cashAddrBody + "\n"},
		},
		{
			name:  "prefix-less inline entry",
			lists: "  blocked: [" + cashAddrBody + "]\n",
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
`, cashAddrPrefixed))
			action, refused := decidesOrRefuses(t, src, dir, &protocol.Request{Version: protocol.V2, Type: protocol.TypePing})
			if refused != "" {
				return
			}
			if action != protocol.ActionReject {
				t.Errorf("the policy loaded and %s (the spelling tx shows) is not found in lists.blocked (action %s): the prefix-less CashAddr entry %s never matches", cashAddrPrefixed, action, cashAddrBody)
			}
		})
	}
	// The advice given for an upper-case prefix-less literal must not be a
	// spelling that can never match either.
	t.Run("upper-case prefix-less literal advice", func(t *testing.T) {
		when := `tx.destinations.exists(d, d.address == "` + strings.ToUpper(cashAddrBody) + `")`
		issues := loadIssues(t, policyWith("", "  - name: r\n    when: '"+when+"'\n    action: reject\n"), "")
		if len(issues) == 0 {
			t.Fatalf("an upper-case CashAddr literal loaded")
		}
		msg := strings.Join(issues, "\n")
		if strings.Contains(msg, `write "`+cashAddrBody+`"`) {
			t.Errorf("refusal advises writing %q, which loads and never equals the %q tx shows:\n%s", cashAddrBody, cashAddrPrefixed, msg)
		}
	})
}

// TestAttack15ChecksumAddressInMessageText: upperCaseLiterals refuses
// every string constant that spells an EVM address with upper case,
// because tx addresses are lower case. But tx.message.text is the signed
// message as sent, and an EIP-4361 (Sign-In with Ethereum) message carries
// the address EIP-55 checksummed. A deny rule on a message naming an
// address is refused at load with the advice to write it in lower case,
// and the rule written as advised loads and never fires, since the text
// holds the checksum spelling. The check must leave constants compared
// with case-preserving facts (message text, detail, extra) alone, so that
// the rule below loads and rejects the message.
func TestAttack15ChecksumAddressInMessageText(t *testing.T) {
	siwe := "example.com wants you to sign in with your Ethereum account:\n" + blockedChecksum +
		"\n\nSign in.\n\nURI: https://example.com\nVersion: 1\nChain ID: 1\nNonce: 32891756\nIssued At: 2021-09-30T16:25:24Z"
	src := policyWith("", `
  - name: no sign-in for that account
    when: 'request.type == "KEYSIGN" && tx.message.text.contains("`+blockedChecksum+`")'
    action: reject
  - {name: sign, when: 'request.type == "KEYSIGN"', action: approve}
`)
	req := request(t, protocol.V2, protocol.TypeKeySign, "", "")
	// The facts a verified EIP-191 message signature carries: the text as
	// signed (the verifier does not change its case).
	req.Verification = &protocol.Verification{Verified: true, Message: &protocol.MessageFacts{Kind: "eip191", Text: siwe, TextValid: true}}
	action, refused := decidesOrRefuses(t, src, "", req)
	if refused != "" {
		t.Fatalf("a deny rule on a message text holding a checksummed address is refused, and the lower-case spelling it advises never matches the text: %s", refused)
	}
	if action != protocol.ActionReject {
		t.Errorf("the message names %s and the deny rule looks for it, yet the decision is %s", blockedChecksum, action)
	}
}
