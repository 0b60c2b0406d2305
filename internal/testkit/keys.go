package testkit

import (
	"crypto/rsa"
	"crypto/x509"
	"embed"
	"encoding/pem"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sync"
	"testing"
)

// Cobo's file names for the template keys, as the templates and a TSS Node
// spell them.
const (
	NodePrivateKeyFile   = "tss-node-callback-pri.pem"
	NodePublicKeyFile    = "tss-node-callback-pub.key"
	ServerPrivateKeyFile = "callback-server-pri.pem"
	ServerPublicKeyFile  = "callback-server-pub.key"
)

// keyDir is the embedded folder holding the four template key files.
const keyDir = "testdata/cobo-template-keys"

//go:embed testdata/cobo-template-keys
var keyFiles embed.FS

// Keys are Cobo's template key pairs: the TSS Node's callback key and the
// callback server's key.
type Keys struct {
	// Node signs requests as a TSS Node.
	Node *rsa.PrivateKey
	// NodePub verifies requests; a server under test trusts it.
	NodePub *rsa.PublicKey
	// Server signs replies as the callback server.
	Server *rsa.PrivateKey
	// ServerPub verifies replies.
	ServerPub *rsa.PublicKey
}

// parsedKeys parses the embedded keys once per test binary: every test
// gets the same values, and a broken fixture fails every caller alike.
var parsedKeys = sync.OnceValues(func() (Keys, error) {
	var k Keys
	var err error
	if k.Node, err = parsePrivate(NodePrivateKeyFile); err != nil {
		return Keys{}, err
	}
	if k.NodePub, err = parsePublic(NodePublicKeyFile); err != nil {
		return Keys{}, err
	}
	if k.Server, err = parsePrivate(ServerPrivateKeyFile); err != nil {
		return Keys{}, err
	}
	if k.ServerPub, err = parsePublic(ServerPublicKeyFile); err != nil {
		return Keys{}, err
	}
	if !k.Node.PublicKey.Equal(k.NodePub) || !k.Server.PublicKey.Equal(k.ServerPub) {
		return Keys{}, fmt.Errorf("testkit: %s: a public key does not match its private key", keyDir)
	}
	return k, nil
})

// CoboKeys returns Cobo's template keys, failing the test if the embedded
// fixture does not parse.
func CoboKeys(t testing.TB) Keys {
	t.Helper()
	k, err := parsedKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// CoboKeyPEM returns the PEM bytes of one template key file, by Cobo's
// file name (NodePrivateKeyFile and the others).
func CoboKeyPEM(t testing.TB, name string) []byte {
	t.Helper()
	b, err := keyFiles.ReadFile(path.Join(keyDir, name))
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	return b
}

// WriteCoboKeys writes the four template key files, under Cobo's file
// names, into a fresh temporary folder and returns it, for code under test
// that loads keys from files. The private keys get mode 0600, as a real
// deployment would give them.
func WriteCoboKeys(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for name, mode := range map[string]os.FileMode{
		NodePrivateKeyFile:   0o600,
		NodePublicKeyFile:    0o644,
		ServerPrivateKeyFile: 0o600,
		ServerPublicKeyFile:  0o644,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), CoboKeyPEM(t, name), mode); err != nil {
			t.Fatalf("testkit: %v", err)
		}
	}
	return dir
}

func pemBlock(name string) (*pem.Block, error) {
	b, err := keyFiles.ReadFile(path.Join(keyDir, name))
	if err != nil {
		return nil, fmt.Errorf("testkit: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("testkit: %s/%s: no PEM block", keyDir, name)
	}
	return block, nil
}

// parsePrivate reads a PKCS#1 RSA private key, the form Cobo publishes.
func parsePrivate(name string) (*rsa.PrivateKey, error) {
	block, err := pemBlock(name)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("testkit: %s/%s: %w", keyDir, name, err)
	}
	return k, nil
}

// parsePublic reads an SPKI RSA public key, the form Cobo publishes.
func parsePublic(name string) (*rsa.PublicKey, error) {
	block, err := pemBlock(name)
	if err != nil {
		return nil, err
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("testkit: %s/%s: %w", keyDir, name, err)
	}
	k, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("testkit: %s/%s: %T is not an RSA public key", keyDir, name, pub)
	}
	return k, nil
}
