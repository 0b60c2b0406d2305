package decision

import (
	"context"
	"strings"
	"testing"

	"tssgate/internal/protocol"
)

// Only an explicit APPROVE approves; the built-in default approves PING
// alone and says why it rejects everything else; a done context is an
// error, never a Decision.
func TestDefaultAndApproves(t *testing.T) {
	if (Decision{}).Approves() || (Decision{Action: "approve"}).Approves() {
		t.Fatal("a Decision without the exact APPROVE approves")
	}
	tests := []struct {
		name    string
		typ     protocol.RequestType
		approve bool
		rule    string
	}{
		{"ping", protocol.TypePing, true, RuleDefaultPing},
		{"keygen", protocol.TypeKeyGen, false, RuleDefaultNoPolicy},
		{"keysign", protocol.TypeKeySign, false, RuleDefaultNoPolicy},
		{"keysharesign", protocol.TypeKeyShareSign, false, RuleDefaultNoPolicy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Default{}.Decide(context.Background(), &protocol.Request{Type: tc.typ})
			if err != nil || d.Approves() != tc.approve || d.Rule != tc.rule || d.PolicyVersion != BuiltinVersion {
				t.Fatalf("Decide = %+v, %v", d, err)
			}
			if !tc.approve && !strings.Contains(d.Reason, "no policy is configured") {
				t.Errorf("reason %q does not say why", d.Reason)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if d, err := (Default{}).Decide(ctx, &protocol.Request{Type: protocol.TypePing}); err == nil {
		t.Fatalf("a done context decided %+v", d)
	}
}
