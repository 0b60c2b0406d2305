package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A named pipe where serve reads its configuration or a key file is
// refused at once, naming it, instead of blocking serve's start until
// somebody writes to the pipe.
func TestServeRefusesNamedPipes(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"config file", []string{"--config", fifo}},
		{"server key", []string{"--server-key", fifo}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--listen", "127.0.0.1:0", "--dev", "--data-dir", dir}, tc.args...)
			started, _, errOut := serveStarts(t, args...)
			if started || !strings.Contains(errOut, "not a regular file (a named pipe)") {
				t.Fatalf("started %v, stderr: %s", started, errOut)
			}
		})
	}
}
