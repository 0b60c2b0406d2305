package gate

import (
	"strings"
	"testing"
	"unicode/utf8"

	"tssgate/internal/protocol"
	"tssgate/internal/store"
	"tssgate/internal/text"
)

// assertCleanText fails the test if s is not storable text.
func assertCleanText(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s is not valid UTF-8: %q", what, s)
	}
	if text.Clean(s, 0) != s {
		t.Errorf("%s holds control characters: %q", what, s)
	}
}

// txKey counts one transaction once: the same id and hashes, in any order
// and spelling, give one key; other hashes under the same id give another.
func TestTxKeyIdentity(t *testing.T) {
	key := func(id string, hashes ...string) string {
		return txKey(&protocol.Request{KeySign: &protocol.KeySign{MsgHashes: hashes, Tx: &protocol.Transaction{ID: id}}})
	}
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"hash order", key("t", "0xaa", "0xbb"), key("t", "0xbb", "0xaa"), true},
		{"hash spelling", key("t", "0xAB"), key("t", "ab"), true},
		{"other bytes, same id", key("t", "0xaa"), key("t", "0xab"), false},
		{"other id, same bytes", key("t", "0xaa"), key("u", "0xaa"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if (tc.a == tc.b) != tc.same {
				t.Fatalf("keys %q and %q: same = %v, want %v", tc.a, tc.b, tc.a == tc.b, tc.same)
			}
		})
	}
	if k := txKey(&protocol.Request{KeyGen: &protocol.KeyGen{}}); k != "" {
		t.Errorf("a KEYGEN has tx key %q", k)
	}
}

// A transaction id the ledger could not hold or index still gives a
// decision its row: txKey replaces it by its hash.
func TestTxKeyIsStorable(t *testing.T) {
	for _, id := range []string{"tx\x00nul", strings.Repeat("t", 5000), "\u202etx"} {
		req := &protocol.Request{KeySign: &protocol.KeySign{MsgHashes: []string{"0xAB"}, Tx: &protocol.Transaction{ID: id}}}
		k := txKey(req)
		assertCleanText(t, "tx_key", k)
		if !strings.HasPrefix(k, "sha256:") || len(k) > 200 {
			t.Errorf("txKey(%q...) = %q", id[:3], k)
		}
	}
	plain := &protocol.Request{KeySign: &protocol.KeySign{MsgHashes: []string{"0xAB"}, Tx: &protocol.Transaction{ID: "7f3c2a91"}}}
	if k := txKey(plain); !strings.HasPrefix(k, "7f3c2a91:") {
		t.Errorf("an ordinary id is not kept verbatim: %q", k)
	}
}

// A decision recorded for one TSS Node is not replayed to another: the
// other node's request under the same request_id is a conflict.
func TestReplayIsPerNodeKey(t *testing.T) {
	a := &protocol.Request{Version: protocol.V2, ID: "x", Type: protocol.TypePing, NodeKey: "node-a"}
	b := *a
	b.NodeKey = "node-b"
	ca, err := canonicalRequest(a)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := canonicalRequest(&b)
	if err != nil {
		t.Fatal(err)
	}
	if store.RequestHashOf(ca) == store.RequestHashOf(cb) {
		t.Fatal("the canonical request does not depend on the node key")
	}
}
