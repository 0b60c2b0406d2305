package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"tssgate/internal/protocol"
	"tssgate/internal/token"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listenRE = regexp.MustCompile(`listening on (https?://[0-9.:]+)`)

// startServe runs `tssgate serve args...` in-process on 127.0.0.1:0 and
// returns its base URL and stdout once it listens. The server stops at test
// cleanup, and the test fails if it did not shut down cleanly.
func startServe(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	url, stdout, _ := startServeLogs(t, args...)
	return url, stdout
}

// startServeLogs is startServe that also returns the server's stderr, where
// its log lines go.
func startServeLogs(t *testing.T, args ...string) (string, *syncBuffer, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), stdout, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d; stderr:\n%s", code, stderr.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := listenRE.FindStringSubmatch(stdout.String()); m != nil {
			return m[1], stdout, stderr
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("serve exited %d before listening; stderr:\n%s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not start; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	return "", nil, nil
}

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// Every request type, v1 and v2, end to end over real HTTP: the dev-mode
// server and the simulator, with their built-in realistic samples.
func TestServeAndSimulateEveryType(t *testing.T) {
	dir := t.TempDir()
	url, _ := startServe(t, "--dev", "--data-dir", dir)
	simArgs := []string{"--url", url,
		"--node-key", filepath.Join(dir, devNodeDir, devNodePriv),
		"--server-pub", filepath.Join(dir, token.PublicKeyFile)}
	tests := []struct {
		typ      string
		wantCode int
		wantAct  protocol.Action
	}{
		{"ping", 0, protocol.ActionApprove},
		{"keygen", 1, protocol.ActionReject},
		{"keysign", 1, protocol.ActionReject},
		{"keyreshare", 1, protocol.ActionReject},
		{"keysharesign", 1, protocol.ActionReject},
	}
	for _, v := range []string{"v1", "v2"} {
		for _, tc := range tests {
			t.Run(v+"/"+tc.typ, func(t *testing.T) {
				code, out, errOut := runCmd(t, append([]string{"simulate", "--version", v, "--type", tc.typ, "--request-id", "e2e-" + v + "-" + tc.typ}, simArgs...)...)
				if code != tc.wantCode {
					t.Fatalf("exit %d, want %d; stdout %s stderr %s", code, tc.wantCode, out, errOut)
				}
				var resp protocol.CallbackResponse
				if err := json.Unmarshal([]byte(out), &resp); err != nil {
					t.Fatalf("stdout is not the reply JSON: %v\n%s", err, out)
				}
				if resp.Status != 0 || resp.Action != tc.wantAct || resp.RequestID != "e2e-"+v+"-"+tc.typ {
					t.Fatalf("reply %+v", resp)
				}
				if tc.wantAct == protocol.ActionReject && !strings.Contains(resp.Error, "no policy") {
					t.Fatalf("reject reason %q", resp.Error)
				}
			})
		}
	}
	t.Run("detail and extra from files", func(t *testing.T) {
		d := filepath.Join(dir, "detail.json")
		os.WriteFile(d, []byte(`{"threshold":2,"node_ids":["a","b","c"],"curve":0}`), 0o600)
		e := filepath.Join(dir, "extra.json")
		os.WriteFile(e, []byte(`{"cobo_id":"x"}`), 0o600)
		code, out, errOut := runCmd(t, append([]string{"simulate", "--version", "v1", "--type", "keygen", "--detail", d, "--extra", e}, simArgs...)...)
		if code != 1 {
			t.Fatalf("exit %d; %s %s", code, out, errOut)
		}
	})
	t.Run("wrong server key is exit 2", func(t *testing.T) {
		other := t.TempDir()
		if _, _, err := token.GenerateKeyPair(other, 2048, "a.pem", "a.pub"); err != nil {
			t.Fatal(err)
		}
		args := []string{"simulate", "--url", url, "--node-key", filepath.Join(dir, devNodeDir, devNodePriv), "--server-pub", filepath.Join(other, "a.pub")}
		if code, out, errOut := runCmd(t, args...); code != 2 {
			t.Fatalf("exit %d, want 2; %s %s", code, out, errOut)
		}
	})
	t.Run("untrusted node key gets status 20, exit 2", func(t *testing.T) {
		other := t.TempDir()
		if _, _, err := token.GenerateKeyPair(other, 2048, "n.pem", "n.pub"); err != nil {
			t.Fatal(err)
		}
		args := []string{"simulate", "--url", url, "--node-key", filepath.Join(other, "n.pem"), "--server-pub", filepath.Join(dir, token.PublicKeyFile)}
		code, out, errOut := runCmd(t, args...)
		if code != 2 || !strings.Contains(out, `"status": 20`) {
			t.Fatalf("exit %d, out %s, stderr %s", code, out, errOut)
		}
	})
	t.Run("load mode", func(t *testing.T) {
		code, out, errOut := runCmd(t, append([]string{"simulate", "--type", "ping", "--n", "40", "--c", "4"}, simArgs...)...)
		if code != 0 || !strings.Contains(out, "40") {
			t.Fatalf("exit %d; %s %s", code, out, errOut)
		}
	})
	t.Run("transport failure is exit 2", func(t *testing.T) {
		args := []string{"simulate", "--url", "http://127.0.0.1:1", "--node-key", simArgs[3], "--server-pub", simArgs[5]}
		if code, _, _ := runCmd(t, args...); code != 2 {
			t.Fatalf("exit %d, want 2", code)
		}
	})
}

