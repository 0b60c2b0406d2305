package policy

import (
	"errors"
	"math"
	"strings"
	"testing"

	"tssgate/internal/protocol"
)

// The fixes for review 13, beyond the attack tests in attack13_test.go:
// what exactly is refused, what still loads, and what the messages name.

// loadIssues parses src (list files in dir) and returns the refusal's
// issue lines, or nil when the policy loaded.
func loadIssues(t *testing.T, src, dir string) []string {
	t.Helper()
	_, err := Parse("test.yaml", []byte(src), dir)
	if err == nil {
		return nil
	}
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("Parse: %v is not a *LoadError", err)
	}
	out := make([]string, len(le.Issues))
	for i, is := range le.Issues {
		out[i] = is.String()
	}
	return out
}

// checkIssues fails unless issues is empty when want is, or some issue
// holds every string in want.
func checkIssues(t *testing.T, issues, want []string) {
	t.Helper()
	if len(want) == 0 {
		if len(issues) > 0 {
			t.Fatalf("refused, want it to load:\n%s", strings.Join(issues, "\n"))
		}
		return
	}
	for _, is := range issues {
		all := true
		for _, w := range want {
			all = all && strings.Contains(is, w)
		}
		if all {
			return
		}
	}
	t.Fatalf("issues:\n%s\nwant one holding %q", strings.Join(issues, "\n"), want)
}

// Addresses of the case-insensitive Bitcoin-family encodings, each valid
// in lower case: the BIP-350 testnet P2TR vector and a CashAddr from its
// specification (bech32Lower and bech32Upper are in attack14_test.go).
const (
	taprootTestnet = "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c"
	cashAddr       = "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"
)

func TestListEntryCharacters(t *testing.T) {
	const ping = "  - {name: ping, when: 'request.type == \"PING\"', action: approve}\n"
	const hash = "1acf0342f77d22389a9cf6524a2af14dc420928d2942efe0dc0764be2ea5321b"
	tests := []struct {
		name string
		file string   // blocked.txt; "" for an inline list
		list string   // the inline list, YAML
		want []string // nil: loads
	}{
		{name: "one byte order mark is skipped", file: "\ufeff" + blockedAddr + "\n"},
		{name: "a second byte order mark is refused", file: "\ufeff\ufeff" + blockedAddr + "\n", want: []string{"blocked.txt:1:", `list "blocked"`, "U+FEFF"}},
		{name: "byte order mark on a later line", file: blockedAddr + "\n\ufeff0x1111111111111111111111111111111111111111\n", want: []string{"blocked.txt:2:", "U+FEFF"}},
		{name: "word joiner", file: "# header\n" + blockedAddr + "\u2060\n", want: []string{"blocked.txt:2:", "U+2060"}},
		{name: "soft hyphen", file: "abc\u00addef\n", want: []string{"blocked.txt:1:", "U+00AD"}},
		{name: "control character", file: "abc\x01def\n", want: []string{"blocked.txt:1:", "U+0001"}},
		{name: "invalid UTF-8", file: "abc\xffdef\n", want: []string{"blocked.txt:1:", "not valid UTF-8", "0xff"}},
		{name: "no-break space inside", file: "abc\u00a0def\n", want: []string{"blocked.txt:1:", "whitespace", "U+00A0"}},
		{name: "CRLF and surrounding spaces load", file: "  " + blockedAddr + " \r\n# c\r\n"},
		{name: "checksum address loads, normalized", file: blockedChecksum + "\n"},
		{name: "lower-case hash loads", file: hash + "\n0x" + hash + "\n"},
		{name: "upper-case hash is refused", file: strings.ToUpper(hash) + "\n", want: []string{"blocked.txt:1:", "64-hex-digit", "lower case"}},
		{name: "upper-case 0X prefix is refused", file: "0X" + hash + "\n", want: []string{"blocked.txt:1:", "64-hex-digit"}},
		{name: "non-ASCII letters load", file: "café\n"},
		{name: "inline zero-width space", list: `["abc", "x` + "\u200b" + `"]`, want: []string{"test.yaml:3:", `list "blocked"`, "U+200B"}},
		{name: "inline upper-case hash", list: `["` + strings.ToUpper(hash) + `"]`, want: []string{"test.yaml:3:", "64-hex-digit"}},
		{name: "inline inner space", list: "\n    - ok\n    - two words\n", want: []string{"test.yaml:5:", `"two words"`, "whitespace"}},
		{name: "inline entries load", list: `["` + blockedChecksum + `", "TEDv9wo5epcVi7pW3rEZUa7wbtPuAKZCer", " padded "]`},
		// Review 14: bech32 and CashAddr are case-insensitive, tx shows
		// them in lower case; base58 is case-sensitive and keeps its case.
		{name: "upper-case bech32 is refused", file: bech32Upper + "\n", want: []string{"blocked.txt:1:", "bech32 or CashAddr", "lower case"}},
		{name: "upper-case taproot testnet bech32m is refused", file: strings.ToUpper(taprootTestnet) + "\n", want: []string{"blocked.txt:1:", "bech32 or CashAddr"}},
		{name: "upper-case CashAddr is refused", file: strings.ToUpper(cashAddr) + "\n", want: []string{"blocked.txt:1:", "bech32 or CashAddr"}},
		{name: "inline upper-case bech32 is refused", list: `["` + bech32Upper + `"]`, want: []string{"test.yaml:3:", "bech32 or CashAddr"}},
		{name: "lower-case bech32, bech32m and CashAddr load", file: bech32Lower + "\n" + taprootTestnet + "\n" + cashAddr + "\n"},
		{name: "base58 addresses load in their case", file: "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2\n3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy\n"},
		{name: "upper-case text that is no address loads", file: "BC1NOTANADDRESS\nBITCOINCASH:NOPE\n"},
		{name: "prefix-less CashAddr is refused", file: cashAddr[len("bitcoincash:"):] + "\n", want: []string{"blocked.txt:1:", "without its bitcoincash: prefix", cashAddr}},
		{name: "upper-case prefix-less CashAddr is refused with the prefixed advice", file: strings.ToUpper(cashAddr[len("bitcoincash:"):]) + "\n", want: []string{"blocked.txt:1:", "without its bitcoincash: prefix", cashAddr}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lists := "lists:\n  blocked: " + tc.list + "\n"
			var dir string
			if tc.list == "" {
				lists = "lists:\n  blocked: {file: blocked.txt}\n"
				dir = writeFiles(t, map[string]string{"blocked.txt": tc.file})
			}
			checkIssues(t, loadIssues(t, policyWith(lists, ping), dir), tc.want)
		})
	}
}

