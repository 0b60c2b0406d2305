package main

import (
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"tssgate/internal/protocol"
	"tssgate/internal/token"
)

// freeLoopbackAddr returns a loopback host:port nothing listens on now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// The README's dev quick start cannot race: `serve --dev &` followed at
// once by `simulate --type ping` approves. Here simulate starts first, on a
// fresh data folder with no keys yet, and serve only after it.
func TestQuickStartSimulateBeforeServe(t *testing.T) {
	dir := t.TempDir()
	addr := freeLoopbackAddr(t)

	type result struct {
		code        int
		out, errOut string
	}
	simDone := make(chan result, 1)
	go func() {
		code, out, errOut := runCmd(t, "simulate", "--type", "ping", "--wait", "60s",
			"--url", "http://"+addr,
			"--node-key", filepath.Join(dir, devNodeDir, devNodePriv),
			"--server-pub", filepath.Join(dir, token.PublicKeyFile))
		simDone <- result{code, out, errOut}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	serveDone := make(chan int, 1)
	go func() {
		serveDone <- run(ctx, []string{"serve", "--dev", "--data-dir", dir, "--listen", addr}, stdout, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-serveDone; code != 0 {
			t.Errorf("serve exited %d; stderr:\n%s", code, stderr.String())
		}
	})

	var r result
	select {
	case r = <-simDone:
	case code := <-serveDone:
		serveDone <- code
		t.Fatalf("serve exited %d first; stderr:\n%s", code, stderr.String())
	}
	if r.code != 0 {
		t.Fatalf("simulate exit %d, want 0; stdout %s\nstderr %s\nserve stderr %s", r.code, r.out, r.errOut, stderr.String())
	}
	var resp protocol.CallbackResponse
	if err := json.Unmarshal([]byte(r.out), &resp); err != nil || resp.Action != protocol.ActionApprove {
		t.Fatalf("reply %+v (%v), want APPROVE:\n%s", resp, err, r.out)
	}
}

// When what simulate waits for does not appear, it says which file or
// address is missing and what to do, and exits 2.
func TestSimulateSaysWhatIsMissing(t *testing.T) {
	dir := t.TempDir()
	priv, pub, err := token.GenerateKeyPair(filepath.Join(dir, "keys"), 2048, "node.pem", "server.pub")
	if err != nil {
		t.Fatal(err)
	}
	addr := freeLoopbackAddr(t)
	missing := filepath.Join(dir, "nothing-here.pem")
	tests := []struct {
		name      string
		nodeKey   string
		serverPub string
		want      []string
	}{
		{name: "no node key", nodeKey: missing, serverPub: pub,
			want: []string{"the TSS Node key file " + missing + " is not there after waiting 200ms", "run 'tssgate serve --dev'"}},
		{name: "no server public key", nodeKey: priv, serverPub: missing,
			want: []string{"the server public key file " + missing + " is not there after waiting 200ms", "--server-pub"}},
		{name: "no server", nodeKey: priv, serverPub: pub,
			want: []string{"the server at " + addr + " is not there after waiting 200ms", "is 'tssgate serve' running"}},
	}
	t.Run("negative wait", func(t *testing.T) {
		code, _, errOut := runCmd(t, "simulate", "--wait", "-1s", "--url", "http://"+addr, "--node-key", priv, "--server-pub", pub)
		if code != 2 || !strings.Contains(errOut, "--wait must not be negative") {
			t.Fatalf("exit %d, stderr %s", code, errOut)
		}
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, "simulate", "--type", "ping", "--wait", "200ms",
				"--url", "http://"+addr, "--node-key", tc.nodeKey, "--server-pub", tc.serverPub)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stdout %s stderr %s", code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr does not say %q:\n%s", w, errOut)
				}
			}
		})
	}
}
