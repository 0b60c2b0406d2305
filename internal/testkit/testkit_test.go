package testkit

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestCoboKeys(t *testing.T) {
	k := CoboKeys(t)
	pairs := []struct {
		name string
		priv *rsa.PrivateKey
		pub  *rsa.PublicKey
	}{
		{name: "node", priv: k.Node, pub: k.NodePub},
		{name: "server", priv: k.Server, pub: k.ServerPub},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			if p.priv.N.BitLen() < 2048 {
				t.Errorf("%d-bit key", p.priv.N.BitLen())
			}
			digest := sha256.Sum256([]byte("testkit"))
			sig, err := rsa.SignPKCS1v15(rand.Reader, p.priv, crypto.SHA256, digest[:])
			if err != nil {
				t.Fatal(err)
			}
			if err := rsa.VerifyPKCS1v15(p.pub, crypto.SHA256, digest[:], sig); err != nil {
				t.Fatalf("the public key does not verify its private key's signature: %v", err)
			}
		})
	}
	if k.Node.Equal(k.Server) {
		t.Error("node and server keys are the same")
	}
}

func TestWriteCoboKeys(t *testing.T) {
	dir := WriteCoboKeys(t)
	tests := []struct {
		file string
		mode os.FileMode
	}{
		{NodePrivateKeyFile, 0o600},
		{NodePublicKeyFile, 0o644},
		{ServerPrivateKeyFile, 0o600},
		{ServerPublicKeyFile, 0o644},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			p := filepath.Join(dir, tc.file)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, CoboKeyPEM(t, tc.file)) {
				t.Error("written file differs from the embedded key")
			}
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got&^tc.mode != 0 {
				t.Errorf("mode %v, want at most %v", got, tc.mode)
			}
		})
	}
}

// RequestToken verifies with an independent JWT implementation, pinned to
// RS256, and carries the package_data a node would send.
func TestRequestToken(t *testing.T) {
	k := CoboKeys(t)
	pd := []byte(`{"request_id":"r-1","request_type":0}`)
	tok := RequestToken(t, k.Node, pd)

	parsed, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return k.NodePub, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired())
	if err != nil {
		t.Fatalf("token does not verify: %v", err)
	}
	claims := parsed.Claims.(jwt.MapClaims)
	got, err := base64.StdEncoding.DecodeString(claims["package_data"].(string))
	if err != nil || !bytes.Equal(got, pd) {
		t.Fatalf("package_data %q (%v), want %q", got, err, pd)
	}
	if claims["iss"] != NodeIssuer {
		t.Errorf("iss = %v", claims["iss"])
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp.Before(time.Now()) || exp.After(time.Now().Add(3*time.Minute)) {
		t.Errorf("exp = %v (%v), want about two minutes ahead", exp, err)
	}
	if _, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return k.ServerPub, nil }); err == nil {
		t.Error("token verifies with another key")
	}
}

func TestFormBody(t *testing.T) {
	vals, err := url.ParseQuery(FormBody("a.b+c/d="))
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != 1 || len(vals[FormField]) != 1 || vals[FormField][0] != "a.b+c/d=" {
		t.Fatalf("form %v", vals)
	}
}

func TestStartServer(t *testing.T) {
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }),
		ReadHeaderTimeout: 3 * time.Second,
	}
	ts := StartServer(t, srv)
	if !strings.HasPrefix(ts.URL, "http://127.0.0.1:") {
		t.Errorf("URL %q is not loopback", ts.URL)
	}
	if ts.Config != srv {
		t.Error("StartServer did not serve the caller's http.Server")
	}
	resp, err := http.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "ok" {
		t.Fatalf("body %q", b)
	}
}
