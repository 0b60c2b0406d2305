package server

import (
	"context"
	"strings"
	"testing"

	"tssgate/internal/policy"
	"tssgate/internal/protocol"
)

// approveAll approves whatever reaches it: a wrong-version request must be
// refused before any decider sees it.
type approveAll struct{}

func (approveAll) Decide(context.Context, *protocol.Request) (policy.Decision, error) {
	return policy.Decision{Action: protocol.ActionApprove, Rule: "approve-all", PolicyVersion: "test"}, nil
}

// A node pointed at the other version's endpoint sends payloads whose
// members the typed decoder used to ignore, so they were decided as nearly
// empty requests (approved here by a permissive policy). They are now a
// status 10 naming the endpoint the node's callback entry should use.
func TestWrongVersionShapeIsInvalidRequest(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Decider = approveAll{} })
	tests := []struct {
		name   string
		sample protocol.Version
		at     string
		want   []string
	}{
		{"v1 KEYSIGN at /v2/check", protocol.V1, "/v2/check", []string{"v1 (WaaS 1.0) shape", "cb_server ", "/v1/check"}},
		{"v2 KEYSIGN at /v1/check", protocol.V2, "/v1/check", []string{"v2 (WaaS 2.0) shape", "cb_server_v2", "/v2/check"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := sampleRequest(t, tt.sample, protocol.TypeKeySign, "wrong-version-1")
			_, r := post(t, ts.URL+tt.at, form, formBody(goodToken(t, req)))
			if r.Status != protocol.StatusInvalidRequest || r.Action != protocol.ActionReject || r.RequestID != "wrong-version-1" {
				t.Fatalf("reply = %+v, want status 10 REJECT echoing wrong-version-1", r)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.Error, w) {
					t.Errorf("error %q does not contain %q", r.Error, w)
				}
			}
		})
	}
}
