package policy

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"tssgate/internal/protocol"
)

// Review 13: attacks on the facts a policy reads. Each test here failed
// when it was written; it passes once the finding it names is fixed.

// blockedAddr is the address the list tests block, in lower case.
const blockedAddr = "0x47f95183e513da1c599e76611dcb00304d07b6a0"

// blockedChecksum is blockedAddr in its EIP-55 spelling.
const blockedChecksum = "0x47F95183E513dA1c599E76611dcB00304D07b6a0"

// decidesOrRefuses parses src (list files in dir) and decides req. It
// returns ("", refused) when the policy was refused at load, else the
// decision's action.
func decidesOrRefuses(t *testing.T, src, dir string, req *protocol.Request) (protocol.Action, string) {
	t.Helper()
	p, err := Parse("test.yaml", []byte(src), dir)
	if err != nil {
		return "", err.Error()
	}
	d, err := p.decideAt(context.Background(), req, monday10)
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	return d.Action, ""
}

// TestAttack13ListInvisibleCharacters: a deny list whose entry carries an
// invisible character (the UTF-8 byte order mark an editor on Windows
// writes at the start of a file, a zero-width space pasted from a web
// page) loads without a word, and the entry then matches nothing: the
// address it was written to block passes. Every case must either be
// refused at load or block the address.
func TestAttack13ListInvisibleCharacters(t *testing.T) {
	const rules = `
  - name: blocked
    when: 'request.type == "PING" && "` + blockedAddr + `" in lists.blocked'
    action: reject
  - {name: ping, when: 'request.type == "PING"', action: approve}
`
	tests := []struct {
		name  string
		lists string            // the lists: section's blocked entry
		files map[string]string // list files
	}{
		{
			name:  "byte order mark at the start of a list file",
			lists: "  blocked: {file: blocked.txt}\n",
			files: map[string]string{"blocked.txt": "\xef\xbb\xbf" + blockedAddr + "\n"},
		},
		{
			name:  "byte order mark on a CRLF list file",
			lists: "  blocked: {file: blocked.txt}\n",
			files: map[string]string{"blocked.txt": "\xef\xbb\xbf" + blockedAddr + "\r\n0x0000000000000000000000000000000000000001\r\n"},
		},
		{
			name:  "zero-width space after an entry in a list file",
			lists: "  blocked: {file: blocked.txt}\n",
			files: map[string]string{"blocked.txt": blockedAddr + "\u200b\n"},
		},
		{
			name:  "zero-width space in an inline entry",
			lists: "  blocked: [\"" + blockedAddr + "\u200b\"]\n",
		},
		{
			name:  "byte order mark in an inline entry",
			lists: "  blocked: [\"\ufeff" + blockedAddr + "\"]\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, tc.files)
			src := policyWith("lists:\n"+tc.lists, rules)
			req := &protocol.Request{Version: protocol.V2, Type: protocol.TypePing}
			action, refused := decidesOrRefuses(t, src, dir, req)
			if refused != "" {
				return
			}
			if action != protocol.ActionReject {
				t.Errorf("%s: the policy loaded and the blocked address %s is not in lists.blocked (action %s): an invisible character makes a deny-list entry that never matches; refuse it at load or strip it", tc.name, blockedAddr, action)
			}
		})
	}
}

// TestAttack13ChecksumLiteralNeverMatches: EVM addresses under tx are
// lower case, and the README says they are "compared in lower case in
// lists, in tx and in every lookup". A rule that names an address as a
// CEL string literal, in the EIP-55 spelling a block explorer shows, is
// compared exactly: the deny rule below loads and never fires, so the
// transfer to that address is approved by the next rule. It must be
// refused at load (or the literal normalized) so that it cannot fail open.
func TestAttack13ChecksumLiteralNeverMatches(t *testing.T) {
	tests := []struct {
		name string
		when string
	}{
		{"equality with a checksum literal", `tx.destinations.exists(d, d.address == "` + blockedChecksum + `")`},
		{"membership in a literal list", `tx.destinations.exists(d, d.address in ["` + blockedChecksum + `"])`},
		{"literal list of several addresses", `tx.destinations.exists(d, d.address in ["0x1111111111111111111111111111111111111111", "` + blockedChecksum + `"])`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := policyWith("", fmt.Sprintf(`
  - name: blocked
    when: 'request.type == "KEYSIGN" && %s'
    action: reject
  - {name: sign, when: 'request.type == "KEYSIGN"', action: approve}
`, tc.when))
			// The destination as the node would describe it, checksum-cased.
			extra := `{"transaction": {"destination": {"account_output": {"address": "` + blockedChecksum + `", "amount": "1"}}}}`
			req := request(t, protocol.V2, protocol.TypeKeySign, "", extra)
			action, refused := decidesOrRefuses(t, src, "", req)
			if refused != "" {
				return
			}
			if action != protocol.ActionReject {
				t.Errorf("the deny rule names %s and the transfer pays it, yet the decision is %s: tx addresses are lower-cased but the literal is compared exactly", blockedChecksum, action)
			}
		})
	}
}

// keygenPackage builds a v2 KEYGEN package_data by hand, with threshold
// spelled as given (raw JSON text).
func keygenPackage(threshold string) []byte {
	detail := `{"threshold":` + threshold + `,"node_ids":["n1","n2","n3"],"curve":0,"task_id":"t-1","biz_task_id":"b-1"}`
	extra := `{"tss_request":{"tss_request_id":"r-1"}}`
	return []byte(`{"request_id":"kg-1","request_type":1,"request_detail":` + quoteJSON(detail) + `,"extra_info":` + quoteJSON(extra) + `}`)
}

