package protocol

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// rename moves m[from] to m[to].
func rename(t testing.TB, m map[string]any, from, to string) {
	t.Helper()
	v, ok := m[from]
	if !ok {
		t.Fatalf("no key %q to rename", from)
	}
	delete(m, from)
	m[to] = v
}

// Hostile spellings of member names: each folds to the real name under
// encoding/json's case-insensitive matching.
const (
	longS  = "\u017f" // LATIN SMALL LETTER LONG S, folds to s
	kelvin = "\u212a" // KELVIN SIGN, folds to k
)

// The premise of finding 6: encoding/json alone would read these
// spellings into the typed field, so a decoder that relies on it has two
// answers for one request.
func TestEncodingJSONFoldsNames(t *testing.T) {
	for _, name := range []string{"ADDRESS", "Address", "addre" + longS + "s"} {
		var v struct {
			Address string `json:"address"`
		}
		if err := json.Unmarshal([]byte(`{"`+name+`":"x"}`), &v); err != nil || v.Address != "x" {
			t.Fatalf("encoding/json did not fold %q (%v): this test's premise is gone", name, err)
		}
	}
	var v struct {
		TokenID string `json:"token_id"`
	}
	if err := json.Unmarshal([]byte(`{"to`+kelvin+`en_id":"x"}`), &v); err != nil || v.TokenID != "x" {
		t.Fatalf("encoding/json did not fold the Kelvin sign")
	}
}