// TestListByteOrderMarkMatches: the entry after a skipped byte order mark
// is the address itself, so the deny rule fires.
func TestListByteOrderMarkMatches(t *testing.T) {
	dir := writeFiles(t, map[string]string{"blocked.txt": "\ufeff" + blockedAddr + "\r\n"})
	p := mustParse(t, policyWith("lists:\n  blocked: {file: blocked.txt}\n", `
  - {name: blocked, when: '"`+blockedAddr+`" in lists.blocked', action: reject}
  - {name: ping, when: 'request.type == "PING"', action: approve}
`), dir)
	if d := decide(t, p, &protocol.Request{Version: protocol.V2, Type: protocol.TypePing}); d.Rule != "blocked" {
		t.Fatalf("decided by %q (%s), want the deny rule", d.Rule, d.Action)
	}
	if s := p.Summary(); len(s.Lists) != 1 || s.Lists[0].Size != 1 {
		t.Errorf("lists %+v, want one list of one entry", s.Lists)
	}
}

func TestUpperCaseLiterals(t *testing.T) {
	const hash = "1acf0342f77d22389a9cf6524a2af14dc420928d2942efe0dc0764be2ea5321b"
	tests := []struct {
		name   string
		rules  string
		limits string
		want   []string // nil: loads
	}{
		{name: "lower-case address", rules: `d.address == "` + blockedAddr + `"`},
		{name: "checksum address", rules: `d.address == "` + blockedChecksum + `"`, want: []string{"test.yaml:", `rule "r"`, blockedChecksum, blockedAddr, "when:1:"}},
		{name: "upper-case 0X prefix", rules: `d.address == "0X` + blockedAddr[2:] + `"`, want: []string{`rule "r"`, "EVM address"}},
		{name: "inside a literal list", rules: `d.address in ["` + blockedAddr + `", "` + blockedChecksum + `"]`, want: []string{`rule "r"`, blockedChecksum}},
		{name: "upper-case hash", rules: `"` + strings.ToUpper(hash) + `" in tx.msg_hashes`, want: []string{`rule "r"`, "64-hex-digit hash", hash}},
		{name: "upper-case 0x hash", rules: `"0x` + strings.ToUpper(hash) + `" in tx.msg_hashes`, want: []string{`rule "r"`, "64-hex-digit hash"}},
		{name: "lower-case hash", rules: `"` + hash + `" in tx.msg_hashes`},
		{name: "41 hex digits are not an address", rules: `d.address == "0x` + strings.ToUpper(blockedAddr[2:]) + `A"`},
		{name: "base58 keeps its case", rules: `d.address == "TEDv9wo5epcVi7pW3rEZUa7wbtPuAKZCer"`},
		{name: "limit when", rules: "true", limits: `when: 'tx.destinations.exists(d, d.address == "` + blockedChecksum + `")'`, want: []string{"limit l: when:", blockedChecksum}},
		// Review 15: only constants compared with a normalized value are
		// refused; a constant that merely names a limit's bucket is
		// the same bucket on every request, whatever its case.
		{name: "limit key naming a bucket", rules: "true", limits: `when: "true"` + "\n    key: ['tx.wallet_id + \"" + blockedChecksum + "\"']"},
		{name: "limit key comparing", rules: "true", limits: `when: "true"` + "\n    key: ['tx.destinations.exists(d, d.address == \"" + blockedChecksum + "\") ? \"a\" : \"b\"']", want: []string{"limit l: key:", blockedChecksum}},
		// Values kept as sent are compared as sent: their checksum
		// spelling is the one to match.
		{name: "detail compared with a checksum address", rules: `detail.to == "` + blockedChecksum + `"`},
		{name: "comprehension over extra", rules: `has(extra.addrs) && extra.addrs.exists(a, a == "` + blockedChecksum + `")`},
		// Review 17: text functions are matched as written only on text
		// kept as sent; a partial prefix cannot be told from other text.
		{name: "text functions on detail keep case", rules: `has(detail.memo) && detail.memo.contains("` + blockedChecksum + `")`},
		{name: "a partial prefix loads", rules: `d.address.startsWith("0x47F9")`},
		{name: "a full address in a text function on a fact", rules: `"` + blockedChecksum + `".endsWith(d.address)`, want: []string{`rule "r"`, blockedChecksum}},
		{name: "prefix-less CashAddr literal", rules: `d.address == "` + cashAddr[len("bitcoincash:"):] + `"`, want: []string{`rule "r"`, "without its bitcoincash: prefix", cashAddr}},
		{name: "prefixed CashAddr literal", rules: `d.address == "` + cashAddr + `"`},
		// A loop variable named detail shadows the real one in nested
		// loops too: its address is a normalized fact.
		{name: "shadowing loop variable seen from a nested loop", rules: `true`, limits: `when: 'tx.destinations.exists(detail, [1].exists(y, detail.address == "` + blockedChecksum + `"))'`, want: []string{"limit l: when:", blockedChecksum}},
		// Review 14: constants are folded before the check, so a literal
		// split across + is seen whole; a value built from a fact is not
		// a constant and is left to run time.
		{name: "checksum address split across +", rules: `d.address == "` + blockedChecksum[:21] + `" + "` + blockedChecksum[21:] + `"`, want: []string{`rule "r"`, blockedChecksum, blockedAddr}},
		{name: "split address inside a literal list", rules: `d.address in ["` + blockedChecksum[:21] + `" + "` + blockedChecksum[21:] + `"]`, want: []string{`rule "r"`, blockedChecksum}},
		{name: "lower-case address split across +", rules: `d.address == "` + blockedAddr[:21] + `" + "` + blockedAddr[21:] + `"`},
		{name: "upper-case bech32 literal", rules: `d.address == "` + bech32Upper + `"`, want: []string{`rule "r"`, "bech32 or CashAddr", bech32Lower}},
		{name: "lower-case bech32 literal", rules: `d.address == "` + bech32Lower + `"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			when := "tx.destinations.exists(d, " + tc.rules + ")"
			if tc.rules == "true" {
				when = "true"
			}
			src := policyWith("", "  - name: r\n    when: '"+strings.ReplaceAll(when, "'", "''")+"'\n    action: approve\n")
			if tc.limits != "" {
				src += "limits:\n  - name: l\n    " + tc.limits + "\n    window: 1h\n    max_count: 1\n"
				if !strings.Contains(tc.limits, "key:") {
					src += "    key: [tx.wallet_id]\n"
				}
			}
			checkIssues(t, loadIssues(t, src, ""), tc.want)
		})
	}
}

// TestNonceBounds: the largest nonce an int holds reads as itself, the
// smallest one it does not makes reading the nonce an error, so the rule
// rejects; a transaction without a nonce reads -1.
func TestNonceBounds(t *testing.T) {
	p := mustParse(t, policyWith("", `
  - {name: max, when: 'tx.decoded.nonce == 9223372036854775807', action: approve}
  - {name: none, when: 'tx.decoded.nonce == -1', action: approve}
`), "")
	big, biggest := uint64(math.MaxInt64), uint64(math.MaxInt64)+1
	tests := []struct {
		name   string
		nonce  *uint64
		action protocol.Action
		rule   string
	}{
		{"max int64", &big, protocol.ActionApprove, "max"},
		{"2^63", &biggest, protocol.ActionReject, "max"},
		{"no nonce", nil, protocol.ActionApprove, "none"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := request(t, protocol.V2, protocol.TypeKeySign, "", "")
			req.Verification.Chain, req.Verification.Method, req.Verification.Nonce = "evm", "native_transfer", tc.nonce
			d := decide(t, p, req)
			if d.Action != tc.action || d.Rule != tc.rule {
				t.Fatalf("%s by %q (%s), want %s by %q", d.Action, d.Rule, d.Reason, tc.action, tc.rule)
			}
			if tc.action == protocol.ActionReject && !strings.Contains(d.Reason, "does not fit an int") {
				t.Errorf("reason %q does not say why", d.Reason)
			}
		})
	}
}

// TestDetailIntegerSpellings: every spelling typed decoding reads as one
// integer reads as that int in detail and extra; other values keep theirs.
func TestDetailIntegerSpellings(t *testing.T) {
	p := mustParse(t, policyWith("", `
  - name: ints
    when: >
      detail.threshold == 2 && type(detail.threshold) == int &&
      detail.curve == 0 && extra.tss_request.created_timestamp == 1700000000000 &&
      detail.task_id == "007"
    action: approve
`), "")
	tests := []struct {
		name                      string
		threshold, curve, created string
	}{
		{"numbers", `2`, `0`, `1700000000000`},
		{"strings", `"2"`, `"0"`, `"1700000000000"`},
		{"leading zero and a curve name", `"02"`, `"secp256k1"`, `"01700000000000"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			detail := `{"threshold":` + tc.threshold + `,"node_ids":["n1","n2","n3"],"curve":` + tc.curve + `,"task_id":"007","biz_task_id":"b-1"}`
			extra := `{"tss_request":{"tss_request_id":"r-1","created_timestamp":` + tc.created + `}}`
			req, err := protocol.Decode(protocol.V2, []byte(`{"request_id":"kg-1","request_type":1,"request_detail":`+quoteJSON(detail)+`,"extra_info":`+quoteJSON(extra)+`}`))
			if err != nil {
				t.Fatal(err)
			}
			if d := decide(t, p, req); d.Rule != "ints" {
				t.Fatalf("%s by %q (%s), want the rule that reads the integers", d.Action, d.Rule, d.Reason)
			}
		})
	}
}

// An EVM address probing a list is normalized by the lookup, so its
// checksum spelling loads; a hash or bech32 probe is not, so its
// upper-case spelling is refused.
func TestUpperCaseListProbes(t *testing.T) {
	const hash = "1acf0342f77d22389a9cf6524a2af14dc420928d2942efe0dc0764be2ea5321b"
	top := "lists:\n  blocked: [\"" + blockedAddr + "\", \"" + hash + "\", \"" + bech32Lower + "\"]\n"
	tests := []struct {
		name, probe string
		want        []string
	}{
		{"EVM checksum probe", blockedChecksum, nil},
		{"upper-case hash probe", strings.ToUpper(hash), []string{`rule "r"`, "64-hex-digit hash", hash}},
		{"upper-case bech32 probe", bech32Upper, []string{`rule "r"`, "bech32 or CashAddr", bech32Lower}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := policyWith(top, "  - name: r\n    when: '\""+tc.probe+"\" in lists.blocked'\n    action: reject\n")
			checkIssues(t, loadIssues(t, src, ""), tc.want)
		})
	}
}
