package policy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSerial: a top-level serial is a positive decimal integer, reported
// by Serial and Summary; anything else refuses the policy naming file,
// line and field; a policy without one has serial 0.
func TestSerial(t *testing.T) {
	const rules = "rules:\n  - {name: p, when: 'request.type == \"PING\"', action: approve}\n"
	good := []struct {
		name, src string
		want      uint64
	}{
		{"none", "version: 1\n" + rules, 0},
		{"one", "version: 1\nserial: 1\n" + rules, 1},
		{"large", "version: 1\nserial: 999999999999999\n" + rules, 999999999999999},
		{"after rules", "version: 1\n" + rules + "serial: 42\n", 42},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("test.yaml", []byte(tt.src), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if p.Serial() != tt.want || p.Summary().Serial != tt.want {
				t.Fatalf("serial %d, summary %d, want %d", p.Serial(), p.Summary().Serial, tt.want)
			}
			line := "serial none"
			if tt.want > 0 {
				line = "serial " + strings.TrimSpace(strings.SplitN(strings.SplitN(tt.src, "serial: ", 2)[1], "\n", 2)[0])
			}
			if !strings.Contains(p.Summary().String(), "\n"+line) {
				t.Fatalf("summary does not print %q:\n%s", line, p.Summary().String())
			}
		})
	}
	bad := []struct{ name, value string }{
		{"zero", "0"},
		{"negative", "-1"},
		{"string", `"1"`},
		{"float", "1.5"},
		{"hex", "0x10"},
		{"leading zero", "07"},
		{"sixteen digits", "1000000000000000"},
		{"null", "null"},
		{"list", "[1]"},
	}
	for _, tt := range bad {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			_, err := Parse("test.yaml", []byte("version: 1\nserial: "+tt.value+"\n"+rules), t.TempDir())
			if err == nil || !strings.Contains(err.Error(), "test.yaml:2: serial: must be a positive integer") {
				t.Fatalf("got %v, want test.yaml:2: serial: must be a positive integer", err)
			}
		})
	}
}

// TestLoadRefusesNonRegularFiles: a named pipe or a directory as the
// policy or a list file is refused at once, naming it, instead of
// blocking the loader until some writer opens the pipe.
func TestLoadRefusesNonRegularFiles(t *testing.T) {
	tests := []struct {
		name, special string // the file made special, relative to the directory
		pipe          bool   // a named pipe; otherwise a directory
		want          string
	}{
		{"policy is a pipe", "policy.yaml", true, "is not a regular file (a named pipe)"},
		{"list is a pipe", "nodes.txt", true, "is not a regular file (a named pipe)"},
		{"list is a directory", "nodes.txt", false, "is not a regular file (a directory)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"policy.yaml": holderPolicyA})
			special := filepath.Join(dir, tt.special)
			os.Remove(special)
			if tt.pipe {
				if err := syscall.Mkfifo(special, 0o644); err != nil {
					t.Skipf("mkfifo: %v", err)
				}
			} else if err := os.Mkdir(special, 0o755); err != nil {
				t.Fatal(err)
			}
			err := withinSeconds(t, special, func() error { _, err := Load(filepath.Join(dir, "policy.yaml")); return err })
			if err == nil || !strings.Contains(err.Error(), special) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q naming %s", err, tt.want, special)
			}
		})
	}
}

// TestHolderWatchPipeInPlaceOfList: a list file swapped for a named pipe
// makes the watch's reload fail (the old policy stays, Err names the
// pipe) without blocking it, and a regular file put back reloads.
func TestHolderWatchPipeInPlaceOfList(t *testing.T) {
	h, dir := newHolder(t, map[string]string{"policy.yaml": holderPolicyA, "nodes.txt": "node-b\n"})
	nodes := filepath.Join(dir, "nodes.txt")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		h.Watch(ctx, 10*time.Millisecond, nil)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	v0 := h.Current().Version()
	if err := os.Remove(nodes); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(nodes, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	err := withinSeconds(t, nodes, func() error {
		for h.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		return h.Err()
	})
	if !strings.Contains(err.Error(), "is not a regular file (a named pipe)") || h.Current().Version() != v0 {
		t.Fatalf("reload error %v, version changed %v", err, h.Current().Version() != v0)
	}
	if err := os.Remove(nodes); err != nil {
		t.Fatal(err)
	}
	writeFile(t, nodes, "node-a\n")
	eventually(t, "the regular list file back", func() bool { return h.Err() == nil && ruleOf(t, h) == "rule-a" })
}

// withinSeconds runs fn and fails the test if it takes more than three
// seconds, after releasing any reader blocked on the named pipe at pipe
// (a writer that opens and closes it is end of file for the reader).
func withinSeconds(t *testing.T, pipe string, fn func() error) error {
	t.Helper()
	res := make(chan error, 1)
	go func() { res <- fn() }()
	select {
	case err := <-res:
		return err
	case <-time.After(3 * time.Second):
		for range 100 {
			if w, err := os.OpenFile(pipe, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				w.Close()
			}
			select {
			case <-res:
				t.Fatalf("blocked for 3 s on the named pipe %s", pipe)
			case <-time.After(10 * time.Millisecond):
			}
		}
		t.Fatalf("blocked for 3 s on the named pipe %s, and still blocked", pipe)
		return nil
	}
}
