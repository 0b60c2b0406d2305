package policy

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	holderPolicyA = "version: 1\nlists:\n  nodes: {file: nodes.txt}\nrules:\n  - {name: rule-a, when: '\"node-a\" in lists.nodes', action: approve}\n"
	holderPolicyB = "version: 1\nrules:\n  - {name: rule-b, when: 'true', action: approve}\n"
	holderBroken  = "version: 1\nrules:\n  - {name: broken, when: 'tx.amout > 1', action: approve}\n"
)

// newHolder writes files into a temporary directory and returns a Holder
// serving policy.yaml from it.
func newHolder(t *testing.T, files map[string]string) (*Holder, string) {
	t.Helper()
	dir := writeFiles(t, files)
	path := filepath.Join(dir, "policy.yaml")
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return NewHolder(path, p), dir
}

// writeFile replaces path atomically (write beside it, then rename), as
// the README tells operators to: os.WriteFile truncates first, and a
// watcher on a loaded machine may read the empty file in between, which
// is a second, different reload failure.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// ruleOf decides a PING through h and returns the deciding rule.
func ruleOf(t *testing.T, h *Holder) string {
	t.Helper()
	d, err := h.Decide(context.Background(), ping.build(t))
	if err != nil {
		t.Fatal(err)
	}
	return d.Rule
}

func TestHolderReload(t *testing.T) {
	h, dir := newHolder(t, map[string]string{"policy.yaml": holderPolicyA, "nodes.txt": "node-a\n"})
	path := filepath.Join(dir, "policy.yaml")
	first := h.Current()
	if got := ruleOf(t, h); got != "rule-a" || h.Err() != nil {
		t.Fatalf("initial: rule %q, Err %v", got, h.Err())
	}

	// A broken file keeps the old policy and records why.
	writeFile(t, path, holderBroken)
	err := h.Reload()
	var le *LoadError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "undefined field 'amout'") {
		t.Fatalf("Reload of a broken file: %v, want a *LoadError about amout", err)
	}
	if h.Current() != first || ruleOf(t, h) != "rule-a" {
		t.Fatal("a broken reload replaced the serving policy")
	}
	if h.Err() == nil || h.Err().Error() != err.Error() {
		t.Fatalf("Err = %v, want the reload error", h.Err())
	}

	// A missing file is an error too, and also keeps the old policy.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := h.Reload(); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Reload of a missing file: %v", err)
	}
	if ruleOf(t, h) != "rule-a" {
		t.Fatal("a failed reload replaced the serving policy")
	}

	// A good file replaces it and clears the error.
	writeFile(t, path, holderPolicyB)
	if err := h.Reload(); err != nil {
		t.Fatal(err)
	}
	if h.Err() != nil || ruleOf(t, h) != "rule-b" || h.Current().Version() == first.Version() {
		t.Fatalf("after a good reload: Err %v, rule %q, version %s", h.Err(), ruleOf(t, h), h.Current().Version())
	}
}

func TestNewHolderNil(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewHolder(nil) did not panic")
		}
	}()
	NewHolder("policy.yaml", nil)
}

// syncBuffer is a log sink safe to read while Watch writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// eventually polls cond for up to five seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHolderWatch(t *testing.T) {
	h, dir := newHolder(t, map[string]string{"policy.yaml": holderPolicyA, "nodes.txt": "node-b\n"})
	path, nodes := filepath.Join(dir, "policy.yaml"), filepath.Join(dir, "nodes.txt")
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		h.Watch(ctx, 10*time.Millisecond, log)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	if got := ruleOf(t, h); got != RuleDefault {
		t.Fatalf("initial: rule %q, want default (node-a is not listed)", got)
	}

	// A change to a list file alone is picked up.
	v0 := h.Current().Version()
	writeFile(t, nodes, "node-a\n")
	eventually(t, "the list change", func() bool { return h.Current().Version() != v0 })
	if got := ruleOf(t, h); got != "rule-a" {
		t.Fatalf("after the list change: rule %q, want rule-a", got)
	}
	eventually(t, "the reload log", func() bool { return strings.Contains(logs.String(), "policy reloaded") })

	// A broken policy keeps the old one, is logged, and shows in Err.
	v1 := h.Current().Version()
	writeFile(t, path, holderBroken)
	eventually(t, "the reload error", func() bool { return h.Err() != nil })
	if h.Current().Version() != v1 || ruleOf(t, h) != "rule-a" {
		t.Fatal("a broken file replaced the serving policy")
	}
	eventually(t, "the error log", func() bool { return strings.Contains(logs.String(), "policy reload failed") })

	// Fixing the file clears the error.
	writeFile(t, path, holderPolicyB)
	eventually(t, "the fixed policy", func() bool { return h.Err() == nil && h.Current().Version() != v1 })
	if got := ruleOf(t, h); got != "rule-b" {
		t.Fatalf("after the fix: rule %q, want rule-b", got)
	}
	if n := strings.Count(logs.String(), "policy reload failed"); n != 1 {
		t.Fatalf("the failure was logged %d times, want once:\n%s", n, logs.String())
	}
}

