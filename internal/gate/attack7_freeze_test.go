package gate

import (
	"context"
	"testing"
	"time"
	"unicode"

	"tssgate/internal/protocol"
)

// unsafeRune reports what a reply reason must never carry raw: control
// characters (line breaks, ESC) and the bidirectional formatting
// characters that reorder what a human reads. Written out here, not
// through package text, so the check does not verify text.Clean with
// itself.
func unsafeRune(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	}
	return false
}

// TestAttack7FrozenReasonIsCleaned (defended; kept as a regression): the
// package promises that every text an Outcome carries has passed
// text.Clean. A freeze's reason is free text from the admin endpoint's
// bearer-token holder or the freeze command (refused only for NUL and bad
// UTF-8), and reaches every REJECT while frozen through two paths that
// bypass the record's cleaning: the reason Commit writes for a new
// approval (set after the gate cleaned the record) and the one
// unlessFrozen builds for a retry from the raw freeze. Check's deferred
// Clean covers both today; this keeps it so if either path moves.
func TestAttack7FrozenReasonIsCleaned(t *testing.T) {
	node, _ := testKeys(t)
	st := openSQLite(t)
	g, _ := newGate(t, func(c *Config) { c.Store, c.Decider = st, &countingDecider{} })
	soon := time.Now().Add(2 * time.Minute)
	check := func(id string) Outcome {
		t.Helper()
		return g.Check(context.Background(), protocol.V2, nodeToken(t, node, requestJSON(t, protocol.V2, protocol.TypeKeySign, id), soon))
	}
	if o := check("approved-before"); !o.Approves() {
		t.Fatalf("before the freeze: %+v", o)
	}
	freezeStore(t, st, "00000000000000aa", "drill\x1b[2J\nlevel=INFO msg=\"signing resumed\" \u202eevil")
	cases := []struct{ name, id string }{
		{"new approval turned by Commit", "new-after-freeze"},
		{"retry of an approval", "approved-before"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := check(tc.id)
			if o.Approves() || o.Rule != RuleFrozen {
				t.Fatalf("answered %s %s while frozen", o.Action, o.Rule)
			}
			for _, r := range o.Reason {
				if unsafeRune(r) {
					t.Fatalf("the reply reason carries %U unescaped: %q", r, o.Reason)
				}
			}
		})
	}
}
