package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"tssgate/internal/policy"
	"tssgate/internal/protocol"
	"tssgate/internal/store"
	"tssgate/internal/store/backend"
)

const auditUsage = `Usage: tssgate audit COMMAND [flags]

Reads the decision log (the store 'tssgate serve' writes; by default
sqlite:./tssgate-data/tssgate.db). It never creates a store or a data
folder: a missing store is an error naming its path.

  list     decisions, newest first: --since --until --type --action --rule --limit, --json for JSON lines
  show ID  one decision in full (the decoded request, hashes, shadow outcomes, and
           policy_load: the load of its policy version with the signers of its manifest)
  export   every decision as JSON lines, oldest first, streaming (constant memory)
  verify   walk the hash chain and check the freezes and governance tables against it; exit 1 and name the first broken link or mismatch (--head HASH, --head-file FILE: the chain must contain that anchored head; --json)
  backup   --out FILE: a consistent online copy of the SQLite store (while serve runs), whose chain is then verified
  limits   current usage of each velocity limit per key (--policy names the limits and windows)
  clear-outpoint TXID:VOUT --reason TEXT
           forget the amount first claimed for a UTXO outpoint, so the next claim stands;
           the only audit command that writes: it first records the action in the
           decision log (rule operator:clear-outpoint), then clears the claim

Flags common to every command: --store DSN, --config FILE, --data-dir DIR
(env TSSGATE_STORE, TSSGATE_CONFIG, TSSGATE_DATA_DIR). Each command takes
only its own flags: a flag of another command is an error.
Run 'tssgate audit COMMAND --help' for a command's flags.
`

// auditCommands are the audit subcommands with their one-line usage.
var auditCommands = map[string]string{
	"list":   "Usage: tssgate audit list [flags]\n\nLists decisions, newest first.\n",
	"show":   "Usage: tssgate audit show [flags] REQUEST_ID\n\nPrints one decision in full as JSON, with policy_load: the newest chain row before\nit that put its policy version in force (manifest sha256, signers, governance\nsha256); with replicas loading that version with different bundles, it may be\nanother replica's load.\n",
	"export": "Usage: tssgate audit export [flags]\n\nWrites every decision as JSON lines, oldest first.\n",
	"verify": "Usage: tssgate audit verify [flags]\n\nWalks the hash chain and checks that the freezes and governance tables match\nits FREEZE/UNFREEZE and GOVERNANCE rows; exit 1 names the first broken link,\nan anchored head (--head, --head-file) the chain does not contain, or each\ntable mismatch. --json prints {decisions, head, first_broken, anchor,\nstate_mismatches}.\n",
	"backup": "Usage: tssgate audit backup --out FILE [flags]\n\nCopies the SQLite store consistently while serve runs (VACUUM INTO, never a\nfile copy), then verifies the copy's chain. FILE must not exist. For\nPostgreSQL use pg_dump (see the README).\n",
	"limits": "Usage: tssgate audit limits [flags]\n\nPrints the current usage of each velocity limit per key.\n",
	"clear-outpoint": "Usage: tssgate audit clear-outpoint [flags] TXID:VOUT --reason TEXT\n\n" +
		"Forgets the amount first claimed for a UTXO outpoint (txid in display order, lower-case),\n" +
		"so that the next verified KEYSIGN's claim stands. The action is recorded in the decision\n" +
		"log first, with the reason.\n",
}

// auditRecord is the JSON form of a decision in audit output.
type auditRecord struct {
	Seq           int64           `json:"seq"`
	RequestID     string          `json:"request_id"`
	ReceivedAt    time.Time       `json:"received_at"`
	Version       string          `json:"version"`
	Type          string          `json:"type"`
	NodeKey       string          `json:"node_key"`
	Action        string          `json:"action"`
	Status        int             `json:"status"`
	Rule          string          `json:"rule"`
	Reason        string          `json:"reason,omitempty"`
	PolicyVersion string          `json:"policy_version"`
	TxKey         string          `json:"tx_key,omitempty"`
	LatencyMicros int64           `json:"latency_us"`
	Shadow        json.RawMessage `json:"shadow,omitempty"`
	RequestHash   string          `json:"request_hash"`
	PrevHash      string          `json:"prev_hash"`
	Hash          string          `json:"hash"`
	Request       json.RawMessage `json:"request,omitempty"`
	// PolicyLoad is, in audit show, the newest POLICY row before the
	// decision for its policy version, with the signers of its manifest:
	// on one server the load the decision ran under; with replicas that
	// loaded the version with different bundles, possibly another
	// replica's (the decision does not name its load).
	PolicyLoad *policyLoadJSON `json:"policy_load,omitempty"`
}

