package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tssgate/internal/protocol"
	"tssgate/internal/simulate"
	"tssgate/internal/token"
)

// buildBinary compiles tssgate once per test binary run.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func tssgateBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tssgate-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "tssgate")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = err
			buildOnce.path = string(out)
		}
	})
	if buildOnce.err != nil {
		t.Fatalf("building tssgate: %v\n%s", buildOnce.err, buildOnce.path)
	}
	return buildOnce.path
}

// startProcess runs `tssgate serve` as a child process and returns its
// base URL once it listens.
func startProcess(t *testing.T, bin string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0", "--log-format", "text"}, args...)...)
	cmd.Stderr = nil
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if m := listenRE.FindStringSubmatch(lines.Text()); m != nil {
			go func() {
				for lines.Scan() {
				}
			}()
			return cmd, m[1]
		}
	}
	t.Fatalf("tssgate serve did not start")
	return nil, ""
}

const approveKeysign = `version: 1
rules:
  - name: heartbeat
    when: request.type == "PING"
    action: approve
  - name: small-eth
    when: request.type == "KEYSIGN" && tx.verified && tx.amount <= decimal("1")
    action: approve
`

func TestCrashKeepsEveryApproval(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a real process")
	}
	bin := tssgateBinary(t)
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	writeAtomically(t, pol, approveKeysign)
	args := []string{"--dev", "--data-dir", dir, "--policy", pol}
	proc, url := startProcess(t, bin, args...)

	nodeKey, err := token.LoadPrivateKey(filepath.Join(dir, devNodeDir, devNodePriv))
	if err != nil {
		t.Fatal(err)
	}
	serverPub, err := token.LoadPublicKey(filepath.Join(dir, token.PublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := token.NewKeySet(token.NamedKey{Name: "server", Key: serverPub})
	node := &simulate.Node{BaseURL: url, Signer: &token.Signer{Key: nodeKey}, Server: &token.Verifier{Keys: keys}}

	var (
		mu       sync.Mutex
		approved []string
		wg       sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, err := simulate.NewRequest(protocol.V2, protocol.TypeKeySign, nil, nil)
				if err != nil {
					return
				}
				res, err := node.Check(ctx, protocol.V2, req)
				if err != nil {
					return // the server died: stop this worker
				}
				if res.Response.Approves() {
					mu.Lock()
					approved = append(approved, req.RequestID)
					mu.Unlock()
				}
			}
		}()
	}
	// Let approvals flow, then kill the server without warning.
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(approved)
		mu.Unlock()
		if n >= 40 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	proc.Wait()
	wg.Wait()
	cancel()
	if len(approved) < 10 {
		t.Fatalf("only %d approvals before the kill; the test needs a load", len(approved))
	}

	// Restart on the same store: it opens (WAL recovery) and serves.
	_, url2 := startProcess(t, bin, args...)
	node.BaseURL = url2
	for _, id := range approved {
		code, out, errOut := runCmd(t, "audit", "show", "--data-dir", dir, id)
		if code != 0 || !strings.Contains(out, `"action": "APPROVE"`) {
			t.Fatalf("approval %s received by the client is not in the log: exit %d %s %s", id, code, out, errOut)
		}
	}
	code, out, errOut := runCmd(t, "audit", "verify", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "chain intact") {
		t.Fatalf("audit verify after the crash: exit %d %s %s", code, out, errOut)
	}
	// A retry of a request approved before the crash gets the same answer.
	req, _ := simulate.NewRequest(protocol.V2, protocol.TypeKeySign, nil, nil)
	req.RequestID = approved[0]
	res, err := node.Check(context.Background(), protocol.V2, req)
	if err != nil || !res.Response.Approves() {
		t.Fatalf("retry after restart: %+v %v", res, err)
	}
	t.Logf("%d approvals before SIGKILL, all recorded; %s", len(approved), strings.TrimSpace(out))
}
