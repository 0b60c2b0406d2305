package policy

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/traits"

	"tssgate/internal/decimal"
)

// TestDecimalExpressions evaluates decimal arithmetic inside rules: every
// expression must be true, exactly.
func TestDecimalExpressions(t *testing.T) {
	exprs := []string{
		`decimal("0.1") + decimal("0.2") == decimal("0.3")`,
		`decimal("1.50") == decimal("1.5")`,
		`decimal("1.5") != decimal("1.51")`,
		`decimal("-2") < decimal("-1.999999999999999999999999")`,
		`decimal("100") <= decimal("100.000")`,
		`decimal("100.000000000000000001") > decimal("100")`,
		`decimal("7") >= decimal("7")`,
		`decimal("10") - decimal("0.0001") == decimal("9.9999")`,
		`decimal(15) == decimal("15.0")`,
		`decimal(-3) < decimal(0)`,
		`sum([decimal("0.1"), decimal("0.2"), decimal("0.3")]) == decimal("0.6")`,
		`sum([]) == decimal("0")`,
		`decimal("123456789012345678901234567890.123456789") + decimal("0.000000001") == decimal("123456789012345678901234567890.12345679")`,
		`type(decimal("1")) == type(decimal("2"))`,
		`decimal("2") in [decimal("1"), decimal("2.0")]`,
	}
	for _, e := range exprs {
		t.Run(e, func(t *testing.T) {
			src := policyWith("", fmt.Sprintf("  - name: e\n    when: '%s'\n    action: approve\n", e))
			p := mustParse(t, src, "")
			if d := decide(t, p, ping.build(t)); d.Action != approve || d.Rule != "e" {
				t.Fatalf("%s: got %s by %q (%s), want true", e, d.Action, d.Rule, d.Reason)
			}
		})
	}
}

// TestAmountCaps runs a cap at its boundaries on real KEYSIGN requests, in
// v2 token units and v1 base units.
func TestAmountCaps(t *testing.T) {
	p := mustParse(t, policyWith("", `
  - {name: cap, when: 'request.type == "KEYSIGN" && tx.amount > decimal("5")', action: reject, reason: over}
  - {name: ok, when: 'request.type == "KEYSIGN"', action: approve}
`), "")
	v2 := func(amount string) reqSpec {
		return reqSpec{typ: keysign.typ, extraPatch: fmt.Sprintf(`{"transaction": {"destination": {"account_output": {"amount": %q}}}}`, amount)}
	}
	v1 := func(wei string) reqSpec {
		return reqSpec{v: "v1", typ: keysign.typ, extraPatch: fmt.Sprintf(`{"amount": %q, "to_address_details": "[{\"to_address\":\"0x0f76F604fd7762Bd94B48CA2523F69ab9665c97f\",\"amount\":\"%s\"}]"}`, wei, wei)}
	}
	tests := []struct {
		name string
		req  reqSpec
		rule string
	}{
		{"v2 below", v2("4.999999999999999999"), "ok"},
		{"v2 at the cap", v2("5"), "ok"},
		{"v2 at the cap with trailing zeros", v2("5.000000000000000000000"), "ok"},
		{"v2 just above", v2("5.000000000000000001"), "cap"},
		{"v2 far above", v2("123456789012345678901234567890"), "cap"},
		{"v1 at the cap in wei", v1("5000000000000000000"), "ok"},
		{"v1 one wei above", v1("5000000000000000001"), "cap"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := decide(t, p, tc.req.build(t)); d.Rule != tc.rule {
				t.Fatalf("got %s by %q, want rule %q", d.Action, d.Rule, tc.rule)
			}
		})
	}
}

func TestDecValDirect(t *testing.T) {
	a, b := newDec(decimal.MustParse("1.5")).(decVal), newDec(decimal.MustParse("1.50"))
	if a.Equal(b) != types.True || a.Compare(b) != types.IntZero {
		t.Fatal("1.5 and 1.50 must be equal")
	}
	for name, v := range map[string]interface{ String() string }{
		"compare int":    a.Compare(types.Int(1)).(*types.Err),
		"compare double": a.Compare(types.Double(1.5)).(*types.Err),
		"equal string":   a.Equal(types.String("1.5")).(*types.Err),
		"add double":     a.Add(types.Double(1)).(*types.Err),
		"subtract int":   a.Subtract(types.Int(1)).(*types.Err),
		"to double":      a.ConvertToType(types.DoubleType).(*types.Err),
		"to string":      a.ConvertToType(types.StringType).(*types.Err),
	} {
		if !strings.Contains(v.String(), "decimal") {
			t.Errorf("%s: error %q does not mention decimal", name, v)
		}
	}
	if _, err := a.ConvertToNative(nil); err == nil {
		t.Error("ConvertToNative to an arbitrary type succeeded")
	}
	if parseDecimalVal(types.String("1e3")).Type() != types.ErrType {
		t.Error(`decimal("1e3") did not error: exponents must be refused`)
	}
	if got := sumDecimals(types.NewDynamicList(types.DefaultTypeAdapter, []any{newDec(decimal.MustParse("1")), types.Int(2)})); got.Type() != types.ErrType {
		t.Errorf("sum over a list with an int = %v, want an error", got)
	}
}

