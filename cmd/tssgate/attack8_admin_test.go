package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAttack8AdminFreezeBlockedBySlowBodies: the metrics/admin listener
// caps connections at 32 and makes room by closing the longest-waiting
// one, but a connection whose request headers are in counts as busy
// (http.StateActive) and is never displaced. Anyone who can reach the
// listener (no token needed: the Prometheus network) opens 32 connections
// that send complete headers of an unauthenticated POST /admin/freeze
// with a Content-Length and then trickle the body: the handler answers
// 401 at once, but net/http keeps the connection active while it
// discards the unread body, for up to read_timeout (10 s by default), and
// the limiter accepts nothing meanwhile. Dialled again as soon as they
// are closed, they hold the emergency endpoint round after round; the
// operator's authenticated freeze gets in only when it wins a slot in the
// churn. (Slow headers alone do not do it: a connection stays
// displaceable until its headers are read.) The freeze endpoint must be
// reachable with the token at once whatever unauthenticated connections
// do: its own listener or reserved slots, or closing a connection whose
// request was refused instead of draining its body.
func TestAttack8AdminFreezeBlockedBySlowBodies(t *testing.T) {
	tok := "0123456789abcdef0123456789abcdef"
	tokFile := writeToken(t, t.TempDir(), 0o600, tok)
	_, maddr, _, _ := startMetricsServe(t, "--admin-token-file", tokFile)
	ctx, cancel := context.WithCancel(context.Background())
	// 32 busy connections first; once they are busy the limiter stops
	// accepting, and 400 more wait in the accept backlog. Each sends its
	// headers at once and a body byte every 500 ms after, and is dialled
	// again when the server closes it (as an attacker would).
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	attack := func(n int) {
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					c, err := (&net.Dialer{}).DialContext(ctx, "tcp", maddr)
					if err != nil {
						time.Sleep(10 * time.Millisecond)
						continue
					}
					stop := context.AfterFunc(ctx, func() { c.Close() })
					_, err = io.WriteString(c, "POST /admin/freeze HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n")
					for err == nil && ctx.Err() == nil {
						time.Sleep(500 * time.Millisecond)
						_, err = io.WriteString(c, "X")
					}
					stop()
					c.Close()
				}
			}()
		}
	}
	attack(32)
	time.Sleep(time.Second)
	// The operator's freeze, with the token, retried for 3 s: an
	// emergency stop that answers within seconds when nobody interferes.
	deadline := time.Now().Add(3 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		req, err := http.NewRequest(http.MethodPost, "http://"+maddr+"/admin/freeze", strings.NewReader(`{"reason":"incident"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		client := &http.Client{Timeout: time.Until(deadline), Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("admin freeze: status %d", resp.StatusCode)
		}
		return
	}
	t.Fatalf("the authenticated POST /admin/freeze did not get through in 3 s while unauthenticated slow-body connections held the admin listener: %v", lastErr)
}

// TestAttack8AdminFreezeAbsorbedByEarlierFreeze: while frozen, POST
// /admin/freeze records nothing and answers the freeze in force. A token
// holder (a leaked pager token, a careless bot) who freezes first with
// a harmless reason ("scheduled drill") absorbs every later admin
// freeze: the pager's real "incident 42: key compromise" leaves no trace
// in the decision log (the log line does not even carry its reason), so
// the approvers see only the drill, lift it with their quorum, and
// signing resumes with the incident never stopped nor recorded. A risk
// officer expects every freeze request to be on the record and to hold
// until it is lifted itself. The later request's reason must reach the
// chain (its own freeze, or a row attached to the freeze in force that
// lifting must acknowledge), and the reply must not read like success
// for the caller's incident.
func TestAttack8AdminFreezeAbsorbedByEarlierFreeze(t *testing.T) {
	secret := "0123456789abcdef0123456789abcdef"
	tokFile := writeToken(t, t.TempDir(), 0o600, secret)
	_, maddr, dir, _ := startMetricsServe(t, "--admin-token-file", tokFile)
	if code, body := adminPost(t, maddr, http.MethodPost, "Bearer "+secret, `{"reason": "scheduled drill"}`); code != http.StatusOK {
		t.Fatalf("first freeze: %d %v", code, body)
	}
	const incident = "incident 42: key compromise"
	fcode, body := adminPost(t, maddr, http.MethodPost, "Bearer "+secret, `{"reason": "`+incident+`"}`)
	if fcode != http.StatusOK {
		t.Fatalf("second freeze: %d %v", fcode, body)
	}
	code, out, errOut := runCmd(t, "audit", "list", "--data-dir", dir, "--json")
	if code != 0 {
		t.Fatalf("audit list: %d %s%s", code, out, errOut)
	}
	if !strings.Contains(out, "scheduled drill") {
		t.Fatalf("control: the first freeze's reason is not in audit list's output:\n%s", out)
	}
	if !strings.Contains(out, incident) {
		t.Fatalf("the pager's freeze for %q answered %d %v and left no trace in the decision log; only the earlier freeze is there to lift:\n%s", incident, fcode, body, out)
	}
}
