package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"tssgate/internal/governance"
	"tssgate/internal/store"
	"tssgate/internal/store/backend"
)

// governancePinFile is the file in the data folder that binds this
// server to its decision store. The data folder holds the callback
// server's key pair, which is what the TSS Node trusts: a configuration
// pointed at another decision store (an empty one, where trust on first
// use would adopt anybody's governance; one prepared elsewhere by trust
// on first use; or an older copy of the real one, where the freezes,
// serials and governance changes recorded since are missing) must not be
// able to take that key along.
//
// The pin names the governance this server last ran under, the hash of
// the store's first chain row (which identifies the store instance: a
// store prepared elsewhere has another), and the newest chain head (seq
// and hash) this server has seen, which only a store at least as far
// along the same chain holds. It is written once a server has run
// governed, and moved forward at start, after the start-up policy load,
// every pinInterval while serving (which covers policy reloads and
// freezes recorded by other processes), and at shutdown.
//
// Format (version 2), one field a line:
//
//	tssgate pin v2
//	governance <sha256 hex>
//	genesis <hash of chain row 1>
//	head <seq> <hash of that row>
//
// A pin of the first format (the governance SHA-256 alone) is still read:
// it is checked as before (the store must have adopted that governance)
// and rewritten in version 2 on that start.
const governancePinFile = "governance.pin"

const pinHeader = "tssgate pin v2"

var pinRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// governancePin is the content of governancePinFile.
type governancePin struct {
	// Governance is the SHA-256 of the governance in force when the pin
	// was written.
	Governance string
	// Genesis is the Hash of chain row seq 1; empty in a first-format pin.
	Genesis string
	// HeadSeq and HeadHash are the newest chain row this data folder's
	// server saw; zero and empty in a first-format pin.
	HeadSeq  int64
	HeadHash string
}

// legacy reports whether p came from a first-format pin (no store
// binding yet).
func (p *governancePin) legacy() bool { return p.Genesis == "" }

func pinPath(dataDir string) string { return filepath.Join(dataDir, governancePinFile) }

// readGovernancePin returns the pin in dataDir, nil when there is none. A
// pin that does not read or parse is an error (fail closed: a damaged pin
// must not read as "never governed").
func readGovernancePin(dataDir string) (*governancePin, error) {
	path := pinPath(dataDir)
	b, err := governance.ReadRegularFile(path, 4096)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("governance pin %s: %w", path, err)
	}
	bad := func(line int, format string, a ...any) error {
		return fmt.Errorf("governance pin %s line %d: %s; the pin is written by tssgate serve and must not be edited (README: Backups, Restore)", path, line, fmt.Sprintf(format, a...))
	}
	text := strings.TrimSpace(string(b))
	if pinRE.MatchString(text) {
		return &governancePin{Governance: text}, nil
	}
	lines := strings.Split(text, "\n")
	if lines[0] != pinHeader {
		return nil, bad(1, "does not hold a SHA-256 (64 lower-case hex digits) nor start with %q", pinHeader)
	}
	if len(lines) != 4 {
		return nil, bad(len(lines), "want 4 lines (header, governance, genesis, head), got %d", len(lines))
	}
	p := &governancePin{}
	for i, want := range []string{"governance", "genesis", "head"} {
		fields := strings.Fields(lines[i+1])
		n := i + 2
		if len(fields) == 0 || fields[0] != want {
			return nil, bad(n, "want field %q", want)
		}
		switch want {
		case "governance", "genesis":
			if len(fields) != 2 || !pinRE.MatchString(fields[1]) {
				return nil, bad(n, "%s: want one SHA-256 (64 lower-case hex digits)", want)
			}
			if want == "governance" {
				p.Governance = fields[1]
			} else {
				p.Genesis = fields[1]
			}
		case "head":
			if len(fields) != 3 || !pinRE.MatchString(fields[2]) {
				return nil, bad(n, "head: want a seq and a SHA-256")
			}
			seq, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil || seq < 1 || fields[1] != strconv.FormatInt(seq, 10) {
				return nil, bad(n, "head: seq %q is not a positive decimal", fields[1])
			}
			p.HeadSeq, p.HeadHash = seq, fields[2]
		}
	}
	return p, nil
}

