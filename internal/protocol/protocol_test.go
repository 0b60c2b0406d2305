package protocol

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestRequestType(t *testing.T) {
	tests := []struct {
		typ   RequestType
		name  string
		known bool
	}{
		{TypePing, "PING", true},
		{TypeKeyGen, "KEYGEN", true},
		{TypeKeySign, "KEYSIGN", true},
		{TypeKeyReshare, "KEYRESHARE", true},
		{4, "UNKNOWN(4)", false},
		{TypeKeyShareSign, "KEYSHARESIGN", true},
		{-1, "UNKNOWN(-1)", false},
		{99, "UNKNOWN(99)", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			equal(t, "String", tt.typ.String(), tt.name)
			equal(t, "Known", tt.typ.Known(), tt.known)
		})
	}
}

func TestParseRequestType(t *testing.T) {
	tests := []struct {
		in      string
		want    RequestType
		wantErr bool
	}{
		{"ping", TypePing, false},
		{"KEYGEN", TypeKeyGen, false},
		{"KeySign", TypeKeySign, false},
		{"keyreshare", TypeKeyReshare, false},
		{"keysharesign", TypeKeyShareSign, false},
		{"2", 0, true},
		{"key sign", 0, true},
		{"", 0, true},
		{"UNKNOWN(4)", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRequestType(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseRequestType(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseRequestType(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestMarshalCallbackRequest(t *testing.T) {
	tests := []struct {
		name string
		req  CallbackRequest
		want string
	}{
		{"zero emits every key", CallbackRequest{}, `{"request_id":"","request_type":0,"request_detail":"","extra_info":""}`},
		{"keysign", NewCallbackRequest("r1", TypeKeySign, []byte(`{ "a": 1 }`), []byte(`{"b":"c"}`)),
			`{"request_id":"r1","request_type":2,"request_detail":"{\"a\":1}","extra_info":"{\"b\":\"c\"}"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "JSON", string(got), tt.want)
		})
	}
}

func TestMarshalCallbackResponse(t *testing.T) {
	tests := []struct {
		name string
		resp CallbackResponse
		want string
	}{
		{"approve keeps status 0", CallbackResponse{Status: StatusOK, RequestID: "r1", Action: ActionApprove},
			`{"status":0,"request_id":"r1","action":"APPROVE"}`},
		{"reject with reason", CallbackResponse{Status: StatusOK, RequestID: "r1", Action: ActionReject, Error: "over limit"},
			`{"status":0,"request_id":"r1","action":"REJECT","error":"over limit"}`},
		{"invalid request", CallbackResponse{Status: StatusInvalidRequest, Action: ActionReject, Error: "invalid request: x"},
			`{"status":10,"request_id":"","action":"REJECT","error":"invalid request: x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.resp)
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "JSON", string(got), tt.want)
			back, err := ParseResponse(got)
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "round trip", *back, tt.resp)
		})
	}
}

func TestParseResponse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    CallbackResponse
		approve bool
	}{
		{"Go SDK key order", `{"action":"APPROVE","request_id":"test-request-id","status":0}`,
			CallbackResponse{RequestID: "test-request-id", Action: ActionApprove}, true},
		{"missing status is 0", `{"request_id":"r","action":"APPROVE"}`, CallbackResponse{RequestID: "r", Action: ActionApprove}, true},
		{"null status is 0", `{"status":null,"request_id":"r","action":"APPROVE"}`, CallbackResponse{RequestID: "r", Action: ActionApprove}, true},
		{"python nulls", `{"status": 0, "request_id": "r", "action": null, "error": null}`, CallbackResponse{RequestID: "r"}, false},
		{"empty action", `{"status":0,"request_id":"r","action":"","error":""}`, CallbackResponse{RequestID: "r"}, false},
		{"bare ping reply", `{"status":0}`, CallbackResponse{}, false},
		{"unknown keys ignored", `{"status":0,"request_id":"r","action":"APPROVE","err_str":"x","extra":[1]}`,
			CallbackResponse{RequestID: "r", Action: ActionApprove}, true},
		{"reject", `{"status":0,"request_id":"r","action":"REJECT","error":"no"}`,
			CallbackResponse{RequestID: "r", Action: ActionReject, Error: "no"}, false},
		{"non-zero status never approves", `{"status":30,"request_id":"r","action":"APPROVE"}`,
			CallbackResponse{Status: StatusInternalError, RequestID: "r", Action: ActionApprove}, false},
		{"lower-case approve is not APPROVE", `{"status":0,"request_id":"r","action":"approve"}`,
			CallbackResponse{RequestID: "r", Action: "approve"}, false},
		{"WAIT is not APPROVE", `{"status":0,"request_id":"r","action":"WAIT"}`,
			CallbackResponse{RequestID: "r", Action: "WAIT"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseResponse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "response", *got, tt.want)
			equal(t, "Approves", got.Approves(), tt.approve)
		})
	}
}

func TestParseResponseErrors(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"empty", ``},
		{"not JSON", `status=0`},
		{"array", `[{"status":0}]`},
		{"null", `null`},
		{"status as string", `{"status":"0","request_id":"r","action":"APPROVE"}`},
		{"status fraction", `{"status":0.0,"request_id":"r","action":"APPROVE"}`},
		{"status bool", `{"status":false,"request_id":"r","action":"APPROVE"}`},
		{"status huge", `{"status":99999999999999999999,"request_id":"r"}`},
		{"request_id number", `{"status":0,"request_id":1,"action":"APPROVE"}`},
		{"action number", `{"status":0,"request_id":"r","action":1}`},
		{"error object", `{"status":0,"request_id":"r","action":"REJECT","error":{"msg":"x"}}`},
		{"duplicate action", `{"status":0,"request_id":"r","action":"REJECT","action":"APPROVE"}`},
		{"trailing data", `{"status":0} {"status":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseResponse([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseResponse(%s) = %+v, want error", tt.in, got)
			}
			if !errors.Is(err, ErrInvalidResponse) {
				t.Errorf("error %v does not wrap ErrInvalidResponse", err)
			}
		})
	}
}

func TestApprovesNil(t *testing.T) {
	var r *CallbackResponse
	if r.Approves() {
		t.Error("nil response approves")
	}
}
