package governance

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestAttack7HostileFileTypesDoNotHang: whoever can write the policy
// directory can replace POLICY.yaml.sigs (or the governance file) with a
// named pipe. readLimited opens it with a plain os.Open, which blocks
// until some writer opens the pipe: serve hangs at start instead of
// refusing, and a reload (the file watch, SIGHUP) hangs holding the
// policy holder's reload lock, so no later policy, signature, key or
// certificate reload ever completes. The commands (policy verify, sign)
// hang the same way. A file that is not a regular file must be refused
// at once (Lstat/Fstat before reading, or O_NONBLOCK).
func TestAttack7HostileFileTypesDoNotHang(t *testing.T) {
	cases := []struct {
		name string
		read func(path string) error
	}{
		{"signature bundle", func(p string) error { _, err := ReadBundle(p); return err }},
		{"governance file", func(p string) error { _, err := Load(p); return err }},
		{"private key", func(p string) error { _, err := LoadPrivateKey(p); return err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "POLICY.yaml.sigs")
			if err := syscall.Mkfifo(path, 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			done := make(chan error, 1)
			go func() { done <- tc.read(path) }()
			select {
			case err := <-done:
				if err == nil {
					t.Errorf("a named pipe was read as an empty %s without an error", tc.name)
				}
			case <-time.After(3 * time.Second):
				// Unblock the reader so the test ends: open the pipe for
				// writing and close it at once (end of file).
				if w, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
					w.Close()
				}
				<-done
				t.Errorf("reading a named pipe as the %s blocked for 3 s (a hostile file hangs serve and every reload)", tc.name)
			}
		})
	}
}