// rowAt returns the chain row at seq, nil when the chain has none there.
func rowAt(ctx context.Context, st store.Store, seq int64) (*store.Record, error) {
	var row *store.Record
	err := st.List(ctx, store.Filter{Seq: seq, Limit: 1}, func(r *store.Record) error { row = r; return nil })
	return row, err
}

// newestRow returns the chain head, nil for an empty log.
func newestRow(ctx context.Context, st store.Store) (*store.Record, error) {
	var row *store.Record
	err := st.List(ctx, store.Filter{Newest: true, Limit: 1}, func(r *store.Record) error { row = r; return nil })
	return row, err
}

// restoreHint is how an operator deliberately accepts a store the pin
// refuses (a restore from backup), and what that costs.
func restoreHint(dataDir string) string {
	return fmt.Sprintf("if this is a deliberate restore from a backup, stop every replica, check the backup, and remove %s (everything recorded after the backup is lost: freezes, policy serials, governance changes; README: Backups, Restore); otherwise point the configuration back at the store this server ran on",
		pinPath(dataDir))
}

// checkGovernancePin refuses a store that is not the one this data
// folder's server last ran on, or not as far along its chain: one without
// any GOVERNANCE row adopting the pinned governance (a store that adopted
// it and later changed it by quorum passes: its log holds both), one
// whose chain row 1 has another hash (another store instance, for
// example one prepared elsewhere by trust on first use), or one whose
// chain has no row at the pinned head's seq with the pinned hash (an
// older copy: a backup, or a copy taken earlier). Read errors are errors
// (fail closed).
func checkGovernancePin(ctx context.Context, st store.Store, dataDir, dsn string) error {
	pin, err := readGovernancePin(dataDir)
	if err != nil || pin == nil {
		return err
	}
	found := false
	errFound := errors.New("found")
	err = st.List(ctx, store.Filter{Type: "GOVERNANCE", Rule: ruleGovernance}, func(r *store.Record) error {
		var g struct {
			SHA256 string `json:"governance_sha256"`
		}
		if json.Unmarshal(r.Request, &g) == nil && g.SHA256 == pin.Governance {
			found = true
			return errFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFound) {
		return fmt.Errorf("reading the store's governance history: %w", err)
	}
	if !found {
		return fmt.Errorf("this data folder's server (its key pair, %s) last ran under governance sha256 %s, and the decision store %s never adopted it: a governed server is not moved to a store without its governance (where trust on first use would adopt any file, and no freeze is recorded); point the configuration back at the store that holds it, or start a new deployment with a new data folder (a new key pair the TSS Node must be given)",
			dataDir, pin.Governance, backend.Redact(dsn))
	}
	if pin.legacy() {
		return nil
	}
	first, err := rowAt(ctx, st, 1)
	if err != nil {
		return fmt.Errorf("reading the store's first chain row: %w", err)
	}
	if first == nil || first.Hash != pin.Genesis {
		got := "no row 1"
		if first != nil {
			got = "hash " + first.Hash
		}
		return fmt.Errorf("the decision store %s is not the store this data folder's server (%s) ran on: its chain row 1 has %s, the pin %s; a store prepared elsewhere lacks this store's freezes and serials; %s",
			backend.Redact(dsn), dataDir, got, pin.Genesis, restoreHint(dataDir))
	}
	head, err := rowAt(ctx, st, pin.HeadSeq)
	if err != nil {
		return fmt.Errorf("reading the store's chain row %d: %w", pin.HeadSeq, err)
	}
	if head == nil || head.Hash != pin.HeadHash {
		got := "has no such row"
		if head != nil {
			got = "has another hash there, " + head.Hash
		}
		return fmt.Errorf("the decision store %s is behind what this data folder's server (%s) saw of it: the server saw chain row %d with hash %s, and the store %s (an older copy or a restored backup, without the freezes, serials and governance changes recorded since); %s",
			backend.Redact(dsn), dataDir, pin.HeadSeq, pin.HeadHash, got, restoreHint(dataDir))
	}
	return nil
}

// updateGovernancePin moves the pin in dataDir forward to st's current
// chain head, with governance govSHA (empty: keep the pinned one). With
// no pin and no govSHA it writes nothing (a server that never ran
// governed is not bound). It never moves the head backwards: a store
// whose head is behind the pin is an error, as at start.
func updateGovernancePin(ctx context.Context, st store.Store, dataDir, govSHA string) error {
	cur, err := readGovernancePin(dataDir)
	if err != nil {
		return err
	}
	if cur == nil && govSHA == "" {
		return nil
	}
	next := governancePin{Governance: govSHA}
	if next.Governance == "" {
		next.Governance = cur.Governance
	}
	first, err := rowAt(ctx, st, 1)
	if err != nil {
		return fmt.Errorf("updating the governance pin: reading chain row 1: %w", err)
	}
	head, err := newestRow(ctx, st)
	if err != nil {
		return fmt.Errorf("updating the governance pin: reading the chain head: %w", err)
	}
	if first == nil || head == nil {
		// A governed store always holds its GOVERNANCE row; an empty log
		// here is a store emptied under a running server.
		return fmt.Errorf("updating the governance pin: the decision store's log is empty")
	}
	next.Genesis, next.HeadSeq, next.HeadHash = first.Hash, head.Seq, head.Hash
	if cur != nil && !cur.legacy() {
		if cur.Genesis != next.Genesis {
			return fmt.Errorf("updating the governance pin: the store's chain row 1 changed (%s, pinned %s)", next.Genesis, cur.Genesis)
		}
		if next.HeadSeq < cur.HeadSeq {
			return fmt.Errorf("updating the governance pin: the store's chain head %d is behind the pinned head %d", next.HeadSeq, cur.HeadSeq)
		}
		if *cur == next {
			return nil
		}
	}
	return writeGovernancePin(dataDir, next)
}

// pinInterval is how often serve moves the pin forward to the chain head.
// A second bounds what a stale copy can lose without being refused
// (freezes, POLICY rows with their serials, recorded by this or any other
// process on the store) to what was recorded in the last second before
// the copy; the cost is two indexed reads a second, and a pin write when
// the head moved.
const pinInterval = time.Second

// keepGovernancePin moves the pin forward every interval until ctx ends,
// then once more (the shutdown update, with a context of its own). A
// failed update is logged at error level: the pin stays where it was, so
// a later start still refuses any store behind it.
func keepGovernancePin(ctx context.Context, st store.Store, dataDir string, interval time.Duration, log *slog.Logger) {
	update := func(ctx context.Context) {
		uctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := updateGovernancePin(uctx, st, dataDir, ""); err != nil {
			log.Error("governance pin not updated", slog.Any("error", err))
		}
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			update(context.WithoutCancel(ctx))
			return
		case <-t.C:
			update(ctx)
		}
	}
}

// writeGovernancePin writes p as dataDir's pin (atomically, mode 0600).
func writeGovernancePin(dataDir string, p governancePin) error {
	path := pinPath(dataDir)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("writing the governance pin: %w", err)
	}
	tmp, err := os.CreateTemp(dataDir, governancePinFile+".*")
	if err != nil {
		return fmt.Errorf("writing the governance pin: %w", err)
	}
	defer os.Remove(tmp.Name())
	text := fmt.Sprintf("%s\ngovernance %s\ngenesis %s\nhead %d %s\n", pinHeader, p.Governance, p.Genesis, p.HeadSeq, p.HeadHash)
	if _, err := tmp.WriteString(text); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the governance pin: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the governance pin: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the governance pin: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing the governance pin: %w", err)
	}
	return nil
}
