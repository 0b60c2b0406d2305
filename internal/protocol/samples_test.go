package protocol

import (
	"encoding/json"
	"os"
	"testing"
)

func TestSample(t *testing.T) {
	for _, v := range []Version{V1, V2} {
		for _, typ := range []RequestType{TypeKeyGen, TypeKeySign, TypeKeyReshare, TypeKeyShareSign} {
			t.Run(string(v)+" "+typ.String(), func(t *testing.T) {
				detail, extra, err := Sample(v, typ)
				if err != nil {
					t.Fatal(err)
				}
				for name, b := range map[string][]byte{"detail": detail, "extra": extra} {
					var obj map[string]any
					if err := json.Unmarshal(b, &obj); err != nil || len(obj) == 0 {
						t.Errorf("%s is not a non-empty JSON object: %v", name, err)
					}
				}
				// The caller owns the bytes: changing them does not change the sample.
				detail[0] = 'X'
				again, _, _ := Sample(v, typ)
				if again[0] != '{' {
					t.Error("Sample returned shared storage")
				}
			})
		}
	}
}

func TestSampleErrors(t *testing.T) {
	tests := []struct {
		name    string
		v       Version
		typ     RequestType
		wantErr bool
	}{
		{"ping has no payload", V2, TypePing, false},
		{"v1 ping has no payload", V1, TypePing, false},
		{"type 4", V2, 4, true},
		{"type 99", V1, 99, true},
		{"unknown version", "v3", TypeKeySign, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, x, err := Sample(tt.v, tt.typ)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, wantErr %v", err, tt.wantErr)
			}
			if d != nil || x != nil {
				t.Errorf("got payload %q %q", d, x)
			}
		})
	}
}

// The KEYSIGN samples must match the shared public test vector, since the
// simulator and the verifier tests rely on them agreeing.
func TestKeySignSamplesMatchSharedVector(t *testing.T) {
	raw, err := os.ReadFile("testdata/keysign-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			Name          string `json:"name"`
			UnsignedRawTx string `json:"unsigned_raw_tx"`
			MsgHash       string `json:"msg_hash"`
			Destination   string `json:"destination"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, vec := range file.Vectors {
		if vec.Name != "eth_legacy_transfer" {
			continue
		}
		found = true
		equal(t, "raw tx", vec.UnsignedRawTx, ethRawTx)
		equal(t, "hash", vec.MsgHash, ethMsgHash)
		equal(t, "destination", vec.Destination, ethDestination)
	}
	if !found {
		t.Fatal("eth_legacy_transfer vector not found")
	}
	for _, v := range []Version{V1, V2} {
		r := decodeOK(t, v, samplePackage(t, v, TypeKeySign, "vec"))
		equalStrings(t, string(v)+" MsgHashes", r.KeySign.MsgHashes, []string{ethMsgHash})
		equalStrings(t, string(v)+" UnsignedRawTxs", r.KeySign.Tx.UnsignedRawTxs, []string{ethRawTx})
		equal(t, string(v)+" destination", r.KeySign.Tx.Destinations[0].Address, ethDestination)
	}
}

func TestNewCallbackRequest(t *testing.T) {
	tests := []struct {
		name          string
		detail, extra string
		wantDetail    string
		wantExtra     string
	}{
		{"compacts", "{\n  \"a\": [1, 2]\n}\n", ` { "b" : "c d" } `, `{"a":[1,2]}`, `{"b":"c d"}`},
		{"empty becomes empty string", "", " \n", "", ""},
		{"invalid JSON kept verbatim", "test_task_detail", "{", "test_task_detail", "{"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewCallbackRequest("id", TypeKeyGen, []byte(tt.detail), []byte(tt.extra))
			equal(t, "RequestID", r.RequestID, "id")
			equal(t, "RequestType", r.RequestType, TypeKeyGen)
			equal(t, "RequestDetail", r.RequestDetail, tt.wantDetail)
			equal(t, "ExtraInfo", r.ExtraInfo, tt.wantExtra)
		})
	}
}
