package main

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Every refused admin request is answered at once and its connection
// closed, its (slow, unfinished) body unread: the server's side of the
// connection ends within a second, far inside read_timeout (10 s).
func TestAdminRefusalClosesConnection(t *testing.T) {
	tok := "0123456789abcdef0123456789abcdef"
	tokFile := writeToken(t, t.TempDir(), 0o600, tok)
	_, maddr, _, _ := startMetricsServe(t, "--admin-token-file", tokFile)
	cases := []struct {
		name, head, body string
		want             int
	}{
		{"GET", "GET /admin/freeze HTTP/1.1\r\nAuthorization: Bearer " + tok + "\r\n", "", http.StatusMethodNotAllowed},
		{"PUT with a body", "PUT /admin/freeze HTTP/1.1\r\n", `{"reason"`, http.StatusMethodNotAllowed},
		{"no token", "POST /admin/freeze HTTP/1.1\r\n", `{"reason"`, http.StatusUnauthorized},
		{"wrong token", "POST /admin/freeze HTTP/1.1\r\nAuthorization: Bearer " + strings.Repeat("x", 32) + "\r\n", `{"reason"`, http.StatusUnauthorized},
		{"bad body", "POST /admin/freeze HTTP/1.1\r\nAuthorization: Bearer " + tok + "\r\n", `reason=x`, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", maddr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Content-Length promises far more than is sent.
			fmt.Fprintf(c, "%sHost: x\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n%s", tc.head, tc.body)
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no response: %v", err)
			}
			if _, err := io.ReadAll(resp.Body); err != nil {
				t.Fatalf("reading the response body: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			start := time.Now()
			if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
				t.Fatalf("after the refusal the connection was not closed by the server: %v (after %v)", err, time.Since(start))
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("the server closed the connection only after %v", d)
			}
		})
	}
}

// Every admin freeze is its own record, up to maxAdminFreezes active at
// once (freezes of the local command do not count); beyond it the
// request is answered 429 naming the active ones, nothing is recorded,
// and its reason is logged at error level. Lifting one makes room.
func TestAdminFreezeCap(t *testing.T) {
	tok := "0123456789abcdef0123456789abcdef"
	tokFile := writeToken(t, t.TempDir(), 0o600, tok)
	_, maddr, dir, logs := startMetricsServe(t, "--admin-token-file", tokFile)
	if code, out, errOut := runCmd(t, "freeze", "--data-dir", dir, "--reason", "local freeze"); code != 0 {
		t.Fatalf("local freeze: %d %s%s", code, out, errOut)
	}
	var ids []string
	for i := range maxAdminFreezes {
		code, body := adminPost(t, maddr, http.MethodPost, "Bearer "+tok, fmt.Sprintf(`{"reason": "page %d"}`, i))
		id, _ := body["freeze_id"].(string)
		if code != http.StatusOK || !freezeIDRE.MatchString(id) || body["other_active_freezes"] != float64(i+1) {
			t.Fatalf("admin freeze %d: %d %v", i, code, body)
		}
		ids = append(ids, id)
	}
	const over = "page over the cap"
	code, body := adminPost(t, maddr, http.MethodPost, "Bearer "+tok, `{"reason": "`+over+`"}`)
	named, _ := body["active_freezes"].([]any)
	if code != http.StatusTooManyRequests || len(named) != maxAdminFreezes {
		t.Fatalf("admin freeze over the cap: %d %v", code, body)
	}
	for i, id := range ids {
		if named[i] != id {
			t.Fatalf("the 429 names %v, want %v", named, ids)
		}
	}
	if n := len(activeFreezes(t, dir)); n != maxAdminFreezes+1 {
		t.Fatalf("%d active freezes, want %d", n, maxAdminFreezes+1)
	}
	waitFor(t, "the refused reason logged at error level", func() bool {
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, over) && strings.Contains(l, "ERROR") {
				return true
			}
		}
		return false
	})
	if code, out, errOut := runCmd(t, "unfreeze", "--data-dir", dir, "--id", ids[0]); code != 0 {
		t.Fatalf("unfreeze: %d %s%s", code, out, errOut)
	}
	if code, body := adminPost(t, maddr, http.MethodPost, "Bearer "+tok, `{"reason": "after a lift"}`); code != http.StatusOK {
		t.Fatalf("admin freeze after a lift: %d %v", code, body)
	}
}

// The pin moves forward while serving (every head_log_interval), so a
// copy of the store taken while a server runs is refused at the next
// start, also when the server was not stopped cleanly afterwards.
func TestGovernancePinFollowsTheHead(t *testing.T) {
	g := newGovernedServe(t, "")
	g.sign(t, g.pol, g.alice, g.bob)
	startServeLogs(t, g.args("--head-log-interval", "1s")...)
	pin := g.dir + "/" + governancePinFile
	before := mustRead(t, pin)
	if code, out, errOut := runCmd(t, "freeze", "--data-dir", g.dir, "--reason", "drill"); code != 0 {
		t.Fatalf("freeze: %d %s%s", code, out, errOut)
	}
	waitFor(t, "the pin moved to the FREEZE row", func() bool {
		b, err := os.ReadFile(pin)
		return err == nil && string(b) != before
	})
	_, seq, hash := sqliteChainEnds(t, g.dir+"/tssgate.db")
	if got := mustRead(t, pin); !strings.HasSuffix(got, "\nhead "+seq+" "+hash+"\n") {
		t.Fatalf("pin %q, want head %s %s", got, seq, hash)
	}
}