func TestNormalizeAddress(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0x0f76F604fd7762Bd94B48CA2523F69ab9665c97f", "0x0f76f604fd7762bd94b48ca2523f69ab9665c97f"},
		{"0X0F76F604FD7762BD94B48CA2523F69AB9665C97F", "0x0f76f604fd7762bd94b48ca2523f69ab9665c97f"},
		{"0x0f76f604fd7762bd94b48ca2523f69ab9665c97f", "0x0f76f604fd7762bd94b48ca2523f69ab9665c97f"},
		// Not 40 hex digits: kept exactly.
		{"0x0f76F604fd7762Bd94B48CA2523F69ab9665c97", "0x0f76F604fd7762Bd94B48CA2523F69ab9665c97"},
		{"0x0f76F604fd7762Bd94B48CA2523F69ab9665c97fAB", "0x0f76F604fd7762Bd94B48CA2523F69ab9665c97fAB"},
		{"0x0f76F604fd7762Bd94B48CA2523F69ab9665c9G7", "0x0f76F604fd7762Bd94B48CA2523F69ab9665c9G7"},
		// base58 and bech32 are case-sensitive or canonical: exact.
		{"TEDv9wo5epcVi7pW3rEZUa7wbtPuAKZCer", "TEDv9wo5epcVi7pW3rEZUa7wbtPuAKZCer"},
		{"9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin", "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"},
		{"BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := normalizeAddress(tc.in); got != tc.want {
			t.Errorf("normalizeAddress(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestListMembership checks lookups through CEL: EVM addresses match in any
// case whichever side was checksummed, base58 matches exactly, and the set
// behaves as map(string, bool).
func TestListMembership(t *testing.T) {
	top := `lists:
  evm: ["0x0F76F604FD7762BD94B48CA2523F69AB9665C97F", "0x47f95183e513da1c599e76611dcb00304d07b6a0"]
  tron: ["TEDv9wo5epcVi7pW3rEZUa7wbtPuAKZCer"]
  empty: []
`
	tests := []struct {
		expr string
		want bool
	}{
		{`"0x0f76f604fd7762bd94b48ca2523f69ab9665c97f" in lists.evm`, true},
		// A checksum-cased address constant is refused at load
		// (upperCaseLiterals, which folds constants first), so these probes
		// are built from a request fact at run time: the set still
		// normalizes a probe that arrives checksum-cased.
		{`"0x0f76F604fd7762Bd94B48CA2523F69ab9665c97" + (request.type == "KEYSIGN" ? "f" : "") in lists.evm`, true},
		{`"0x47F95183E513DA1C599E76611DCB00304D07B6A" + (request.type == "KEYSIGN" ? "0" : "") in lists.evm`, true},
		{`"0x47f95183e513da1c599e76611dcb00304d07b6a1" in lists.evm`, false},
		{`"TEDv9wo5epcVi7pW3rEZUa7wbtPuAKZCer" in lists.tron`, true},
		{`"tedv9wo5epcvi7pw3rezua7wbtpuakzcer" in lists.tron`, false},
		{`"" in lists.empty`, false},
		{`size(lists.evm) == 2 && size(lists.empty) == 0`, true},
		{`lists.tron["TEDv9wo5epcVi7pW3rEZUa7wbtPuAKZCer"]`, true},
		{`lists.evm.all(a, a.startsWith("0x") && size(a) == 42)`, true},
		{`lists.evm.exists(a, a == "0x0f76f604fd7762bd94b48ca2523f69ab9665c97f")`, true},
		{`tx.destinations.all(d, d.address in lists.evm)`, true},
		{`tx.source_addresses[0] == "0x8c2e3e9a1cf0b36b8e6f4f8b2c7d9a1e5f3b4c6d"`, true},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			src := policyWith(top, fmt.Sprintf("  - name: e\n    when: '%s'\n    action: approve\n", strings.ReplaceAll(tc.expr, "'", "''")))
			d := decide(t, mustParse(t, src, ""), keysign.build(t))
			if got := d.Rule == "e"; got != tc.want {
				t.Fatalf("%s: got %s by %q (%s), want %v", tc.expr, d.Action, d.Rule, d.Reason, tc.want)
			}
		})
	}
}

func TestJSONToCEL(t *testing.T) {
	in := map[string]any{
		"int":   json.Number("42"),
		"neg":   json.Number("-0"),
		"big":   json.Number("123456789012345678901234567890"),
		"frac":  json.Number("0.0001"),
		"exp":   json.Number("1e3"),
		"str":   "0.5",
		"list":  []any{json.Number("1"), "a", true, nil},
		"inner": map[string]any{"x": json.Number("-7")},
	}
	mapper, ok := jsonToCEL(in).(traits.Mapper)
	if !ok {
		t.Fatalf("jsonToCEL of an object is %T, want a map", jsonToCEL(in))
	}
	tests := []struct{ key, want string }{
		{"int", "types.Int 42"},
		{"neg", "types.Int 0"},
		{"big", "policy.decVal 123456789012345678901234567890"},
		{"frac", "policy.decVal 0.0001"},
		{"exp", "cannot be read exactly"},
		{"str", "types.String 0.5"},
	}
	for _, tc := range tests {
		got, found := mapper.Find(types.String(tc.key))
		if !found {
			t.Fatalf("%s missing", tc.key)
		}
		if s := fmt.Sprintf("%T %v", got, got); !strings.Contains(s, tc.want) {
			t.Errorf("%s = %s, want it to contain %q", tc.key, s, tc.want)
		}
	}
	list, _ := mapper.Find(types.String("list"))
	if l, ok := list.(traits.Lister); !ok || l.Size() != types.Int(4) || l.Get(types.Int(3)) != types.NullValue {
		t.Errorf("list = %v, want 4 elements ending in null", list)
	}
	inner, _ := mapper.Find(types.String("inner"))
	if x, _ := inner.(traits.Mapper).Find(types.String("x")); x != types.Int(-7) {
		t.Errorf("inner.x = %v, want -7", x)
	}
}
