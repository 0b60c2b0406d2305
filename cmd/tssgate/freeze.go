package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"tssgate/internal/governance"
	"tssgate/internal/metrics"
	"tssgate/internal/store"
	"tssgate/internal/store/backend"
)

const freezeUsage = `Usage: tssgate freeze --reason TEXT [flags]
       tssgate freeze --list [flags]     (or: tssgate freeze status)

Stops all signing at once: records a freeze (with a random id, the reason
and your user name) in the decision store, and in the decision log's hash
chain (rule operator:freeze). From the next decision on, every server on
that store (every replica on a shared PostgreSQL) answers every key task
REJECT with rule builtin:frozen and the reason, retries of requests
approved before the freeze included; a PING still approves. No signal or
restart is needed: every decision reads the freeze in its own commit. The
freeze survives restarts and lasts until 'tssgate unfreeze --id ID' lifts
it. Several freezes may be active; signing is frozen while any is.

--list prints the active freezes, oldest first (exit 0 either way).
`

const unfreezeUsage = `Usage: tssgate unfreeze --id ID [--key FILE | --import SIG] [flags]

Lifts freeze ID, recording it in the decision log's hash chain (rule
operator:unfreeze). Without governance this is a plain local command.

With governance configured, lifting needs threshold approver signatures
over the exact message "unfreeze ID" (no newline), so that no signature
made for an earlier freeze can lift this one. --key FILE (an OpenSSH
Ed25519 private key) signs and adds a signature; --import SIG adds an
armored SSH signature made elsewhere. Signatures are kept in the store
until the threshold is met, and the freeze lifts when it is; until then
the command exits 1 and says who has signed.
`

// operatorName is who an operator command acts as, for the records.
func operatorName() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

// freezePoll is how often serve reads the active freezes for the
// tssgate_frozen gauge and its log line. Enforcement does not depend on
// it: every Commit reads the freezes itself.
const freezePoll = time.Second

// watchFreezes keeps the tssgate_frozen gauge current and logs each change
// of the active freezes, until ctx ends. A failed read keeps the last
// value and is logged once per failing streak.
func watchFreezes(ctx context.Context, st store.Store, m *metrics.Metrics, every time.Duration, log *slog.Logger) {
	var last []string
	known, failing := false, false
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, every)
		active, err := st.ActiveFreezes(rctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			if !failing {
				log.Warn("reading active freezes for the tssgate_frozen gauge failed (decisions still read them in their commits)", slog.Any("error", err))
			}
			failing = true
		case err == nil:
			failing = false
			m.SetFrozen(len(active))
			ids := make([]string, len(active))
			for i, f := range active {
				ids[i] = f.ID
			}
			if !known || strings.Join(ids, ",") != strings.Join(last, ",") {
				if len(active) > 0 {
					log.Warn("signing is frozen: every key task but PING is rejected", slog.Any("freezes", ids),
						slog.String("oldest_reason", active[0].Reason), slog.String("oldest_by", active[0].By))
				} else if known {
					log.Warn("signing is no longer frozen")
				}
				last, known = ids, true
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// recordFreeze records a freeze with reason by operator through st and
// returns it with its chain row.
func recordFreeze(ctx context.Context, st store.Store, reason, by string) (*store.Freeze, *store.Record, error) {
	id, err := store.NewFreezeID()
	if err != nil {
		return nil, nil, err
	}
	f := store.Freeze{ID: id, Reason: strings.TrimSpace(reason), By: by}
	return st.Freeze(ctx, store.FreezeRecord(f, time.Now()), f)
}

// openWritableStore opens the configured store for an operator command
// that writes (freeze, unfreeze). The store must exist (a missing SQLite
// file is an error naming it, never created, nor its folder) and be at
// exactly this binary's schema: a store at an older schema has not been
// served by a tssgate that enforces freezes, so a freeze recorded there
// (after migrating it) would stop nothing on a server still running; the
// command refuses instead of claiming signing is frozen.
func openWritableStore(ctx context.Context, cfg Config) (store.Store, error) {
	ro, err := openExistingStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	ro.Close()
	st, err := backend.Open(ctx, cfg.StoreDSN())
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", backend.Redact(cfg.StoreDSN()), err)
	}
	return st, nil
}

func runFreeze(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("freeze")
	sf := addSettingFlags(fs, settingNames("config", "data-dir", "store")...)
	reason := fs.String("reason", "", "why signing is frozen (required; quoted in every REJECT and recorded in the decision log)")
	list := fs.Bool("list", false, "print the active freezes instead of freezing")
	if code, done := parseFlags(fs, args, freezeUsage, stdout, stderr); done {
		return code
	}
	if fs.NArg() == 1 && fs.Arg(0) == "status" {
		*list = true
	} else if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "freeze: unexpected arguments %q\n", fs.Args())
		return 2
	}
	r := strings.TrimSpace(*reason)
	switch {
	case *list && r != "":
		fmt.Fprintf(stderr, "freeze: give --reason (to freeze) or --list, not both\n")
		return 2
	case !*list && r == "":
		fmt.Fprintf(stderr, "freeze: --reason is required: it is quoted in every REJECT and recorded in the decision log\n")
		return 2
	case len(r) > store.MaxFreezeReason:
		fmt.Fprintf(stderr, "freeze: --reason is longer than %d bytes\n", store.MaxFreezeReason)
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "freeze: %s\n", fmt.Sprintf(format, a...))
		return 1
	}
	cfg, err := loadSettings(sf, osEnvironment())
	if err != nil {
		return fail("%v", err)
	}
	if *list {
		st, err := openExistingStore(ctx, cfg)
		if err != nil {
			return fail("%v", err)
		}
		defer st.Close()
		active, err := st.ActiveFreezes(ctx)
		if err != nil {
			return fail("%v", err)
		}
		if len(active) == 0 {
			fmt.Fprintln(stdout, "not frozen: no active freeze")
			return 0
		}
		for _, f := range active {
			fmt.Fprintf(stdout, "%s  %s  by %s  (decision %d)  %s\n", f.ID, f.At.UTC().Format(time.RFC3339), f.By, f.Seq, f.Reason)
		}
		return 0
	}
	st, err := openWritableStore(ctx, cfg)
	if err != nil {
		return fail("%v", err)
	}
	defer st.Close()
	f, rec, err := recordFreeze(ctx, st, r, operatorName())
	if err != nil {
		return fail("%v (signing is NOT frozen)", err)
	}
	fmt.Fprintln(stdout, f.ID)
	notePin(ctx, st, cfg.DataDir, "freeze", stderr)
	fmt.Fprintf(stderr, "signing is frozen from the next decision on, on every server using %s: freeze %s, recorded as decision %d (%s); lift it with 'tssgate unfreeze --id %s'\n",
		backend.Redact(cfg.StoreDSN()), f.ID, rec.Seq, rec.RequestID, f.ID)
	return 0
}