// policyLoadJSON is a POLICY row as audit show prints it.
type policyLoadJSON struct {
	Seq        int64     `json:"seq"`
	RequestID  string    `json:"request_id"`
	ReceivedAt time.Time `json:"received_at"`
	policyLoad
}

func toAudit(r *store.Record, withRequest bool) auditRecord {
	a := auditRecord{Seq: r.Seq, RequestID: r.RequestID, ReceivedAt: r.ReceivedAt, Version: r.Version, Type: r.Type,
		NodeKey: r.NodeKey, Action: r.Action, Status: r.Status, Rule: r.Rule, Reason: r.Reason, PolicyVersion: r.PolicyVersion,
		TxKey: r.TxKey, LatencyMicros: r.LatencyMicros, RequestHash: r.RequestHash, PrevHash: r.PrevHash, Hash: r.Hash}
	if len(r.Shadow) > 0 {
		a.Shadow = r.Shadow
	}
	if withRequest && len(r.Request) > 0 {
		a.Request = r.Request
	}
	return a
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "-help" || args[0] == "help" {
		if len(args) == 0 {
			fmt.Fprint(stderr, auditUsage)
			return 2
		}
		fmt.Fprint(stdout, auditUsage)
		return 0
	}
	cmd, rest := args[0], args[1:]
	usage, known := auditCommands[cmd]
	if !known {
		fmt.Fprintf(stderr, "audit: unknown command %q\n\n%s", cmd, auditUsage)
		return 2
	}
	fs := newFlagSet("audit " + cmd)
	common := []string{"config", "data-dir", "store"}
	if cmd == "limits" {
		common = append(common, "policy")
	}
	sf := addSettingFlags(fs, settingNames(common...)...)
	var (
		since, until, typ, action, rule *string
		limit                           *int
		asJSON                          *bool
		head, headFile, out             *string
		clearReason                     *string
	)
	switch cmd {
	case "verify":
		head = fs.String("head", "", "fail unless the chain contains this anchored head hash")
		headFile = fs.String("head-file", "", "read the anchored head hash from this file")
		asJSON = fs.Bool("json", false, "print {decisions, head, first_broken} as JSON")
	case "backup":
		out = fs.String("out", "", "the backup file to create (must not exist)")
	case "clear-outpoint":
		clearReason = fs.String("reason", "", "why the claim is cleared (required; recorded in the decision log)")
	}
	if cmd == "list" {
		since = fs.String("since", "", "from this time (RFC 3339, or a duration ago such as 24h)")
		until = fs.String("until", "", "before this time (RFC 3339 or a duration ago)")
		typ = fs.String("type", "", "only this request type: PING, KEYGEN, KEYSIGN, KEYRESHARE or KEYSHARESIGN")
		action = fs.String("action", "", "only APPROVE or REJECT")
		rule = fs.String("rule", "", "only decisions by this rule")
		limit = fs.Int("limit", 50, "at most this many decisions (0: all)")
		asJSON = fs.Bool("json", false, "JSON lines instead of text")
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "audit %s: %s\n", cmd, fmt.Sprintf(format, a...))
		return 1
	}
	if code, done := parseFlags(fs, rest, usage, stdout, stderr); done {
		return code
	}
	switch {
	case cmd == "show" && fs.NArg() != 1:
		fmt.Fprintf(stderr, "audit show: want one REQUEST_ID\n")
		return 2
	case cmd == "clear-outpoint" && fs.NArg() != 1:
		fmt.Fprintf(stderr, "audit clear-outpoint: want one TXID:VOUT\n")
		return 2
	case cmd == "clear-outpoint" && strings.TrimSpace(*clearReason) == "":
		fmt.Fprintf(stderr, "audit clear-outpoint: --reason is required: it is recorded in the decision log\n")
		return 2
	case cmd != "show" && cmd != "clear-outpoint" && fs.NArg() != 0:
		fmt.Fprintf(stderr, "audit %s: unexpected arguments %q\n", cmd, fs.Args())
		return 2
	}
	// Check every argument before opening the store.
	anchor := ""
	if cmd == "verify" {
		anchor = strings.TrimSpace(*head)
		if *headFile != "" {
			if anchor != "" {
				fmt.Fprintf(stderr, "audit verify: give --head or --head-file, not both\n")
				return 2
			}
			b, err := os.ReadFile(*headFile)
			if err != nil {
				fmt.Fprintf(stderr, "audit verify: --head-file: %v\n", err)
				return 2
			}
			anchor = strings.TrimSpace(string(b))
		}
		if (*head != "" || *headFile != "") && !isHash(anchor) {
			fmt.Fprintf(stderr, "audit verify: the anchored head must be 64 lower-case hex digits, got %q\n", anchor)
			return 2
		}
	}
	if cmd == "backup" && *out == "" {
		fmt.Fprintf(stderr, "audit backup: --out FILE is required\n")
		return 2
	}
	var f store.Filter
	if cmd == "list" {
		f = store.Filter{Rule: *rule, Limit: *limit, Newest: true}
		if *typ != "" {
			rt, err := protocol.ParseRequestType(*typ)
			if err != nil {
				fmt.Fprintf(stderr, "audit list: --type: %v\n", err)
				return 2
			}
			f.Type = rt.String()
		}
		switch a := strings.ToUpper(*action); a {
		case "", string(protocol.ActionApprove), string(protocol.ActionReject):
			f.Action = a
		default:
			fmt.Fprintf(stderr, "audit list: --action: want APPROVE or REJECT, got %q\n", *action)
			return 2
		}
		if *limit < 0 {
			fmt.Fprintf(stderr, "audit list: --limit: want 0 (all) or more, got %d\n", *limit)
			return 2
		}
		var err error
		if f.Since, err = parseWhen(*since); err != nil {
			fmt.Fprintf(stderr, "audit list: --since: %v\n", err)
			return 2
		}
		if f.Until, err = parseWhen(*until); err != nil {
			fmt.Fprintf(stderr, "audit list: --until: %v\n", err)
			return 2
		}
	}
	cfg, err := loadSettings(sf, osEnvironment())
	if err != nil {
		return fail("%v", err)
	}
	var p *policy.Policy
	if cmd == "limits" {
		if cfg.Policy == "" {
			return fail("--policy FILE is required: the policy names the limits and their windows")
		}
		if p, err = policy.Load(cfg.Policy); err != nil {
			return fail("%v", err)
		}
	}
	if cmd == "clear-outpoint" {
		return clearOutpoint(ctx, cfg, fs.Arg(0), *clearReason, stdout, stderr)
	}
	st, err := openExistingStore(ctx, cfg)
	if err != nil {
		return fail("%v", err)
	}
	defer st.Close()
	w := bufio.NewWriter(stdout)
	defer w.Flush()

	switch cmd {
	case "list":
		enc := json.NewEncoder(w)
		err = st.List(ctx, f, func(r *store.Record) error {
			if *asJSON {
				return enc.Encode(toAudit(r, false))
			}
			reason := r.Reason
			if reason != "" {
				reason = "  " + reason
			}
			_, err := fmt.Fprintf(w, "%6d  %s  %-8s %-12s %-7s %s%s  %s\n", r.Seq, r.ReceivedAt.UTC().Format(time.RFC3339), r.Type, r.RequestID, r.Action, r.Rule, reason, r.NodeKey)
			return err
		})
	case "show":
		var r *store.Record
		if r, err = st.Get(ctx, fs.Arg(0)); errors.Is(err, store.ErrNotFound) {
			return fail("no decision for request_id %q", fs.Arg(0))
		}
		if err == nil {
			a := toAudit(r, true)
			if a.PolicyLoad, err = findPolicyLoad(ctx, st, r); err != nil {
				return fail("finding the load of policy %s: %v", r.PolicyVersion, err)
			}
			out, _ := json.MarshalIndent(a, "", "  ")
			_, err = fmt.Fprintln(w, string(out))
		}
	case "export":
		enc := json.NewEncoder(w)
		err = st.List(ctx, store.Filter{}, func(r *store.Record) error { return enc.Encode(toAudit(r, true)) })
	case "verify":
		return auditVerify(ctx, st, anchor, *asJSON, w, fail)
	case "backup":
		return auditBackup(ctx, st, *out, w, fail)
	case "limits":
		windows := p.Windows()
		if len(windows) == 0 {
			fmt.Fprintf(w, "%s defines no limits\n", cfg.Policy)
			return 0
		}
		var usage []store.Usage
		if usage, err = st.LimitUsage(ctx, time.Now(), windows); err == nil {
			caps := map[string]policy.LimitSummary{}
			for _, l := range p.Summary().Limits {
				caps[l.Name] = l
			}
			for _, u := range usage {
				c := caps[u.Limit]
				fmt.Fprintf(w, "%-20s %-50s amount %s / %s  count %d / %s  window %s  oldest %s\n", u.Limit, u.Key,
					u.Amount, orDash(c.MaxAmount), u.Count, countCap(c.MaxCount), c.Window, u.Oldest.UTC().Format(time.RFC3339))
			}
			if len(usage) == 0 {
				fmt.Fprintln(w, "no usage within any limit's window")
			}
		}
	}
	if err != nil {
		w.Flush()
		return fail("%v", err)
	}
	return 0
}

