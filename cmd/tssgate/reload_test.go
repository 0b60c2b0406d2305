package main

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"tssgate/internal/protocol"
	"tssgate/internal/simulate"
	"tssgate/internal/token"
)

// genKey writes a fresh RSA key pair under dir/name and returns both.
func genKey(t *testing.T, dir, name string) (*rsa.PrivateKey, string, string) {
	t.Helper()
	priv, pub, err := token.GenerateKeyPair(filepath.Join(dir, name), 2048, "pri.pem", "pub.key")
	if err != nil {
		t.Fatal(err)
	}
	k, err := token.LoadPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return k, priv, pub
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeAtomically(t, to, string(b))
}

// TestServeReloadKeysUnderLoad (issue 13): SIGHUP swaps the TSS Node keys,
// the server key pair and the TLS certificate while PINGs keep coming,
// and no request fails; a broken key file keeps the old set, makes
// /readyz 503 naming it, and a fixed one clears it.
func TestServeReloadKeysUnderLoad(t *testing.T) {
	dir := t.TempDir()
	nodeOld, _, nodeOldPub := genKey(t, dir, "node-old")
	nodeNew, _, nodeNewPub := genKey(t, dir, "node-new")
	_, _, placeholderPub := genKey(t, dir, "placeholder")
	s1, s1Priv, _ := genKey(t, dir, "server-1")
	s2, s2Priv, _ := genKey(t, dir, "server-2")
	c1, k1 := selfSigned(t)
	c2, k2 := selfSigned(t)

	oldPath, newPath := filepath.Join(dir, "old.pub"), filepath.Join(dir, "new.pub")
	copyFile(t, nodeOldPub, oldPath)
	copyFile(t, placeholderPub, newPath)
	srvKey := filepath.Join(dir, "server.pem")
	copyFile(t, s1Priv, srvKey)
	certPath, keyPath := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeAtomically(t, certPath, string(c1))
	writeAtomically(t, keyPath, string(k1))

	base, _, logs := startServeLogs(t, "--data-dir", filepath.Join(dir, "data"), "--server-key", srvKey,
		"--tss-node-pub", "node-old="+oldPath, "--tss-node-pub", "node-new="+newPath,
		"--tls-cert", certPath, "--tls-key", keyPath, "--metrics-listen", "")

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c1)
	pool.AppendCertsFromPEM(c2)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	both, _ := token.NewKeySet(token.NamedKey{Name: "s1", Key: &s1.PublicKey}, token.NamedKey{Name: "s2", Key: &s2.PublicKey})
	node := func(k *rsa.PrivateKey, server *token.KeySet) *simulate.Node {
		return &simulate.Node{BaseURL: base, HTTP: client, Signer: &token.Signer{Key: k}, Server: &token.Verifier{Keys: server}}
	}
	var current atomic.Pointer[simulate.Node]
	current.Store(node(nodeOld, both))

	var (
		stop   = make(chan struct{})
		wg     sync.WaitGroup
		served atomic.Int64
	)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := simulate.NewRequest(protocol.V2, protocol.TypePing, nil, nil)
				res, err := current.Load().Check(context.Background(), protocol.V2, req)
				if err != nil || !res.Response.Approves() {
					t.Errorf("PING during reloads: %v %+v", err, res)
					return
				}
				served.Add(1)
			}
		}()
	}
	reloads := func() int { return strings.Count(logs.String(), `"msg":"reloaded","subject":"tls_certificate"`) }
	hup := func() {
		t.Helper()
		n := reloads()
		failed := strings.Count(logs.String(), `"msg":"reload failed`)
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for reloads() == n && strings.Count(logs.String(), `"msg":"reload failed`) == failed {
			if time.Now().After(deadline) {
				t.Fatalf("no reload after SIGHUP; logs:\n%s", tail(logs.String(), 2000))
			}
			time.Sleep(10 * time.Millisecond)
		}
		// Let the load run on the new set.
		for m := served.Load(); served.Load() < m+10; {
			time.Sleep(5 * time.Millisecond)
		}
	}
	certOf := func() [32]byte {
		t.Helper()
		conn, err := tls.Dial("tcp", strings.TrimPrefix(base, "https://"), &tls.Config{RootCAs: pool})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return sha256.Sum256(conn.ConnectionState().PeerCertificates[0].Raw)
	}
	readyz := func() (int, string) {
		t.Helper()
		resp, err := client.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	der := func(p []byte) [32]byte { b, _ := pem.Decode(p); return sha256.Sum256(b.Bytes) }
	for served.Load() < 20 {
		time.Sleep(5 * time.Millisecond)
	}
	if certOf() != der(c1) {
		t.Fatal("not serving the first certificate")
	}

	// Rotate: the new node key, the second server key, the second certificate.
	copyFile(t, nodeNewPub, newPath)
	copyFile(t, s2Priv, srvKey)
	writeAtomically(t, certPath, string(c2))
	writeAtomically(t, keyPath, string(k2))
	hup()
	if certOf() != der(c2) {
		t.Error("SIGHUP did not swap the TLS certificate")
	}
	onlyS2, _ := token.NewKeySet(token.NamedKey{Name: "s2", Key: &s2.PublicKey})
	req, _ := simulate.NewRequest(protocol.V2, protocol.TypePing, nil, nil)
	if res, err := node(nodeNew, onlyS2).Check(context.Background(), protocol.V2, req); err != nil || !res.Response.Approves() {
		t.Errorf("the new node key, reply by the new server key: %v %+v", err, res)
	}
	current.Store(node(nodeNew, onlyS2))

	// A broken file keeps the old set and makes /readyz say so.
	writeAtomically(t, oldPath, "not a key\n")
	hup()
	if code, body := readyz(); code != http.StatusServiceUnavailable || !strings.Contains(body, "reload_tss_node_keys") {
		t.Errorf("/readyz after a broken key file: %d %s", code, body)
	}
	// Retire the old key: it no longer verifies.
	copyFile(t, placeholderPub, oldPath)
	hup()
	if code, body := readyz(); code != http.StatusOK {
		t.Errorf("/readyz after the fix: %d %s", code, body)
	}
	req, _ = simulate.NewRequest(protocol.V2, protocol.TypePing, nil, nil)
	if res, err := node(nodeOld, onlyS2).Check(context.Background(), protocol.V2, req); err != nil || res.Response.Status != protocol.StatusInvalidToken {
		t.Errorf("the retired node key: %v %+v", err, res)
	}
	close(stop)
	wg.Wait()
	if served.Load() < 50 {
		t.Errorf("only %d PINGs served under load", served.Load())
	}
}
