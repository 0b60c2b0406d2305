package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Requirement 4 (fast-crypto build): a TSS Node key that one of the two
// crypto builds could not verify with is refused when serve starts, in both
// builds, with the key's name and the reason; serve exits before listening,
// so no request is ever decided with it. Before, such keys loaded and every
// request from that node failed with status 20.
func TestServeRefusesKeysEitherBuildCannotUse(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	over := new(big.Int).Lsh(big.NewInt(1), 16391)
	over.Add(over, big.NewInt(1)) // odd, 16392 bits: over BoringCrypto's limit
	tests := []struct {
		name    string
		key     rsa.PublicKey
		wantErr string
	}{
		{"modulus over 16384 bits", rsa.PublicKey{N: over, E: 65537}, "RSA key is 16392 bits, at most 16384 are supported"},
		{"even public exponent", rsa.PublicKey{N: k.N, E: 65536}, "public exponent 65536 is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			der, err := x509.MarshalPKIXPublicKey(&tt.key)
			if err != nil {
				t.Fatal(err)
			}
			pub := filepath.Join(dir, "node.pub")
			if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
				t.Fatal(err)
			}
			// A deadline, so a serve that wrongly accepts the key stops
			// (exit 0) instead of serving until the test times out.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			code := run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"), "--tss-node-pub", "node-a=" + pub}, &stdout, &stderr)
			out, errOut := stdout.String(), stderr.String()
			if code != 1 || !strings.Contains(errOut, `TSS Node key "node-a"`) || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, errOut, tt.wantErr)
			}
			if strings.Contains(out, "listening") {
				t.Fatalf("serve listened with a refused key:\n%s", out)
			}
		})
	}
}