// Finding 6: a member that matches a known name only by case or Unicode
// folding is refused as an invalid request naming it, at every nesting
// level, so typed decoding and the generic maps rules read always agree.
func TestFoldedMemberNamesAreRefused(t *testing.T) {
	type edit = func(t *testing.T, detail, extra map[string]any)
	cases := []struct {
		name   string
		v      Version
		typ    RequestType
		edit   edit
		reason string
	}{
		{"request_detail upper case", V2, TypeKeySign, func(t *testing.T, d, x map[string]any) { rename(t, d, "group_id", "GROUP_ID") },
			`request_detail: member "GROUP_ID" matches "group_id"`},
		{"request_detail Kelvin sign", V2, TypeKeySign, func(t *testing.T, d, x map[string]any) { rename(t, d, "biz_task_id", "biz_tas"+kelvin+"_id") },
			`request_detail: member "biz_tas\u212a_id" matches "biz_task_id"`},
		{"v1 KEYGEN threshold title case", V1, TypeKeyGen, func(t *testing.T, d, x map[string]any) { rename(t, d, "threshold", "Threshold") },
			`request_detail: member "Threshold" matches "threshold"`},
		{"extra_info top level", V2, TypeKeySign, func(t *testing.T, d, x map[string]any) {
			rename(t, x, "signer_key_share_holder_group", "signer_"+kelvin+"ey_share_holder_group")
		}, `extra_info: member "signer_\u212aey_share_holder_group"`},
		{"transaction token_id Kelvin sign", V2, TypeKeySign, func(t *testing.T, d, x map[string]any) {
			rename(t, path(x, "transaction"), "token_id", "to"+kelvin+"en_id")
		}, `extra_info.transaction: member "to\u212aen_id" matches "token_id"`},
		{"transaction chain_id mixed case", V2, TypeKeySign, func(t *testing.T, d, x map[string]any) {
			rename(t, path(x, "transaction"), "chain_id", "Chain_Id")
		}, `extra_info.transaction: member "Chain_Id"`},
		{"destination ADDRESS", V2, TypeKeySign, func(t *testing.T, d, x map[string]any) {
			rename(t, path(x, "transaction", "destination", "account_output"), "address", "ADDRESS")
		}, `extra_info.transaction.destination.account_output: member "ADDRESS" matches "address"`},
		{"destination Address", V2, TypeKeySign, func(t *testing.T, d, x map[string]any) {
			rename(t, path(x, "transaction", "destination", "account_output"), "address", "Address")
		}, `member "Address" matches "address"`},
		{"destination long s", V2, TypeKeySign, func(t *testing.T, d, x map[string]any) {
			rename(t, path(x, "transaction", "destination", "account_output"), "address", "addre"+longS+"s")
		}, `extra_info.transaction.destination.account_output: member "addre\u017fs" matches "address"`},
		{"destination_type", V2, TypeKeySign, func(t *testing.T, d, x map[string]any) {
			rename(t, path(x, "transaction", "destination"), "destination_type", "De"+longS+"tination_type")
		}, `extra_info.transaction.destination: member "De\u017ftination_type"`},
		{"amount in nested object", V2, TypeKeySign, func(t *testing.T, d, x map[string]any) {
			rename(t, path(x, "transaction", "destination", "account_output"), "amount", "AMOUNT")
		}, `member "AMOUNT" matches "amount"`},
		{"array element (source_addresses)", V2, TypeKeySign, func(t *testing.T, d, x map[string]any) {
			rename(t, x["source_addresses"].([]any)[0].(map[string]any), "address", "addre"+longS+"s")
		}, `extra_info.source_addresses[0]: member "addre\u017fs"`},
		{"array in array element (key_share_holders)", V2, TypeKeySign, func(t *testing.T, d, x map[string]any) {
			holders := path(x, "signer_key_share_holder_group")["key_share_holders"].([]any)
			rename(t, holders[len(holders)-1].(map[string]any), "tss_node_id", "TSS_NODE_ID")
		}, `extra_info.signer_key_share_holder_group.key_share_holders[`},
		{"v1 raw_tx array element", V1, TypeKeySign, func(t *testing.T, d, x map[string]any) {
			rename(t, x["raw_tx"].([]any)[0].(map[string]any), "raw_tx", "Raw_Tx")
		}, `extra_info.raw_tx[0]: member "Raw_Tx" matches "raw_tx"`},
		{"v1 to_address long s", V1, TypeKeySign, func(t *testing.T, d, x map[string]any) { rename(t, x, "to_address", "to_addre"+longS+"s") },
			`extra_info: member "to_addre\u017fs"`},
		{"v1 to_address_details inside its string", V1, TypeKeySign, func(t *testing.T, d, x map[string]any) {
			x["to_address_details"] = `[{"TO_ADDRESS":"0x0f76F604fd7762Bd94B48CA2523F69ab9665c97f","amount":"100000000000000"}]`
		}, `extra_info.to_address_details[0]: member "TO_ADDRESS" matches "to_address"`},
		{"v1 extra_parameters inside its string", V1, TypeKeySign, func(t *testing.T, d, x map[string]any) {
			x["extra_parameters"] = `{"inputs_to_spend":[{"tx_ha` + longS + `h":"aa","vout_n":1}]}`
		}, `extra_info.extra_parameters.inputs_to_spend[0]: member "tx_ha\u017fh" matches "tx_hash"`},
		{"KEYSHARESIGN details element", V2, TypeKeyShareSign, func(t *testing.T, d, x map[string]any) {
			rename(t, d["details"].([]any)[0].(map[string]any), "message", "Me"+longS+"sage")
		}, `request_detail.details[0]: member "Me\u017fsage" matches "message"`},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			data := mutated(t, tt.v, tt.typ, func(d, x map[string]any) { tt.edit(t, d, x) })
			wantDecodeError(t, tt.v, data, "req-1", tt.reason)
		})
	}
}

