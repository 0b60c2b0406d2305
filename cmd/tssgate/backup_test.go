package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"tssgate/internal/protocol"
	"tssgate/internal/simulate"
	"tssgate/internal/store/backend"
)

// TestAuditBackupUnderLoad (issue 13): `audit backup` copies the SQLite
// store while serve commits decisions from several goroutines; the copy's
// chain verifies and holds every decision answered before the backup
// began. `audit verify --head` then tells a copy that lacks a later
// anchored head (a truncated tail) from the live log that has it, and
// serve logs the head an anchor is taken from.
func TestAuditBackupUnderLoad(t *testing.T) {
	dir := t.TempDir()
	base, _, logs := startServeLogs(t, "--dev", "--data-dir", dir, "--head-log-interval", "1s")
	node := devNode(t, dir, base)
	dsn := "sqlite:" + filepath.Join(dir, "tssgate.db")

	var (
		mu       sync.Mutex
		answered []string // request_ids whose reply came back
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, err := simulate.NewRequest(protocol.V2, protocol.TypeKeyGen, nil, nil)
				if err != nil {
					t.Error(err)
					return
				}
				res, err := node.Check(context.Background(), protocol.V2, req)
				if err != nil || res.Response.Status != protocol.StatusOK {
					t.Errorf("check under load: %v %+v", err, res)
					return
				}
				mu.Lock()
				answered = append(answered, req.RequestID)
				mu.Unlock()
			}
		}()
	}
	waitAnswered := func(n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			got := len(answered)
			mu.Unlock()
			if got >= n {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("fewer than %d decisions answered", n)
	}
	waitAnswered(40)
	mu.Lock()
	before := append([]string(nil), answered...)
	mu.Unlock()
	out := filepath.Join(t.TempDir(), "backup.db")
	code, stdout, stderr := runCmd(t, "audit", "backup", "--store", dsn, "--out", out)
	if code != 0 || !strings.Contains(stdout, "chain intact") {
		t.Fatalf("audit backup: exit %d\n%s%s", code, stdout, stderr)
	}
	waitAnswered(len(before) + 20) // the load went on during and after the copy
	close(stop)
	wg.Wait()

	cp, err := backend.OpenReadOnly(context.Background(), "sqlite:"+out)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range before {
		if _, err := cp.Get(context.Background(), id); err != nil {
			t.Errorf("decision %s, answered before the backup, is not in it: %v", id, err)
		}
	}
	rep, err := cp.Verify(context.Background())
	cp.Close()
	if err != nil || rep.Break != nil || rep.Rows < int64(len(before)) {
		t.Fatalf("backup verify: %v %+v", err, rep)
	}

	verifyJSONOf := func(args ...string) (int, verifyJSON) {
		t.Helper()
		code, stdout, stderr := runCmd(t, append([]string{"audit", "verify", "--json"}, args...)...)
		var v verifyJSON
		if err := json.Unmarshal([]byte(stdout), &v); err != nil {
			t.Fatalf("audit verify --json %v: %v\n%s%s", args, err, stdout, stderr)
		}
		return code, v
	}
	code, live := verifyJSONOf("--store", dsn)
	if code != 0 || live.FirstBroken != nil || live.Decisions <= rep.Rows || live.Head == rep.Head {
		t.Fatalf("live verify: exit %d %+v (backup had %d rows)", code, live, rep.Rows)
	}
	// The copy lacks the live head: a truncated tail is detected.
	if code, v := verifyJSONOf("--store", "sqlite:"+out, "--head", live.Head); code != 1 || v.Anchor == nil || v.Anchor.Found {
		t.Errorf("backup verified against a later head: exit %d %+v", code, v)
	}
	code, stdout, _ = runCmd(t, "audit", "verify", "--store", "sqlite:"+out, "--head", live.Head)
	if code != 1 {
		t.Errorf("text verify of a truncated copy: exit %d %s", code, stdout)
	}
	// The live log contains the copy's head, and its own.
	headFile := filepath.Join(t.TempDir(), "head")
	writeAtomically(t, headFile, rep.Head+"\n")
	if code, v := verifyJSONOf("--store", dsn, "--head-file", headFile); code != 0 || !v.Anchor.Found || v.Anchor.Seq != rep.Rows {
		t.Errorf("live verify with the backup's head: exit %d %+v", code, v)
	}
	if code, _, errOut := runCmd(t, "audit", "verify", "--store", dsn, "--head", "nothex"); code != 2 || !strings.Contains(errOut, "64 lower-case hex") {
		t.Errorf("a malformed head: exit %d %s", code, errOut)
	}
	// A second backup onto an existing file is refused and leaves it alone.
	if code, _, errOut := runCmd(t, "audit", "backup", "--store", dsn, "--out", out); code != 1 || !strings.Contains(errOut, "exists") {
		t.Errorf("backup onto an existing file: exit %d %s", code, errOut)
	}

	// serve logs the live head within a couple of intervals.
	headRE := regexp.MustCompile(`"msg":"decision log head","seq":(\d+),"head":"` + live.Head + `"`)
	deadline := time.Now().Add(10 * time.Second)
	for !headRE.MatchString(logs.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("serve never logged the head %s; logs:\n%s", live.Head, tail(logs.String(), 2000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
