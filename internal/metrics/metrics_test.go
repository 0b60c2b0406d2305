package metrics

import (
	"testing"
	"time"

	"tssgate/internal/gate"
	"tssgate/internal/protocol"
)

// The common reply path allocates nothing: counters are resolved at start
// and the rule's counter is cached after its first decision.
func TestObserveReplyAllocatesNothing(t *testing.T) {
	m := New(Options{NodeKeys: []string{"node-a"}})
	o := &gate.Outcome{Version: protocol.V2, Type: "KEYSIGN", KeyName: "node-a", Status: protocol.StatusOK,
		Action: protocol.ActionApprove, Rule: "small-eth"}
	m.ObserveReply(o, time.Millisecond)
	if n := testing.AllocsPerRun(1000, func() { m.ObserveReply(o, time.Millisecond) }); n != 0 {
		t.Errorf("ObserveReply allocates %v times per reply", n)
	}
}

// Values a request chooses never become label values.
func TestLabelsBounded(t *testing.T) {
	m := New(Options{})
	for _, tc := range []struct {
		name string
		o    gate.Outcome
	}{
		{"unknown type", gate.Outcome{Version: protocol.V1, Type: "UNKNOWN(7)", Status: protocol.StatusInvalidRequest, Action: protocol.ActionReject}},
		{"odd status", gate.Outcome{Version: "v9", Type: "", Status: 99, Action: "MAYBE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := seriesCount(t, m, "tssgate_replies_total")
			m.ObserveReply(&tc.o, time.Millisecond)
			if after := seriesCount(t, m, "tssgate_replies_total"); after != before {
				t.Errorf("a reply created a series: %d -> %d", before, after)
			}
		})
	}
	before := seriesCount(t, m, "tssgate_tx_verification_failures_total")
	m.VerificationFailed("bitcoin", "address")
	m.VerificationFailed("", "made-up")
	if after := seriesCount(t, m, "tssgate_tx_verification_failures_total"); after != before+2 {
		t.Errorf("verification failures: %d series, want %d (other/other and none/other)", after, before+2)
	}
	m.VerificationFailed("evil", "also-evil")
	if after := seriesCount(t, m, "tssgate_tx_verification_failures_total"); after != before+2 {
		t.Errorf("a made-up chain and field created a series")
	}
}

func seriesCount(t *testing.T, m *Metrics, name string) int {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	t.Fatalf("no family %s", name)
	return 0
}

func BenchmarkObserveReply(b *testing.B) {
	m := New(Options{NodeKeys: []string{"node-a"}})
	o := &gate.Outcome{Version: protocol.V2, Type: "KEYSIGN", KeyName: "node-a", Status: protocol.StatusOK,
		Action: protocol.ActionApprove, Rule: "small-eth"}
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveReply(o, time.Millisecond)
	}
}