// notePin moves the governance pin of dataDir (if it has one) to the
// chain row just recorded, so that a store copy without it is refused at
// the next start even if no serve runs on that data folder meanwhile. A
// failure is a warning: the row is recorded either way.
func notePin(ctx context.Context, st store.Store, dataDir, cmd string, stderr io.Writer) {
	if err := updateGovernancePin(ctx, st, dataDir, ""); err != nil {
		fmt.Fprintf(stderr, "%s: warning: %v (serve updates it too)\n", cmd, err)
	}
}

// quorum is the seam to the governance in force (package
// internal/governance, wired by the integrator through newQuorum): the
// approvers and threshold that lifting a freeze needs.
type quorum interface {
	// Verify checks armored SSH signatures (SSHSIG) over message against
	// the approvers of the governance in force and returns the distinct
	// approvers with a valid signature, sorted, and whether they meet the
	// threshold. An invalid or foreign signature is left out of signers,
	// not an error; err is for failing to check at all.
	Verify(message []byte, armoredSigs [][]byte) (signers []string, met bool, err error)
	// Sign signs message with the OpenSSH Ed25519 private key in keyFile
	// and returns the armored signature.
	Sign(keyFile string, message []byte) ([]byte, error)
}

// governanceRequired reports whether lifting a freeze needs a quorum:
// when cfg names a governance file (tssgate.governance), and also when
// the store holds a governance in force whatever cfg says, so that
// editing the configuration cannot turn a governed lift into a plain
// one. A store that cannot tell is an error (fail closed). A variable so
// that tests can stand in for it.
var governanceRequired = func(ctx context.Context, cfg Config, st store.Store) (bool, error) {
	if cfg.Governance != "" {
		return true, nil
	}
	_, err := st.Governance(ctx)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("reading the governance in force: %w", err)
}

// newQuorum builds the quorum of the governance in force in st (never
// the configured file: a change of it counts only once serve adopted it
// with a quorum). nil means this build cannot verify approver
// signatures: unfreeze then refuses to lift anything while governance is
// required (fail closed).
var newQuorum = func(ctx context.Context, _ Config, st store.Store) (quorum, error) {
	g, err := governance.InForce(ctx, st)
	if err != nil {
		return nil, err
	}
	return govQuorum{g}, nil
}

