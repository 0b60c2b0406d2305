package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tssgate/internal/token"
)

// TestAttack7FifoBundleHangsReloads: an intruder who can write the policy
// directory replaces POLICY.yaml.sigs with a named pipe for a moment. The
// file watch (which hashes every small watched file with os.ReadFile) and
// the gate's ReadBundle block on it forever, holding the reload path: when
// the operator then deploys a stricter policy with a proper bundle, it is
// never loaded and /readyz keeps answering 200 for the old one. Reading a
// watched or signed file must refuse anything but a regular file at once.
func TestAttack7FifoBundleHangsReloads(t *testing.T) {
	g := newGovernedServe(t, "")
	g.sign(t, g.pol, g.alice, g.bob)
	url, _, _ := startServeLogs(t, g.args()[2:]...)
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	// Runs before serve's own cleanup: releases any reader still blocked
	// on the pipe (a writer that opens and closes it is end of file).
	t.Cleanup(func() {
		for range 50 {
			w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
			if err != nil {
				return // no reader left
			}
			w.Close()
			time.Sleep(10 * time.Millisecond)
		}
	})
	bundle := g.pol + ".sigs"
	if err := os.Remove(bundle); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(fifo, bundle); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // several polls of 20 ms

	// The operator deploys a stricter policy, signed elsewhere under the
	// same names, with its bundle.
	stage := t.TempDir()
	// Serial 2: a changed governed policy needs a higher serial (fix7a).
	stricter := withSerial(strings.Replace(govPolicy, `decimal("1")`, `decimal("0.00001")`, 1), 2)
	writeAtomically(t, filepath.Join(stage, "POLICY.yaml"), stricter)
	writeAtomically(t, filepath.Join(stage, "nodes.txt"), mustRead(t, g.list))
	g.sign(t, filepath.Join(stage, "POLICY.yaml"), g.alice, g.bob)
	if err := os.Rename(filepath.Join(stage, "POLICY.yaml.sigs"), bundle); err != nil {
		t.Fatal(err)
	}
	writeAtomically(t, g.pol, stricter)

	n := 0
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		n++
		code, _, _ := runCmd(t, "simulate", "--url", url, "--type", "keysign", "--request-id", fmt.Sprintf("after-fifo-%d", n),
			"--node-key", filepath.Join(g.dir, devNodeDir, devNodePriv), "--server-pub", filepath.Join(g.dir, token.PublicKeyFile))
		if code == 1 {
			return // the stricter policy took over
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("8 s after a properly signed stricter policy was deployed, the old policy still approves (readyz %d): a named pipe left briefly in place of the bundle hung the reload path", readyz(t, url))
}
