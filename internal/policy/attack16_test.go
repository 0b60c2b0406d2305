package policy

import (
	"strings"
	"testing"

	"tssgate/internal/decimal"
	"tssgate/internal/protocol"
)

// Review 16: attacks on review 15's scoping of the constant check
// (upperCaseConstants: only constants compared with a normalized fact are
// refused) and on its address spellings (addressSpelling). Each test here
// failed when it was written; it passes once the finding it names is
// fixed.

// keysignTo is a verified KEYSIGN whose one destination is addr, as the
// bytes spell it; tx shows it normalized.
func keysignTo(t *testing.T, addr string) *protocol.Request {
	t.Helper()
	req := request(t, protocol.V2, protocol.TypeKeySign, "", "")
	req.Verification.Destinations = []protocol.Destination{{Address: addr, Amount: decimal.MustParse("1")}}
	return req
}

// denyThenApprove is a policy whose first rule rejects when
// tx.destinations.exists(d, cond) and whose second approves every KEYSIGN.
func denyThenApprove(cond, top string) string {
	when := "tx.destinations.exists(d, " + cond + ")"
	return policyWith(top, "  - name: blocked\n    when: '"+strings.ReplaceAll(when, "'", "''")+"'\n    action: reject\n"+
		"  - {name: rest, when: 'request.type == \"KEYSIGN\"', action: approve}\n")
}

// silentDenyCase is one deny condition, written with placeholder ADDR for
// the constant: spelled in lower case it must block the destination, so
// spelled in the EIP-55 form it must either be refused at load or block
// too.
type silentDenyCase struct {
	name string
	cond string
	top  string
}

// checkNoSilentDeny runs each case: the lower-case spelling must reject
// the request to blockedAddr (else the case itself is wrong), and the
// checksum spelling must be refused at load or reject as well.
func checkNoSilentDeny(t *testing.T, tests []silentDenyCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := keysignTo(t, blockedChecksum)
			lower := strings.ReplaceAll(tc.cond, "ADDR", blockedAddr)
			action, refused := decidesOrRefuses(t, denyThenApprove(lower, tc.top), "", req)
			if refused != "" || action != protocol.ActionReject {
				t.Fatalf("control: the lower-case spelling %s gives %q (refused: %s), want reject", lower, action, refused)
			}
			cond := strings.ReplaceAll(tc.cond, "ADDR", blockedChecksum)
			action, refused = decidesOrRefuses(t, denyThenApprove(cond, tc.top), "", req)
			if refused == "" && action != protocol.ActionReject {
				t.Errorf("the deny rule %s loaded and the destination %s passes (%s): its constant can never equal the lower-case address tx shows", cond, blockedAddr, action)
			}
		})
	}
}

// TestAttack16ConstantOutsideDirectComparison: review 15 refuses a
// constant only when it is itself an operand of ==, != or in (or an element
// of a list literal right of in). Before that, every constant was checked;
// now one that reaches the comparison through a list or map literal, a
// comprehension over a literal list, a ternary or an index loads without a
// word, and the deny rule written with the EIP-55 spelling explorers show
// can never fire. Each is an ordinary way to write "the destination is one
// of these".
func TestAttack16ConstantOutsideDirectComparison(t *testing.T) {
	checkNoSilentDeny(t, []silentDenyCase{
		{name: "exists over a literal list", cond: `["ADDR", "0x0000000000000000000000000000000000000001"].exists(x, d.address == x)`},
		{name: "exists_one over a literal list", cond: `["ADDR"].exists_one(x, x == d.address)`},
		{name: "in a map literal", cond: `d.address in {"ADDR": "exchange hot wallet"}`},
		{name: "map literal lookup", cond: `d.address in {"ADDR": true} && {"ADDR": true}[d.address]`},
		{name: "list equals a literal list", cond: `[d.address] == ["ADDR"]`},
		{name: "ternary branch", cond: `d.address == (tx.amount >= decimal("0") ? "ADDR" : "none")`},
		{name: "in a ternary list", cond: `d.address in (tx.amount >= decimal("0") ? ["ADDR"] : [])`},
		{name: "index into a literal list", cond: `d.address == ["ADDR", "none"][tx.amount >= decimal("0") ? 0 : 1]`},
	})
}