// audit verify compares the freezes and governance tables with the
// chain: each table-only edit below leaves the chain intact and is a
// reported break (exit 1, named in state_mismatches); serve refuses the
// governance edits. The unedited store verifies clean (the control).
func TestAuditVerifyTableEdits(t *testing.T) {
	cases := []struct {
		name      string
		sql       string
		want      string // in the mismatch
		serveFail bool   // serve refuses to start too
	}{
		{"freeze lifted in its table", `UPDATE freezes SET lifted_at = frozen_at, lifted_by = 'nobody' WHERE lifted_at IS NULL`, "lifted without a recorded lift", false},
		{"freeze reason edited", `UPDATE freezes SET reason = 'drill' WHERE lifted_at IS NULL`, "differs from its FREEZE row", false},
		{"freeze added in the table only", `INSERT INTO freezes (id, reason, frozen_by, frozen_at, seq) SELECT '00000000000000ff', 'x', 'y', frozen_at, seq FROM freezes`, "no FREEZE row records it", false},
		{"governance table emptied", `DELETE FROM governance`, "governance table is empty", true},
		{"governance table replaced", `UPDATE governance SET sha256 = '` + strings.Repeat("ab", 32) + `'`, "newest GOVERNANCE row", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGovernedServe(t, "")
			g.firstStart(t)
			if code, out, errOut := runCmd(t, "freeze", "--data-dir", g.dir, "--reason", "keys may be compromised"); code != 0 {
				t.Fatalf("freeze: %d %s%s", code, out, errOut)
			}
			verify := func() (int, []string, string) {
				t.Helper()
				code, out, errOut := runCmd(t, "audit", "verify", "--data-dir", g.dir, "--json")
				var rep struct {
					Mismatches []string `json:"state_mismatches"`
				}
				if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Mismatches == nil {
					t.Fatalf("audit verify --json: %d %q %s: %v", code, out, errOut, err)
				}
				return code, rep.Mismatches, out
			}
			if code, m, out := verify(); code != 0 || len(m) != 0 {
				t.Fatalf("control: audit verify of the unedited store: %d %s", code, out)
			}
			db, err := sql.Open("sqlite", "file:"+filepath.Join(g.dir, "tssgate.db"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = db.Exec(tc.sql)
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			code, m, out := verify()
			if code != 1 || len(m) != 1 || !strings.Contains(m[0], tc.want) {
				t.Fatalf("audit verify after the edit: %d %s, want one mismatch with %q", code, out, tc.want)
			}
			if code, out, errOut := runCmd(t, "audit", "verify", "--data-dir", g.dir); code != 1 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("audit verify (text): %d %s%s", code, out, errOut)
			}
			started, _, errOut := serveStarts(t, g.args()...)
			if tc.serveFail && (started || !strings.Contains(errOut, "governance table does not match")) {
				t.Fatalf("serve on the edited governance table: started %v: %s", started, errOut)
			}
			if !tc.serveFail && !started {
				t.Fatalf("serve: %s", errOut)
			}
		})
	}
}

// tssgate freeze moves the pin of its data folder to the row it records
// (unfreeze shares the code), with no serve running: a copy of the store taken
// before the freeze is refused at the next start.
func TestFreezeCommandMovesThePin(t *testing.T) {
	g := newGovernedServe(t, "")
	g.firstStart(t)
	db := filepath.Join(g.dir, "tssgate.db")
	beforeCopy := filepath.Join(t.TempDir(), "before.db")
	copyStoreFiles(t, db, beforeCopy)
	pin := filepath.Join(g.dir, governancePinFile)
	if code, out, errOut := runCmd(t, "freeze", "--data-dir", g.dir, "--reason", "drill"); code != 0 || strings.Contains(errOut, "warning") {
		t.Fatalf("freeze: %d %s%s", code, out, errOut)
	}
	_, seq, hash := sqliteChainEnds(t, db)
	if got := mustRead(t, pin); !strings.HasSuffix(got, "\nhead "+seq+" "+hash+"\n") {
		t.Fatalf("after the freeze the pin is %q, want head %s %s", got, seq, hash)
	}
	if started, _, errOut := serveStarts(t, g.args("--store", "sqlite:"+beforeCopy)...); started || !strings.Contains(errOut, "is behind what this data folder's server") {
		t.Fatalf("started %v on a copy from before the freeze: %s", started, errOut)
	}
}
