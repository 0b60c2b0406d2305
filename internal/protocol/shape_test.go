package protocol

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// callback builds package_data by hand: request_detail and extra_info as
// serialized JSON strings, as a TSS Node sends them.
func callback(t *testing.T, typ int, detail, extra string) []byte {
	t.Helper()
	m := map[string]any{"request_id": "shape-1", "request_type": typ, "request_detail": detail}
	if extra != "" {
		m["extra_info"] = extra
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sample returns the built-in sample of (v, t) as package_data.
func sample(t *testing.T, v Version, typ RequestType) []byte {
	t.Helper()
	d, x, err := Sample(v, typ)
	if err != nil {
		t.Fatal(err)
	}
	return callback(t, int(typ), string(d), string(x))
}

func TestDecodeWrongVersionShape(t *testing.T) {
	const (
		v1SignDetail = `{"group_id":"g","root_pub_key":"xpub","used_node_ids":["a"],"bip32_path_list":["m/44/60/0/0/0"],"msg_hash_list":["0x00"],"task_id":"t"}`
		v1SignExtra  = `{"cobo_id":"c-1","coin":"ETH","decimal":18,"amount":"1","to_address":"0x0f76f604fd7762bd94b48ca2523f69ab9665c97f","raw_tx":[]}`
		v2SignDetail = `{"group_id":"g","root_pub_key":"xpub","used_node_ids":["a"],"bip32_path_list":["m/44/60/0/0/0"],"msg_hash_list":["0x00"],"signature_type":1,"tss_protocol":1,"task_id":"t","biz_task_id":"b"}`
		v2SignExtra  = `{"org":{"org_id":"o"},"vault":{"vault_id":"v"},"transaction":{"transaction_id":"x"}}`
	)
	tests := []struct {
		name string
		at   Version
		pd   []byte
		want []string // substrings of the reason; nil means no shape refusal
	}{
		{"v1 KEYSIGN at /v2/check", V2, callback(t, 2, v1SignDetail, v1SignExtra),
			[]string{"KEYSIGN has the v1 (WaaS 1.0) shape", "extra_info.cobo_id", "arrived at /v2/check", "callback.cb_server with", "ending in /v1/check"}},
		{"v2 KEYSIGN at /v1/check", V1, callback(t, 2, v2SignDetail, v2SignExtra),
			[]string{"KEYSIGN has the v2 (WaaS 2.0) shape", "extra_info.org", "arrived at /v1/check", "callback.cb_server_v2 with", "ending in /v2/check"}},
		{"v2 KEYSIGN detail alone at /v1/check", V1, callback(t, 2, v2SignDetail, ""),
			[]string{"v2 (WaaS 2.0) shape", "request_detail.signature_type", "cb_server_v2"}},
		{"v1 KEYGEN at /v2/check", V2, callback(t, 1, `{"threshold":2,"node_ids":["a","b"],"curve":0,"task_id":"t"}`, `{"cobo_id":"c","api_request_id":"r"}`),
			[]string{"KEYGEN has the v1 (WaaS 1.0) shape", "extra_info.api_request_id", "cb_server with"}},
		{"v2 KEYRESHARE at /v1/check", V1, callback(t, 3, `{"old_group_id":"g","biz_task_id":"b"}`, `{"tss_request":{}}`),
			[]string{"KEYRESHARE has the v2 (WaaS 2.0) shape", "cb_server_v2"}},
		{"v1 sample KEYSIGN at /v2/check", V2, sample(t, V1, TypeKeySign), []string{"v1 (WaaS 1.0) shape", "/v2/check"}},
		{"v2 sample KEYSIGN at /v1/check", V1, sample(t, V2, TypeKeySign), []string{"v2 (WaaS 2.0) shape", "/v1/check"}},
		{"v1 sample KEYGEN at /v2/check", V2, sample(t, V1, TypeKeyGen), []string{"v1 (WaaS 1.0) shape"}},
		{"v2 sample KEYRESHARE at /v1/check", V1, sample(t, V2, TypeKeyReshare), []string{"v2 (WaaS 2.0) shape"}},
		// Genuine requests, and ones with members of both shapes or of
		// neither, are left to the typed decoder.
		{"v1 KEYSIGN at /v1/check", V1, sample(t, V1, TypeKeySign), nil},
		{"v2 KEYSIGN at /v2/check", V2, sample(t, V2, TypeKeySign), nil},
		{"v2 KEYSIGN with a stray cobo_id", V2, callback(t, 2, v2SignDetail, `{"cobo_id":"c","transaction":{"transaction_id":"x"}}`), nil},
		{"common members only", V2, callback(t, 2, `{"group_id":"g","task_id":"t"}`, ""), nil},
		{"KEYSHARESIGN has one shape", V1, sample(t, V2, TypeKeyShareSign), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.at, tt.pd)
			var de *DecodeError
			if tt.want == nil {
				if errors.As(err, &de) && strings.Contains(de.Reason, " shape (") {
					t.Fatalf("refused for its shape: %v", err)
				}
				return
			}
			if !errors.As(err, &de) {
				t.Fatalf("Decode error = %v, want a *DecodeError", err)
			}
			if de.RequestID != "shape-1" {
				t.Errorf("RequestID = %q, want shape-1 echoed", de.RequestID)
			}
			for _, w := range tt.want {
				if !strings.Contains(de.Reason, w) {
					t.Errorf("reason %q does not contain %q", de.Reason, w)
				}
			}
		})
	}
}

// TestVersionOnlyNames pins the discriminating members derived from the
// wire structs, so that a field added to one version's struct is a
// deliberate change here.
func TestVersionOnlyNames(t *testing.T) {
	tests := []struct {
		name string
		v    Version
		typ  RequestType
		has  []string
	}{
		{"v1 KEYSIGN", V1, TypeKeySign, []string{"extra_info.cobo_id", "extra_info.coin", "extra_info.raw_tx", "extra_info.to_address"}},
		{"v2 KEYSIGN", V2, TypeKeySign, []string{"request_detail.biz_task_id", "request_detail.signature_type", "extra_info.org", "extra_info.transaction"}},
		{"v1 KEYGEN", V1, TypeKeyGen, []string{"extra_info.cobo_id"}},
		{"v2 KEYGEN", V2, TypeKeyGen, []string{"request_detail.biz_task_id", "extra_info.org"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := versionOnly[tt.v][tt.typ]
			for _, n := range tt.has {
				if !slices.Contains(got, n) {
					t.Errorf("versionOnly[%s][%s] = %v, missing %s", tt.v, tt.typ, got, n)
				}
			}
			for _, common := range []string{"request_detail.group_id", "request_detail.task_id", "request_detail.msg_hash_list"} {
				if slices.Contains(got, common) {
					t.Errorf("versionOnly[%s][%s] contains %s, which both versions have", tt.v, tt.typ, common)
				}
			}
		})
	}
	if n := len(versionOnly[V1][TypeKeyShareSign]) + len(versionOnly[V2][TypeKeyShareSign]); n != 0 {
		t.Errorf("KEYSHARESIGN has %d version-only members, want none (one shape for both)", n)
	}
}