// TestAttack16ShadowedKeptVariable: a comprehension variable ranging over
// a value kept as sent stays "kept" inside an inner comprehension that
// reuses its name over tx.destinations, so the inner variable's
// normalized address is compared with an EIP-55 constant unchecked.
func TestAttack16ShadowedKeptVariable(t *testing.T) {
	checkNoSilentDeny(t, []silentDenyCase{
		{name: "inner d over tx.destinations shadows outer d over detail", cond: `[detail].exists(d, tx.destinations.exists(d, d.address == "ADDR"))`},
		{name: "inner d shadows outer d over extra", cond: `[extra].all(d, tx.destinations.exists(d, d.address == "ADDR"))`},
	})
}

// TestAttack16KeptMentionAnywhere: keepsCase calls an operand kept as sent
// when detail, extra or a field named text/undeclared appears anywhere in
// it, not when the compared value is one: filtering tx.destinations on a
// detail value, a ternary whose condition reads detail, or any select of
// a field named text (not only tx.message.text) makes the normalized
// address look kept, and the EIP-55 constant loads.
func TestAttack16KeptMentionAnywhere(t *testing.T) {
	// The outer exists of denyThenApprove binds d; these conditions ignore
	// it and range again, so the filter decides what d is.
	checkNoSilentDeny(t, []silentDenyCase{
		{name: "range filtered on detail", cond: `tx.destinations.filter(e, size(detail) >= 0).exists(d, d.address == "ADDR")`},
		{name: "ternary reading detail", cond: `(has(detail.memo) ? "" : d.address) == "ADDR"`},
		{name: "select of a field named text", cond: `{"text": d.address}.text == "ADDR"`},
	})
}

// TestAttack16MixedCaseBitcoinAddress: only an address with no lower-case
// letter counts as an upper-case bech32/CashAddr spelling. A mixed-case one
// (an upper-case QR body behind the "bitcoincash:" prefix, or after a
// lower-case "bc1") does not decode, so neither the entry check nor the
// constant check notices it, yet tx only ever shows the lower-case form:
// the deny entry or rule loads and never matches.
func TestAttack16MixedCaseBitcoinAddress(t *testing.T) {
	body := cashAddr[len("bitcoincash:"):]
	spellings := []struct{ name, s string }{
		{"lower-case prefix, upper-case CashAddr body", "bitcoincash:" + strings.ToUpper(body)},
		{"upper-case prefix, lower-case CashAddr body", "BITCOINCASH:" + body},
		{"lower-case hrp, upper-case bech32 data", "bc1" + strings.ToUpper(bech32Lower[3:])},
	}
	for _, sp := range spellings {
		t.Run(sp.name+" list entry", func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"blocked.txt": sp.s + "\n"})
			if issues := loadIssues(t, policyWith("lists:\n  blocked: {file: blocked.txt}\n", "  - {name: r, when: 'true', action: reject}\n"), dir); len(issues) == 0 {
				t.Errorf("list entry %q loaded; tx shows %q, which it never equals", sp.s, strings.ToLower(sp.s))
			}
		})
		t.Run(sp.name+" constant", func(t *testing.T) {
			if issues := loadIssues(t, denyThenApprove(`d.address == "`+sp.s+`"`, ""), ""); len(issues) == 0 {
				t.Errorf("constant %q loaded; tx shows %q, which it never equals", sp.s, strings.ToLower(sp.s))
			}
		})
	}
}

// TestAttack16ChecksumProbeOfAList: a list lookup normalizes its probe
// (stringSet.has), so `"0x47F9…" in lists.blocked` does match the entry;
// refusing it at load as "would never match" is a false positive that
// tells the operator something untrue about lists.
func TestAttack16ChecksumProbeOfAList(t *testing.T) {
	src := policyWith("lists:\n  blocked: ["+blockedAddr+"]\n", `
  - {name: blocked, when: 'request.type == "PING" && "`+blockedChecksum+`" in lists.blocked', action: reject}
  - {name: ping, when: 'request.type == "PING"', action: approve}
`)
	action, refused := decidesOrRefuses(t, src, "", &protocol.Request{Version: protocol.V2, Type: protocol.TypePing})
	if refused != "" {
		t.Fatalf("refused, though the lookup normalizes the probe and matches:\n%s", refused)
	}
	if action != protocol.ActionReject {
		t.Fatalf("action %s, want the deny rule's reject", action)
	}
}
