package storetest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"tssgate/internal/store"
)

// EnvCrashChild tells a test binary that it runs as the child of
// CrashParent; its value is the DSN or path the child must open.
const EnvCrashChild = "TSSGATE_STORE_CRASH_CHILD"

// crashAckPrefix starts each line the child prints after a Commit returned.
const crashAckPrefix = "acked "

// CrashChild is the body of the child process: it commits APPROVEs (each
// consuming a limit) from four goroutines and prints one line per Commit
// that returned, until it is killed, or for at most 30 seconds so that a
// child whose parent died does not run on.
func CrashChild(t *testing.T, s store.Store) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var mu sync.Mutex // one whole line per write
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				id := fmt.Sprintf("crash-%d-%d", w, i)
				rec := NewRecord(id)
				rec.ReceivedAt = time.Now()
				use := store.LimitUse{Limit: "crash", Key: "k", Window: time.Hour, Amount: dec("1"), MaxAmount: decPtr("1000000000")}
				got, _, err := s.Commit(context.Background(), rec, []store.LimitUse{use})
				if err != nil {
					fmt.Fprintf(os.Stderr, "commit %s: %v\n", id, err)
					return
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "%s%s %s\n", crashAckPrefix, id, got.Action)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// CrashParent runs the test named childTest of the current binary as a
// child process with EnvCrashChild=target, lets it acknowledge at least
// minAcks commits, kills it with SIGKILL in the middle of its load, then
// reopens the store with reopen and checks what a crash must not break:
// every acknowledged decision is there as acknowledged, and the hash chain
// verifies.
func CrashParent(t *testing.T, childTest, target string, minAcks int, reopen func(t *testing.T) store.Store) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+childTest+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), EnvCrashChild+"="+target)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]string{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), crashAckPrefix)
		if !ok {
			continue
		}
		id, action, _ := strings.Cut(line, " ")
		acked[id] = action
		if len(acked) == minAcks {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred cleanup runs
				t.Fatal(err)
			}
		}
	}
	// Lines already in the pipe when the child died were acknowledged too.
	cmd.Wait()
	if len(acked) < minAcks {
		t.Fatalf("child acknowledged %d commits before it ended, want %d; stderr:\n%s", len(acked), minAcks, stderr.String())
	}

	s := reopen(t)
	ctx := context.Background()
	for id, action := range acked {
		got, err := s.Get(ctx, id)
		if err != nil {
			t.Errorf("acknowledged %s lost after the crash: %v", id, err)
			continue
		}
		if got.Action != action {
			t.Errorf("%s: action %s after the crash, acknowledged %s", id, got.Action, action)
		}
	}
	rep, err := s.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Break != nil || rep.Rows < int64(len(acked)) {
		t.Errorf("Verify after the crash: rows %d, break %+v; want >= %d intact rows", rep.Rows, rep.Break, len(acked))
	}
	// The store still takes commits and its ledger agrees with the log.
	Commit(t, s, NewRecord("after-crash"))
	u, err := s.LimitUsage(ctx, time.Now(), map[string]time.Duration{"crash": time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if len(u) != 1 || u[0].Count != rep.Rows {
		t.Errorf("ledger after the crash: %+v, want one entry counting all %d decisions", u, rep.Rows)
	}
	t.Logf("killed the child after %d acknowledged commits; %d rows recovered", len(acked), rep.Rows)
}