// TestHolderWatchMissingListAppears shows that a list file missing from a
// broken version is watched, so creating it fixes the policy without
// touching the policy file.
func TestHolderWatchMissingListAppears(t *testing.T) {
	h, dir := newHolder(t, map[string]string{"policy.yaml": holderPolicyB})
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
	writeFile(t, filepath.Join(dir, "policy.yaml"), holderPolicyA)
	eventually(t, "the missing list error", func() bool { return h.Err() != nil })
	writeFile(t, filepath.Join(dir, "nodes.txt"), "node-a\n")
	eventually(t, "the list to appear", func() bool { return h.Err() == nil && ruleOf(t, h) == "rule-a" })
}

// TestHolderConcurrent decides while reloading (run with -race).
func TestHolderConcurrent(t *testing.T) {
	h, dir := newHolder(t, map[string]string{"policy.yaml": holderPolicyB})
	path := filepath.Join(dir, "policy.yaml")
	req := ping.build(t)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				d, err := h.Decide(context.Background(), req)
				if err != nil || (d.Rule != "rule-b" && d.Rule != "other") {
					t.Errorf("Decide during reloads: %+v, %v", d, err)
					return
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		content := holderPolicyB
		if i%2 == 1 {
			content = strings.Replace(holderPolicyB, "rule-b", "other", 1)
		}
		writeFile(t, path, content)
		if err := h.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

// A gate that refuses keeps the current policy, and the refusal is the
// reload's error; the gate's extra file is watched, so that a change to
// it alone reloads.
func TestHolderGate(t *testing.T) {
	h, dir := newHolder(t, map[string]string{"policy.yaml": holderPolicyB, "nodes.txt": "node-a\n"})
	sigs := filepath.Join(dir, "policy.yaml.sigs")
	var mu sync.Mutex
	allow, calls := false, 0
	h.SetGate(func(p *Policy) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if !allow {
			return errors.New("not signed")
		}
		return nil
	}, sigs)
	writeFile(t, filepath.Join(dir, "policy.yaml"), holderPolicyA)
	if err := h.Reload(); err == nil || !strings.Contains(err.Error(), "not signed") {
		t.Fatalf("Reload with a refusing gate: %v", err)
	}
	if got := ruleOf(t, h); got != "rule-b" {
		t.Fatalf("a refused policy is serving: rule %q", got)
	}
	if h.Err() == nil {
		t.Fatal("Err is nil after a refused reload")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.Watch(ctx, 10*time.Millisecond, nil)
	// Watch's first reload (it starts without a baseline) is refused too;
	// then, with nothing changed, it does not reload again.
	waitCalls := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			c := calls
			mu.Unlock()
			if c >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("gate called %d times, want %d", c, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitCalls(2)
	mu.Lock()
	allow = true
	mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	if got := ruleOf(t, h); got != "rule-b" {
		t.Fatalf("Watch reloaded without a change: rule %q", got)
	}
	// Only the gate's file changes: Watch reloads, now allowed.
	writeFile(t, sigs, "signed\n")
	deadline := time.Now().Add(10 * time.Second)
	for ruleOf(t, h) != "rule-a" {
		if time.Now().After(deadline) {
			t.Fatal("a change of the gate's file did not reload the policy")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if h.Err() != nil {
		t.Fatalf("Err after an allowed reload: %v", h.Err())
	}
}