// quoteJSON is a tiny JSON string encoder for ASCII text without control
// characters: enough for the payloads above, and independent of the code
// under test.
func quoteJSON(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// TestAttack13QuotedIntegerDodgesDetailRule: the decoder reads integer
// fields leniently (threshold 1 and threshold "1" both decode to
// KeyGen.Threshold 1, the group the node will build), but a KEYGEN
// policy can only read detail, which keeps the JSON type: an int for 1, a
// string for "1". A deny rule written for the threshold (`detail.threshold
// == 1`, `in [1]`) then rejects one spelling and lets the other through
// to the approve rule. Two spellings of one request must decide alike, or
// the lenient spelling must be refused.
func TestAttack13QuotedIntegerDodgesDetailRule(t *testing.T) {
	tests := []struct {
		name string
		deny string
	}{
		{"equality", `detail.threshold == 1`},
		{"membership", `detail.threshold in [0, 1]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParse(t, policyWith("", fmt.Sprintf(`
  - name: no-single-signer
    when: 'request.type == "KEYGEN" && %s'
    action: reject
  - {name: keygen, when: 'request.type == "KEYGEN"', action: approve}
`, tc.deny)), "")
			actions := map[string]protocol.Action{}
			for _, spelling := range []string{`1`, `"1"`} {
				req, err := protocol.Decode(protocol.V2, keygenPackage(spelling))
				if err != nil {
					// Refusing the lenient spelling is a fix too.
					actions[spelling] = protocol.ActionReject
					continue
				}
				if req.KeyGen == nil || req.KeyGen.Threshold != 1 {
					t.Fatalf("threshold %s: decoded KeyGen %+v, want threshold 1", spelling, req.KeyGen)
				}
				actions[spelling] = decide(t, p, req).Action
			}
			if actions[`1`] != protocol.ActionReject {
				t.Fatalf("threshold 1: %s, want the deny rule to reject", actions[`1`])
			}
			if actions[`"1"`] != protocol.ActionReject {
				t.Errorf(`threshold "1" decodes to the same 1-of-3 group but is %s: the policy sees detail.threshold as the string "1" and the deny rule does not fire`, actions[`"1"`])
			}
		})
	}
}

// TestAttack13HugeNonceReadsAsNone: tx.decoded.nonce is -1 "when the
// chain has none", but an EVM transaction whose nonce is 2^63 or more
// (the RLP decoder accepts any uint64) also reads as -1, so a rule on the
// nonce sees "no nonce" for bytes that carry one and a cap on the nonce
// passes. A nonce that cannot be shown as an int must make reading it an
// error (or the transaction unverified), never the "none" sentinel.
func TestAttack13HugeNonceReadsAsNone(t *testing.T) {
	p := mustParse(t, policyWith("", `
  - name: nonce-cap
    when: 'request.type == "KEYSIGN" && tx.decoded.chain == "evm" && tx.decoded.nonce > 1000000'
    action: reject
  - {name: sign, when: 'request.type == "KEYSIGN"', action: approve}
`), "")
	for _, nonce := range []uint64{1 << 63, 1<<64 - 1} {
		req := request(t, protocol.V2, protocol.TypeKeySign, "", "")
		n := nonce
		req.Verification.Chain, req.Verification.Method, req.Verification.Nonce = "evm", "native_transfer", &n
		if d := decide(t, p, req); d.Action != protocol.ActionReject {
			t.Errorf("nonce %d: %s by %q; tx.decoded.nonce reads as the 'no nonce' -1 and the nonce cap does not fire", nonce, d.Action, d.Rule)
		}
	}
}

// TestAttack13InlineListEntryWhitespace: a list file refuses an entry with
// inner whitespace ("most likely two entries run together"), but the same
// entry written inline in the policy loads as one string that matches
// neither address: `blocked: [0xaaa… 0xbbb…]` (a YAML flow sequence
// missing its comma) blocks nothing. The inline form must be refused as
// the file form is.
func TestAttack13InlineListEntryWhitespace(t *testing.T) {
	const other = "0x1111111111111111111111111111111111111111"
	tests := []struct {
		name  string
		lists string
	}{
		{"flow sequence missing its comma", "  blocked: [" + blockedAddr + " " + other + "]\n"},
		{"block sequence entry with a tab", "  blocked:\n    - \"" + blockedAddr + "\\t" + other + "\"\n"},
		{"quoted entry with a newline", "  blocked: [\"" + blockedAddr + "\\n" + other + "\"]\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := policyWith("lists:\n"+tc.lists, `
  - name: blocked
    when: 'request.type == "PING" && "`+blockedAddr+`" in lists.blocked'
    action: reject
  - {name: ping, when: 'request.type == "PING"', action: approve}
`)
			// The same entry in a list file is refused: the baseline.
			dir := writeFiles(t, map[string]string{"blocked.txt": blockedAddr + " " + other + "\n"})
			if _, err := Parse("test.yaml", []byte(policyWith("lists:\n  blocked: {file: blocked.txt}\n", "  - {name: ping, when: 'request.type == \"PING\"', action: approve}\n")), dir); err == nil {
				t.Fatal("baseline: a list file entry with inner whitespace loaded")
			}
			action, refused := decidesOrRefuses(t, src, "", &protocol.Request{Version: protocol.V2, Type: protocol.TypePing})
			if refused == "" && action != protocol.ActionReject {
				t.Errorf("the inline entry with inner whitespace loaded and %s is not blocked (%s); a list file with the same entry is refused", blockedAddr, action)
			}
		})
	}
}
