package protocol

import (
	"strings"
	"testing"
)

// Attack: the exact-name and duplicate-key checks inside v1's
// JSON-in-a-string fields run only when the string parses under
// parseJSON. exactEmbedded passes a string that parseJSON refuses for any
// reason other than a duplicate key through unchanged, and the type's
// UnmarshalJSON then decodes it with encoding/json, which folds member
// names and keeps the last duplicate. parseJSON refuses nesting deeper
// than maxDepth (64); encoding/json accepts 10,000 levels. So a junk member
// nested 70 deep, placed first, switches every check inside the string
// off. Secure behaviour: the request is refused (status 10), as it is
// without the junk member.
func TestAttackEmbeddedStringDepthBypassesExactNames(t *testing.T) {
	deep := strings.Repeat("[", 70) + strings.Repeat("]", 70)
	const dest = "0x0f76F604fd7762Bd94B48CA2523F69ab9665c97f"
	cases := []struct {
		name, details, reason string
	}{
		// Controls: refused today.
		{"control: folded name, shallow", `[{"TO_ADDRESS":"` + dest + `","amount":"100000000000000"}]`, `TO_ADDRESS`},
		{"control: duplicate, shallow", `[{"to_address":"` + dest + `","amount":"1","amount":"100000000000000"}]`, `duplicate`},
		// Attacks.
		{"folded name behind deep junk", `[{"junk":` + deep + `,"TO_ADDRE` + longS + `S":"` + dest + `","amount":"100000000000000"}]`, `to_address_details`},
		{"duplicate amount behind deep junk", `[{"junk":` + deep + `,"to_address":"` + dest + `","amount":"1","amount":"100000000000000"}]`, `to_address_details`},
		{"case-variant duplicate behind deep junk", `[{"junk":` + deep + `,"to_address":"0x000000000000000000000000000000000000dead","TO_ADDRESS":"` + dest + `","amount":"100000000000000"}]`, `to_address_details`},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			data := mutated(t, V1, TypeKeySign, func(d, x map[string]any) { x["to_address_details"] = tt.details })
			r, err := Decode(V1, data)
			if err == nil {
				t.Fatalf("Decode accepted to_address_details %.80q...: typed destinations %+v; want a status-10 refusal like the shallow spelling",
					tt.details, r.KeySign.Tx.Destinations)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("refused for %v, want a reason naming %q", err, tt.reason)
			}
		})
	}
}

// Confirmation (claim holds): folded names and case-variant duplicates at
// the levels parseJSON sees are refused, v1 and v2.
func TestAttackFoldedNamesConfirm(t *testing.T) {
	cases := []struct {
		name string
		v    Version
		edit func(d, x map[string]any)
	}{
		{"v2 account_output addreſs", V2, func(d, x map[string]any) {
			rename(t, path(x, "transaction", "destination", "account_output"), "address", "addre"+longS+"s")
		}},
		{"v2 token_id and TOKEN_ID together", V2, func(d, x map[string]any) { path(x, "transaction")["TOKEN_ID"] = "ETH" }},
		{"v2 msg_hash_list Kelvin", V2, func(d, x map[string]any) { rename(t, d, "task_id", "tas"+kelvin+"_id") }},
		{"v1 coin COIN", V1, func(d, x map[string]any) { x["COIN"] = "ETH" }},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(tt.v, mutated(t, tt.v, TypeKeySign, tt.edit)); err == nil {
				t.Fatal("Decode accepted a folded member name")
			}
		})
	}
}