// With no configuration at all serve runs on embedded defaults in the
// working directory: it generates the server key pair, prints its public key
// path, and without a TSS Node key answers every check with status 20.
func TestServeEmbeddedDefaults(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, k := range []string{"TSSGATE_CONFIG", "TSSGATE_DATA_DIR", "TSSGATE_TSS_NODE_PUB", "TSSGATE_SERVER_KEY", "TSSGATE_DEV"} {
		t.Setenv(k, "")
	}
	url, stdout := startServe(t)
	pub := filepath.Join("tssgate-data", token.PublicKeyFile)
	if !strings.Contains(stdout.String(), pub) || !strings.Contains(stdout.String(), "NO TSS NODE PUBLIC KEY") {
		t.Fatalf("stdout does not name the public key and the missing node key:\n%s", stdout.String())
	}
	fi, err := os.Stat(filepath.Join(dir, "tssgate-data", token.PrivateKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key: %v %v", fi, err)
	}
	// A node key the server does not know: status 20, exit 2.
	if _, _, err := token.GenerateKeyPair(filepath.Join(dir, "node"), 2048, "n.pem", "n.pub"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, "simulate", "--url", url, "--node-key", filepath.Join(dir, "node", "n.pem"), "--server-pub", pub)
	if code != 2 || !strings.Contains(out, `"status": 20`) {
		t.Fatalf("exit %d, out %s, stderr %s", code, out, errOut)
	}
	resp, err := http.Get(url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz %d, want 503 without a TSS Node key", resp.StatusCode)
	}
}

// A Cobo template config file works as is, TLS included.
func TestServeCoboConfigAndTLS(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := token.GenerateKeyPair(dir, 2048, "callback-server-pri.pem", "callback-server-pub.key"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := token.GenerateKeyPair(dir, 2048, "tss-node-callback-pri.pem", "tss-node-callback-pub.key"); err != nil {
		t.Fatal(err)
	}
	cert, key := writeSelfSigned(t, dir)
	cfgPath := filepath.Join(dir, "callback-server-config.yaml")
	cfg := fmt.Sprintf(`callback_server:
  endpoint: 127.0.0.1:0
  service_name: gate-test
  client_public_key_path: %s/tss-node-callback-pub.key
  service_private_key_path: %s/callback-server-pri.pem
  token_expire_minutes: 3
  enable_debug: false
tssgate:
  data_dir: %s/data
  tls_cert: %s
  tls_key: %s
`, dir, dir, dir, cert, key)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	url, _ := startServe(t, "--config", cfgPath)
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("url %s, want https", url)
	}
	code, out, errOut := runCmd(t, "simulate", "--url", url, "--ca-cert", cert, "--type", "ping",
		"--node-key", filepath.Join(dir, "tss-node-callback-pri.pem"), "--server-pub", filepath.Join(dir, "callback-server-pub.key"))
	if code != 0 {
		t.Fatalf("exit %d; %s %s", code, out, errOut)
	}
}

func TestKeygen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	code, out, errOut := runCmd(t, "keygen", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	priv := filepath.Join(dir, token.PrivateKeyFile)
	if !strings.Contains(out, priv) {
		t.Errorf("output does not name %s: %s", priv, out)
	}
	fi, err := os.Stat(priv)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode: %v %v", fi, err)
	}
	k, err := token.LoadPrivateKey(priv)
	if err != nil || k.N.BitLen() != 2048 {
		t.Fatalf("load: %v", err)
	}
	before, _ := os.ReadFile(priv)
	if code, _, errOut := runCmd(t, "keygen", "--out", dir); code == 0 || !strings.Contains(errOut, "exist") {
		t.Fatalf("second keygen exit %d, stderr %q: want a refusal", code, errOut)
	}
	after, _ := os.ReadFile(priv)
	if !bytes.Equal(before, after) {
		t.Fatal("keygen overwrote the private key")
	}
	if code, _, _ := runCmd(t, "keygen", "--out", t.TempDir(), "--bits", "1024"); code == 0 {
		t.Fatal("keygen --bits 1024 succeeded")
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"serve", "--help"}, {"keygen", "--help"}, {"simulate", "--help"}, {"help"}} {
		code, out, errOut := runCmd(t, args...)
		if code != 0 || len(out+errOut) < 100 {
			t.Errorf("%v: exit %d, output %q", args, code, out+errOut)
		}
	}
	if code, out, _ := runCmd(t, "version"); code != 0 || !strings.HasPrefix(out, "tssgate ") {
		t.Errorf("version: %d %q", code, out)
	}
	if code, _, _ := runCmd(t, "frobnicate"); code != 2 {
		t.Errorf("unknown command exit %d", code)
	}
}

// writeSelfSigned writes a self-signed certificate for 127.0.0.1.
func writeSelfSigned(t *testing.T, dir string) (string, string) {
	t.Helper()
	certPEM, keyPEM := selfSigned(t)
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(cert, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}