// findPolicyLoad returns the newest POLICY row before r that put r's
// policy version in force, or nil (a decision by the built-in default, an
// operator row, or a log older than policy-load rows).
func findPolicyLoad(ctx context.Context, st store.Store, r *store.Record) (*policyLoadJSON, error) {
	if r.Version == "operator" || r.PolicyVersion == "" {
		return nil, nil
	}
	var found *policyLoadJSON
	errFound := errors.New("found")
	err := st.List(ctx, store.Filter{Rule: rulePolicy, Newest: true}, func(p *store.Record) error {
		if p.Seq >= r.Seq || p.PolicyVersion != r.PolicyVersion || p.Type != "POLICY" {
			return nil
		}
		pl := &policyLoadJSON{Seq: p.Seq, RequestID: p.RequestID, ReceivedAt: p.ReceivedAt}
		if err := json.Unmarshal(p.Request, &pl.policyLoad); err != nil {
			return fmt.Errorf("POLICY row %d: %w", p.Seq, err)
		}
		found = pl
		return errFound
	})
	if err != nil && !errors.Is(err, errFound) {
		return nil, err
	}
	return found, nil
}

// settingNames maps flag names to the names of their settings.
func settingNames(flags ...string) []string {
	var out []string
	for _, f := range flags {
		for _, s := range settings {
			if s.flag == f {
				out = append(out, s.name)
			}
		}
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func countCap(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// parseWhen reads an RFC 3339 time or a duration ago ("24h").
func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration", s)
	}
	return t, nil
}

// isHash reports whether s is spelled as the chain spells a hash.
func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// verifyJSON is `audit verify --json`'s output.
type verifyJSON struct {
	Decisions   int64       `json:"decisions"`
	Head        string      `json:"head"`
	FirstBroken *brokenJSON `json:"first_broken"`
	Anchor      *anchorJSON `json:"anchor,omitempty"`
	// StateMismatches are the differences between the freezes and
	// governance tables and what the chain records (consistency.go);
	// any is a break.
	StateMismatches []string `json:"state_mismatches"`
}

type brokenJSON struct {
	Seq       int64  `json:"seq"`
	RequestID string `json:"request_id"`
	Problem   string `json:"problem"`
}

type anchorJSON struct {
	Head  string `json:"head"`
	Found bool   `json:"found"`
	Seq   int64  `json:"seq,omitempty"`
}

// auditVerify walks the chain and, with an anchor, looks for it: a chain
// that verifies but lacks an anchored head was truncated or rewritten
// after it (a rewritten tail verifies on its own). Exit 1 when broken or
// the anchor is missing.
func auditVerify(ctx context.Context, st store.Store, anchor string, asJSON bool, w *bufio.Writer, fail func(string, ...any) int) int {
	rep, err := st.Verify(ctx)
	if err != nil {
		w.Flush()
		return fail("%v", err)
	}
	res := verifyJSON{Decisions: rep.Rows, Head: rep.Head}
	if b := rep.Break; b != nil {
		res.FirstBroken = &brokenJSON{Seq: b.Seq, RequestID: b.RequestID, Problem: b.Problem}
	}
	if anchor != "" && rep.Break == nil {
		a := &anchorJSON{Head: anchor}
		errFound := errors.New("found")
		err := st.List(ctx, store.Filter{Newest: true}, func(r *store.Record) error {
			if r.Hash == anchor {
				a.Found, a.Seq = true, r.Seq
				return errFound
			}
			return nil
		})
		if err != nil && !errors.Is(err, errFound) {
			w.Flush()
			return fail("%v", err)
		}
		res.Anchor = a
	} else if anchor != "" {
		res.Anchor = &anchorJSON{Head: anchor}
	}
	res.StateMismatches = []string{}
	if rep.Break == nil {
		if res.StateMismatches, err = stateMismatches(ctx, st); err != nil {
			w.Flush()
			return fail("%v", err)
		}
	}
	ok := rep.Break == nil && (res.Anchor == nil || res.Anchor.Found) && len(res.StateMismatches) == 0
	if asJSON {
		b, _ := json.Marshal(res)
		fmt.Fprintln(w, string(b))
		if !ok {
			return 1
		}
		return 0
	}
	switch {
	case rep.Break != nil:
		w.Flush()
		return fail("chain BROKEN after %d rows: seq %d (request_id %q): %s", rep.Rows, rep.Break.Seq, rep.Break.RequestID, rep.Break.Problem)
	case res.Anchor != nil && !res.Anchor.Found:
		w.Flush()
		return fail("anchored head %s is NOT in the chain (%d decisions, head %s): the log was truncated or rewritten after it", anchor, rep.Rows, rep.Head)
	case !ok:
		w.Flush()
		return fail("chain intact (%d decisions, head %s), but the store's tables do NOT match it (edited outside tssgate):\n  %s", rep.Rows, rep.Head, strings.Join(res.StateMismatches, "\n  "))
	}
	fmt.Fprintf(w, "chain intact: %d decisions, head %s\n", rep.Rows, rep.Head)
	if res.Anchor != nil {
		fmt.Fprintf(w, "anchored head %s found at seq %d\n", anchor, res.Anchor.Seq)
	}
	fmt.Fprintln(w, "freezes and governance tables match the chain")
	return 0
}

// auditBackup copies a SQLite store online and verifies the copy.
func auditBackup(ctx context.Context, st store.Store, out string, w *bufio.Writer, fail func(string, ...any) int) int {
	b, ok := st.(interface {
		Backup(ctx context.Context, path string) error
	})
	if !ok {
		return fail("only the SQLite store is backed up by tssgate; for PostgreSQL use pg_dump (see the README's Backups)")
	}
	if err := b.Backup(ctx, out); err != nil {
		return fail("%v", err)
	}
	cp, err := backend.OpenReadOnly(ctx, "sqlite:"+out)
	if err != nil {
		return fail("the backup %s does not open: %v", out, err)
	}
	defer cp.Close()
	rep, err := cp.Verify(ctx)
	if err != nil {
		return fail("verifying the backup %s: %v", out, err)
	}
	if rep.Break != nil {
		return fail("the backup %s has a BROKEN chain at seq %d: %s", out, rep.Break.Seq, rep.Break.Problem)
	}
	fmt.Fprintf(w, "backup %s: chain intact, %d decisions, head %s\n", out, rep.Rows, rep.Head)
	return 0
}

// clearOutpoint records the operator action in the decision log, then
// clears the outpoint's claim: an action that is not in the log did not
// happen. The record is a REJECT (it approves nothing) under rule
// operator:clear-outpoint, with the outpoint, reason and operator in its
// request.
func clearOutpoint(ctx context.Context, cfg Config, outpoint, reason string, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "audit clear-outpoint: %s\n", fmt.Sprintf(format, a...))
		return 1
	}
	if err := store.ValidOutpoint(outpoint); err != nil {
		return fail("%v", err)
	}
	ro, err := openExistingStore(ctx, cfg) // refuses a missing store rather than creating one
	if err != nil {
		return fail("%v", err)
	}
	ro.Close()
	st, err := backend.Open(ctx, cfg.StoreDSN())
	if err != nil {
		return fail("opening store %s: %v", backend.Redact(cfg.StoreDSN()), err)
	}
	defer st.Close()
	operator := os.Getenv("USER")
	if operator == "" {
		operator = "unknown"
	}
	now := time.Now()
	req, err := json.Marshal(map[string]string{"operator_action": "clear-outpoint", "outpoint": outpoint, "reason": reason, "operator": operator})
	if err != nil {
		return fail("%v", err)
	}
	rec := store.Record{
		RequestID: fmt.Sprintf("operator:clear-outpoint:%s:%d", outpoint, now.UnixNano()),
		Version:   "operator", Type: "CLEAR_OUTPOINT", NodeKey: "operator:" + operator, ReceivedAt: now,
		Request: req, Action: store.ActionReject, Rule: "operator:clear-outpoint",
		Reason: "operator cleared the claim for outpoint " + outpoint + ": " + reason, PolicyVersion: "operator",
	}
	stored, _, err := st.Commit(ctx, rec, nil)
	if err != nil {
		return fail("recording the action: %v (nothing was cleared)", err)
	}
	claim, err := st.ClearOutpoint(ctx, outpoint)
	if errors.Is(err, store.ErrNotFound) {
		fmt.Fprintf(stdout, "no claim was recorded for %s (the attempt is decision %d, %s)\n", outpoint, stored.Seq, stored.RequestID)
		return 0
	}
	if err != nil {
		return fail("clearing (the action is recorded as decision %d): %v", stored.Seq, err)
	}
	fmt.Fprintf(stdout, "cleared %s: first claimed at %s by request %s on %s; recorded as decision %d (%s)\n",
		outpoint, claim.Amount, claim.RequestID, claim.At.UTC().Format(time.RFC3339), stored.Seq, stored.RequestID)
	return 0
}