// govQuorum is quorum over a governance.Governance.
type govQuorum struct{ g *governance.Governance }

// Verify counts a signature over message, or over message and a newline
// (what `echo "unfreeze ID" > m; ssh-keygen -Y sign ... m` signs): both
// name the same freeze, and no other message has either spelling.
func (q govQuorum) Verify(message []byte, armoredSigs [][]byte) ([]string, bool, error) {
	seen := map[string]bool{}
	var signers []string
	for _, m := range [][]byte{message, append(slices.Clip(message), '\n')} {
		names, _, _ := q.g.Quorum(m, armoredSigs)
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				signers = append(signers, n)
			}
		}
	}
	slices.Sort(signers)
	return signers, len(signers) >= q.g.Threshold, nil
}

// Sign implements quorum.
func (govQuorum) Sign(keyFile string, message []byte) ([]byte, error) {
	return governance.Sign(keyFile, message)
}

// unfreezeMessage is what approvers sign to lift freeze id: exactly
// "unfreeze <id>", no newline.
func unfreezeMessage(id string) []byte { return []byte("unfreeze " + id) }

func runUnfreeze(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("unfreeze")
	sf := addSettingFlags(fs, settingNames("config", "data-dir", "store")...)
	id := fs.String("id", "", "the freeze to lift (as 'tssgate freeze' printed it; see 'tssgate freeze --list')")
	keyFile := fs.String("key", "", "with governance: sign \"unfreeze ID\" with this OpenSSH Ed25519 private key and add the signature")
	importFile := fs.String("import", "", "with governance: add this armored SSH signature of \"unfreeze ID\" (ssh-keygen -Y sign)")
	if code, done := parseFlags(fs, args, unfreezeUsage, stdout, stderr); done {
		return code
	}
	if err := noArgs(fs); err != nil {
		fmt.Fprintf(stderr, "unfreeze: %v\n", err)
		return 2
	}
	if err := store.ValidFreezeID(*id); err != nil {
		fmt.Fprintf(stderr, "unfreeze: --id: want the 16 lower-case hex digits 'tssgate freeze' printed, got %q\n", *id)
		return 2
	}
	if *keyFile != "" && *importFile != "" {
		fmt.Fprintf(stderr, "unfreeze: give --key or --import, not both\n")
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "unfreeze: %s\n", fmt.Sprintf(format, a...))
		return 1
	}
	cfg, err := loadSettings(sf, osEnvironment())
	if err != nil {
		return fail("%v", err)
	}
	st, err := openWritableStore(ctx, cfg)
	if err != nil {
		return fail("%v", err)
	}
	defer st.Close()
	required, err := governanceRequired(ctx, cfg, st)
	if err != nil {
		return fail("%v (the freeze is still active)", err)
	}
	if !required && (*keyFile != "" || *importFile != "") {
		fmt.Fprintf(stderr, "unfreeze: --key and --import add approver signatures, and no governance is configured: lifting is a plain local command here\n")
		return 2
	}
	f, err := st.GetFreeze(ctx, *id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fail("no freeze %s in %s ('tssgate freeze --list' shows the active ones)", *id, backend.Redact(cfg.StoreDSN()))
	case err != nil:
		return fail("%v", err)
	case !f.Active():
		return fail("freeze %s was already lifted at %s by %s (decision %d)", f.ID, f.LiftedAt.Format(time.RFC3339), f.LiftedBy, f.LiftSeq)
	}
	var signers []string
	if required {
		var ok bool
		if signers, ok = collectLiftSignatures(ctx, cfg, st, f, *keyFile, *importFile, stdout, fail); !ok {
			return 1
		}
	}
	lifted, rec, err := st.Unfreeze(ctx, store.UnfreezeRecord(f.ID, operatorName(), signers, time.Now()), f.ID, signers)
	if err != nil {
		return fail("%v (the freeze is still active)", err)
	}
	notePin(ctx, st, cfg.DataDir, "unfreeze", stderr)
	who := ""
	if len(signers) > 0 {
		who = " with the signatures of " + strings.Join(signers, ", ")
	}
	fmt.Fprintf(stdout, "lifted freeze %s%s; recorded as decision %d (%s)\n", lifted.ID, who, rec.Seq, rec.RequestID)
	if active, err := st.ActiveFreezes(ctx); err == nil && len(active) > 0 {
		fmt.Fprintf(stdout, "signing is still frozen by %d other freeze(s), oldest %s\n", len(active), active[0].ID)
	}
	return 0
}

