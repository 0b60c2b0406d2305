package token

import (
	"strings"
	"testing"
)

func TestPublishedKey(t *testing.T) {
	for _, tc := range []struct {
		name, file, want string
	}{
		{"template node key", nodePubFile, "TSS Node callback key"},
		{"template server key", serverPubFile, "callback server key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := PublishedKey(loadPub(t, tc.file))
			if !ok || !strings.Contains(got, tc.want) {
				t.Fatalf("PublishedKey(%s) = %q, %v; want a published key named %q", tc.file, got, ok, tc.want)
			}
		})
	}
	if name, ok := PublishedKey(&genRSA2048().PublicKey); ok {
		t.Fatalf("a freshly generated key is reported as published (%s)", name)
	}
}
