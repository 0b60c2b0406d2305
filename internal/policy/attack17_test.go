package policy

import (
	"encoding/json"
	"strings"
	"testing"

	"tssgate/internal/protocol"
)

// Review 17: attacks on review 16's fix (upperCaseLiterals checks every
// string constant again, exempting only those exemptConstants says are
// matched as sent). Each test here failed when it was written; it passes
// once the finding it names is fixed.

// TestAttack17LoopVariableNamedDetail: exemptConstants shadows a
// comprehension variable only in its own kept set, while keptAsSent
// consults keptAsSentVars first, so a loop variable that happens to be
// called detail or extra still counts as kept as sent although it ranges
// over tx.destinations, and the EIP-55 constant compared with its
// normalized address loads.
func TestAttack17LoopVariableNamedDetail(t *testing.T) {
	checkNoSilentDeny(t, []silentDenyCase{
		{name: "loop variable named detail", cond: `tx.destinations.exists(detail, detail.address == "ADDR")`},
		// (Negated: the deny rule fires when some destination is ADDR; as
		// first written, without the !, its own control approved.)
		{name: "loop variable named extra", cond: `!tx.destinations.all(extra, extra.address != "ADDR")`},
	})
}

// TestAttack17TextFunctionOnNormalizedFact: every operand of contains,
// startsWith, endsWith and matches is exempt, whatever the text is. When
// the text is a normalized fact (d.address, always lower case) a full
// EIP-55 address as the argument (or a constant receiver probed with the
// fact) can never match, and the deny rule loads silently.
func TestAttack17TextFunctionOnNormalizedFact(t *testing.T) {
	checkNoSilentDeny(t, []silentDenyCase{
		{name: "matches an exact pattern", cond: `d.address.matches("^ADDR$")`},
		{name: "startsWith", cond: `d.address.startsWith("ADDR")`},
		{name: "endsWith", cond: `d.address.endsWith("ADDR")`},
		{name: "contains", cond: `d.address.contains("ADDR")`},
		{name: "constant receiver contains the fact", cond: `"ADDR".contains(d.address)`},
	})
}

// TestAttack17FoldingFailureSkipsCheck: the folded pass, which is what sees
// a literal split across + whole, is skipped when folding fails anywhere
// in the expression. A constant subexpression that errors but is never
// evaluated (behind a false guard) is enough to switch the check off for
// an EIP-55 address written as "0x47F9…" + "".
func TestAttack17FoldingFailureSkipsCheck(t *testing.T) {
	guard := ` || (tx.amount < decimal("0") && `
	checkNoSilentDeny(t, []silentDenyCase{
		{name: "division by zero", cond: `d.address == ("ADDR" + "")` + guard + `1 / 0 == 0)`},
		{name: "bad int conversion", cond: `d.address == ("ADDR" + "")` + guard + `int("x") == 0)`},
		{name: "index out of range", cond: `d.address == ("ADDR" + "")` + guard + `[1][2] == 0)`},
		{name: "overflow", cond: `d.address == ("ADDR" + "")` + guard + `9223372036854775807 + 1 == 0)`},
		{name: "ternary branch", cond: `d.address == ("ADDR" + "") && (tx.amount < decimal("0") ? 1 / 0 == 0 : true)`},
	})
}

// TestAttack17UndeclaredIsNormalized: tx.message.undeclared is exempt as
// "kept as sent", but the verifier canonicalizes it (canonicalJSON
// lower-cases every 0x-and-40-hex string), so a rule comparing an
// undeclared member with the EIP-55 spelling the dapp sent loads and never
// fires.
func TestAttack17UndeclaredIsNormalized(t *testing.T) {
	fx := loadMessageFixtures(t)["eip712_spec_mail"]
	// Undeclared members are not hashed, so the fixture's msg_hash_list
	// still matches with one added to both spellings of the typed data.
	sd := fx.Destination["structured_data"].(map[string]any)
	sd["message"].(map[string]any)["relayer"] = blockedChecksum
	raw, err := json.Marshal(sd)
	if err != nil {
		t.Fatal(err)
	}
	fx.Destination["raw_structured_data"] = string(raw)
	req := messageSignRequest(t, fx)
	if req.Verification == nil || !req.Verification.Verified {
		t.Fatalf("fixture not verified: %+v", req.Verification)
	}
	rules := func(addr string) string {
		return policyWith("", `
  - {name: blocked-relayer, when: 'tx.message.undeclared.relayer == "`+addr+`"', action: reject}
  - {name: rest, when: 'request.type == "KEYSIGN"', action: approve}
`)
	}
	if action, refused := decidesOrRefuses(t, rules(blockedAddr), "", req); refused != "" || action != protocol.ActionReject {
		t.Fatalf("control: the lower-case spelling gives %q (refused: %s), want reject", action, refused)
	}
	if action, refused := decidesOrRefuses(t, rules(blockedChecksum), "", req); refused == "" && action != protocol.ActionReject {
		t.Errorf("the deny rule on tx.message.undeclared.relayer == %q loaded and the message passes (%s): tx shows the member in lower case", blockedChecksum, action)
	}
}

// TestAttack17KeptPartnerFalsePositive: a constant compared with a value
// kept as sent (detail) does match the EIP-55 spelling the node sent, but
// when the comparison goes through a list literal, a map literal or a
// ternary the exemption is lost and the policy is refused with the untrue
// message that the constant "would never match".
func TestAttack17KeptPartnerFalsePositive(t *testing.T) {
	req := request(t, protocol.V2, protocol.TypeKeySign, `{"to": "`+blockedChecksum+`", "from": "x"}`, "")
	tests := []struct{ name, when string }{
		{"constant in a list of detail values", `"ADDR" in [detail.to, detail.from]`},
		{"detail value in a map literal", `detail.to in {"ADDR": "exchange"}`},
		{"ternary compared with detail", `detail.to == (size(detail) > 0 ? "ADDR" : "")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			when := strings.ReplaceAll(tc.when, "ADDR", blockedChecksum)
			src := policyWith("", "  - name: blocked\n    when: '"+strings.ReplaceAll(when, "'", "''")+"'\n    action: reject\n"+
				"  - {name: rest, when: 'true', action: approve}\n")
			action, refused := decidesOrRefuses(t, src, "", req)
			if refused != "" {
				t.Fatalf("refused, though detail.to is %s as sent and the rule matches it:\n%s", blockedChecksum, refused)
			}
			if action != protocol.ActionReject {
				t.Fatalf("action %s, want the deny rule's reject", action)
			}
		})
	}
}