// collectLiftSignatures adds the signature of --key or --import (if any)
// to the store, after checking it is a valid approver signature of
// "unfreeze ID", and reports the approvers of every kept signature when
// they meet the threshold (ok); otherwise it has said why on the way out.
func collectLiftSignatures(ctx context.Context, cfg Config, st store.Store, f *store.Freeze, keyFile, importFile string, stdout io.Writer, fail func(string, ...any) int) (signers []string, ok bool) {
	if newQuorum == nil {
		fail("governance is configured, and this build cannot verify approver signatures; refusing to lift freeze %s (fail closed)", f.ID)
		return nil, false
	}
	q, err := newQuorum(ctx, cfg, st)
	if err != nil {
		fail("loading the governance in force: %v (the freeze is still active)", err)
		return nil, false
	}
	msg := unfreezeMessage(f.ID)
	var sig []byte
	switch {
	case keyFile != "":
		if sig, err = q.Sign(keyFile, msg); err != nil {
			fail("signing with %s: %v", keyFile, err)
			return nil, false
		}
	case importFile != "":
		if sig, err = governance.ReadRegularFile(importFile, 1<<20); err != nil {
			fail("--import: %v", err)
			return nil, false
		}
	}
	if sig != nil {
		who, _, err := q.Verify(msg, [][]byte{sig})
		if err != nil {
			fail("checking the signature: %v", err)
			return nil, false
		}
		if len(who) != 1 {
			fail("the signature is not a valid approver signature of %q (a signature for another freeze, or a key that is no approver, lifts nothing); nothing recorded", msg)
			return nil, false
		}
		if err := st.AddLiftSignature(ctx, f.ID, who[0], string(sig)); err != nil {
			fail("recording %s's signature: %v", who[0], err)
			return nil, false
		}
		fmt.Fprintf(stdout, "recorded %s's signature towards lifting freeze %s\n", who[0], f.ID)
	}
	kept, err := st.LiftSignatures(ctx, f.ID)
	if err != nil {
		fail("%v", err)
		return nil, false
	}
	sigs := make([][]byte, len(kept))
	for i, k := range kept {
		sigs[i] = []byte(k.Signature)
	}
	signers, met, err := q.Verify(msg, sigs)
	if err != nil {
		fail("checking the kept signatures: %v", err)
		return nil, false
	}
	if !met {
		have := "none"
		if len(signers) > 0 {
			have = strings.Join(signers, ", ")
		}
		fail("freeze %s is still active: the approvers who signed %q (%s) do not meet the governance threshold; each other approver adds one with 'tssgate unfreeze --id %s --key FILE' or '--import SIG'",
			f.ID, msg, have, f.ID)
		return nil, false
	}
	return signers, true
}

// minAdminToken is the shortest admin token accepted, in bytes.
const minAdminToken = 16

// readAdminToken reads the admin endpoint's bearer token from path: a
// regular file no one but its owner may read or write (mode 0600 or
// stricter), holding one token of at least minAdminToken bytes
// (surrounding white space ignored).
func readAdminToken(path string) (string, error) {
	// Non-blocking: a named pipe in its place must be refused below, not
	// block the open until a writer comes.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("%s has mode %04o: a token file others can read or write lets them freeze signing; chmod 600 it", path, perm)
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < minAdminToken || strings.ContainsAny(tok, " \t\r\n") {
		return "", fmt.Errorf("%s must hold one token of at least %d characters without white space (for example: openssl rand -hex 32)", path, minAdminToken)
	}
	return tok, nil
}

// maxAdminBody bounds a POST /admin/freeze body.
const maxAdminBody = 4096

// adminFreezeTimeout bounds recording one admin freeze.
const adminFreezeTimeout = 10 * time.Second

// maxAdminFreezes caps the freezes made through the admin endpoint that
// may be active at once. Every admin freeze is its own record (a later
// incident is never absorbed by an earlier, harmless freeze), and each
// needs its own quorum to lift; the cap keeps a leaked token from piling
// up freezes for the approvers to sign away one by one. Freezes of the
// local command do not count.
const maxAdminFreezes = 8

// adminOperator is the operator name of freezes made through the admin
// endpoint.
const adminOperator = "admin-endpoint"