// The top-level CallbackRequest keys must be exact too, and duplicates of
// one value under two spellings stay refused, inside embedded strings as
// well.
func TestFoldedTopLevelAndDuplicates(t *testing.T) {
	raw := func(s string) []byte { return []byte(s) }
	cases := []struct {
		name   string
		v      Version
		data   []byte
		id     string
		reason string
	}{
		{"Request_Type", V2, raw(`{"request_id":"r","Request_Type":2}`), "r", `package_data: member "Request_Type" matches "request_type"`},
		{"extra_info twice", V2, raw(`{"request_id":"r","request_type":1,"request_detail":{"threshold":2},"extra_info":{},"extra_info":{}}`), "", "duplicate key"},
		{"request_detail upper and lower", V2, raw(`{"request_id":"r","request_type":1,"request_detai` + "l" + `":{"threshold":2},"request_detail_":1,"REQUEST_DETAIL":{}}`), "", "duplicate key"},
		{"two spellings of address", V2, raw(`{"request_id":"r","request_type":2,"request_detail":{"msg_hash_list":["aa"]},"extra_info":{"transaction":{"destination":{"address":"0xa","addre` + longS + `s":"0xb"}}}}`), "", "duplicate key"},
		{"two spellings inside v1 details string", V1, raw(`{"request_id":"r","request_type":2,"request_detail":{"msg_hash_list":["aa"]},"extra_info":{"to_address_details":"[{\"to_address\":\"a\",\"TO_ADDRESS\":\"b\",\"amount\":\"1\"}]"}}`), "r",
			`extra_info.to_address_details: string holding JSON with a duplicate key "TO_ADDRESS"`},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			wantDecodeError(t, tt.v, tt.data, tt.id, tt.reason)
		})
	}
}

// Exact names still decode, unknown members are still ignored, and a
// member that only resembles a known name without folding to it (camelCase,
// a different word) is an unknown member, not an error.
func TestExactNamesDecode(t *testing.T) {
	data := mutated(t, V2, TypeKeySign, func(d, x map[string]any) {
		ao := path(x, "transaction", "destination", "account_output")
		ao["Addr"] = "0xdead"
		ao["addressX"] = "ignored"
		path(x, "transaction")["tokenId"] = "ignored, camelCase is another name"
	})
	r := decodeOK(t, V2, data)
	if got := r.KeySign.Tx.Destinations[0].Address; !strings.EqualFold(got, ethDestination) {
		t.Fatalf("destination = %q", got)
	}
	if r.KeySign.Tx.TokenID != "ETH" {
		t.Fatalf("token_id = %q", r.KeySign.Tx.TokenID)
	}
	// The v1 camelCase extra_parameters keys of before 2022-12 are unknown
	// names, not foldings, so they are ignored as before.
	v1 := mutated(t, V1, TypeKeySign, func(d, x map[string]any) {
		x["extra_parameters"] = `{"inputsToSpend":[{"txHash":"aa","voutN":1}]}`
	})
	if r := decodeOK(t, V1, v1); len(r.Wire.(*V1KeySign).Extra.ExtraParameters.InputsToSpend) != 0 {
		t.Fatalf("camelCase extra_parameters were read")
	}
}

// exactCopy treats every type with its own UnmarshalJSON as a leaf unless
// it is listed in embeddedTypes. A new such type that decodes objects by
// member name would escape the exact-name rule; this test makes adding one
// a deliberate choice.
func TestUnmarshalerTypesAreKnown(t *testing.T) {
	leaves := map[reflect.Type]bool{
		reflect.TypeFor[Int]():             true,
		reflect.TypeFor[HexString]():       true,
		reflect.TypeFor[Amount]():          true,
		reflect.TypeFor[Curve]():           true,
		reflect.TypeFor[json.RawMessage](): true,
	}
	seen := map[reflect.Type]bool{}
	var visit func(reflect.Type)
	visit = func(ty reflect.Type) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice {
			ty = ty.Elem()
		}
		if seen[ty] {
			return
		}
		seen[ty] = true
		if inner, ok := embeddedTypes[ty]; ok {
			visit(inner)
			return
		}
		if reflect.PointerTo(ty).Implements(unmarshalerType) {
			if !leaves[ty] {
				t.Errorf("%v has its own UnmarshalJSON but is neither a known leaf nor in embeddedTypes", ty)
			}
			return
		}
		if ty.Kind() == reflect.Struct {
			for i := range ty.NumField() {
				visit(ty.Field(i).Type)
			}
		}
	}
	for _, v := range []Version{V1, V2} {
		for _, typ := range []RequestType{TypeKeyGen, TypeKeySign, TypeKeyReshare, TypeKeyShareSign} {
			d, x := newWire(v, typ).parts()
			visit(reflect.TypeOf(d))
			visit(reflect.TypeOf(x))
		}
	}
}
