package token

import (
	"strings"
	"testing"
	"time"
)

// largePayload is about the size of a full v2 KEYSIGN CallbackRequest
// (request_detail plus the transaction in extra_info): 6 KB of JSON, so
// package_data is about 8 KB of base64 and the token about 11 KB.
var largePayload = func() []byte {
	var b strings.Builder
	b.WriteString(`{"request_id":"8f14e45f-ceea-467f-a9e0-5b7c3d2a9e61","request_type":2,"request_detail":"{\"tss_node_id\":\"coboAbcdef\",\"request_id\":\"8f14e45f\",\"sign_type\":1,\"msg_hash_list\":[\"0x1acf0342f77d22389a9cf6524a2af14dc420928d2942efe0dc0764be2ea5321b\"]}","extra_info":"{\"transaction\":{\"raw_tx\":\"0x`)
	for b.Len() < 6<<10-8 {
		b.WriteString("02f8b20180843b9aca00850c92a69c0083030d4094a0b86991c6218b36c1d19d4a2e9eb0ce3606eb4880b844a9059cbb")
	}
	b.WriteString(`\"}}"}`)
	return []byte(b.String())
}()

func BenchmarkSignLarge(b *testing.B) {
	s := &Signer{Key: loadPriv(b, serverPrivFile), Issuer: "callback-server"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(largePayload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyLarge(b *testing.B) {
	key := loadPriv(b, nodePrivFile)
	tok, err := (&Signer{Key: key, Issuer: "TSS_NODE", TTL: 2 * time.Minute}).Sign(largePayload)
	if err != nil {
		b.Fatal(err)
	}
	v := &Verifier{Keys: keySet(b, NamedKey{"node", &key.PublicKey})}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}