// adminHandler serves POST /admin/freeze with the bearer token tok, or is
// nil when tok is empty (no admin endpoint). The token is compared in
// constant time (as SHA-256 digests, so its length does not leak either).
// A freeze made here is recorded with operator adminOperator.
//
// Every refused request (405, 401, 400, 429) is answered and its
// connection closed at once, its body unread: net/http would otherwise
// drain the body, keeping the connection busy for up to read_timeout,
// and a few slow-body connections would hold every slot of the admin
// listener's connection cap against the operator's freeze.
func adminHandler(tok string, st store.Store, log *slog.Logger) http.Handler {
	if tok == "" {
		return nil
	}
	want := sha256.Sum256([]byte(tok))
	reply := func(w http.ResponseWriter, code int, v any) {
		b, _ := json.Marshal(v)
		b = append(b, '\n')
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(code)
		w.Write(b)
	}
	// refuse answers and closes the connection: "Connection: close" keeps
	// net/http from reading the body before the response goes out, and
	// the hijack closes the connection without reading it afterwards.
	refuse := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Connection", "close")
		reply(w, code, v)
		rc := http.NewResponseController(w)
		if err := rc.Flush(); err != nil {
			return
		}
		if conn, _, err := rc.Hijack(); err == nil {
			conn.Close()
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			refuse(w, http.StatusMethodNotAllowed, map[string]string{"error": "use POST"})
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 || !ok {
			log.Warn("admin freeze refused: missing or wrong bearer token", slog.String("remote", r.RemoteAddr))
			w.Header().Set("WWW-Authenticate", `Bearer realm="tssgate-admin"`)
			refuse(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong bearer token"})
			return
		}
		var body struct {
			Reason string `json:"reason"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAdminBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || dec.More() {
			refuse(w, http.StatusBadRequest, map[string]string{"error": `want a JSON body {"reason": "..."}`})
			return
		}
		reason := strings.TrimSpace(body.Reason)
		if reason == "" || len(reason) > store.MaxFreezeReason {
			refuse(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("reason must be 1 to %d bytes", store.MaxFreezeReason)})
			return
		}
		// An authenticated freeze is recorded even if the caller hangs up
		// meanwhile: a pager's client timing out must not cancel it.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), adminFreezeTimeout)
		defer cancel()
		// Every request is its own freeze, also while signing is frozen
		// already (a later incident must be on the record and hold until
		// it is lifted itself), up to maxAdminFreezes active at once.
		active, err := st.ActiveFreezes(ctx)
		if err != nil {
			log.Error("admin freeze failed: cannot read the active freezes; signing is NOT frozen by this request", slog.String("reason", reason), slog.Any("error", err))
			reply(w, http.StatusInternalServerError, map[string]string{"error": "reading the active freezes failed; signing is NOT frozen by this request: " + err.Error()})
			return
		}
		var mine []string
		for _, f := range active {
			if f.By == adminOperator {
				mine = append(mine, f.ID)
			}
		}
		if len(mine) >= maxAdminFreezes {
			log.Error("admin freeze NOT recorded: the admin endpoint's freezes active at once are capped; signing stays frozen by them",
				slog.String("reason", reason), slog.Any("active_freezes", mine), slog.Int("cap", maxAdminFreezes), slog.String("remote", r.RemoteAddr))
			refuse(w, http.StatusTooManyRequests, map[string]any{
				"error":          fmt.Sprintf("%d freezes made through the admin endpoint are active (the cap); this request is NOT recorded, and signing stays frozen by them; record the reason with 'tssgate freeze --reason' on the host", len(mine)),
				"active_freezes": mine,
			})
			return
		}
		f, rec, err := recordFreeze(ctx, st, reason, adminOperator)
		if err != nil {
			log.Error("admin freeze failed: signing is NOT frozen by this request", slog.String("reason", reason), slog.Any("error", err))
			status := http.StatusInternalServerError
			if errors.Is(err, store.ErrInvalid) {
				status = http.StatusBadRequest
			}
			reply(w, status, map[string]string{"error": "recording the freeze failed; signing is NOT frozen by this request: " + err.Error()})
			return
		}
		log.Warn("signing frozen through the admin endpoint", slog.String("freeze_id", f.ID), slog.String("reason", f.Reason),
			slog.Int64("seq", rec.Seq), slog.String("remote", r.RemoteAddr), slog.Int("other_active_freezes", len(active)))
		reply(w, http.StatusOK, map[string]any{"freeze_id": f.ID, "seq": rec.Seq, "at": f.At.UTC().Format(time.RFC3339Nano), "other_active_freezes": len(active)})
	})
}
