package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"tssgate/internal/policy"
	"tssgate/internal/store"
)

const auditUsage = `Usage: tssgate audit COMMAND [flags]

Reads the decision log (the store 'tssgate serve' writes; by default
sqlite:./tssgate-data/tssgate.db).

  list     decisions, newest first: --since --until --type --action --rule --limit, --json for JSON lines
  show ID  one decision in full (the decoded request, hashes, shadow outcomes)
  export   every decision as JSON lines, oldest first, streaming (constant memory)
  verify   walk the hash chain; exit 1 and name the first broken link
  limits   current usage of each velocity limit per key (--policy names the limits and windows)

Flags common to every command: --store DSN, --config FILE, --data-dir DIR
(env TSSGATE_STORE, TSSGATE_CONFIG, TSSGATE_DATA_DIR).
`

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
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(stdout, auditUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, rest := args[0], args[1:]
	fs := flag.NewFlagSet("audit "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), auditUsage); fs.PrintDefaults() }
	storeDSN := fs.String("store", "", "decision store: sqlite:PATH or postgres://URL")
	configPath := fs.String("config", "", "tssgate config file (for its store and data_dir)")
	dataDir := fs.String("data-dir", "", "data directory (default ./tssgate-data)")
	var (
		since, until      = fs.String("since", "", "list: from this time (RFC 3339, or a duration ago such as 24h)"), fs.String("until", "", "list: before this time (RFC 3339 or a duration ago)")
		typ, action, rule = fs.String("type", "", "list: only this request type (KEYSIGN...)"), fs.String("action", "", "list: only APPROVE or REJECT"), fs.String("rule", "", "list: only decisions by this rule")
		limit             = fs.Int("limit", 50, "list: at most this many decisions (0: all)")
		asJSON            = fs.Bool("json", false, "list: JSON lines instead of text")
		policyPath        = fs.String("policy", "", "limits: the policy file whose limits to report")
		fail              = func(format string, a ...any) int {
			fmt.Fprintf(stderr, "audit %s: %s\n", cmd, fmt.Sprintf(format, a...))
			return 1
		}
		knownCommand = map[string]bool{"list": true, "show": true, "export": true, "verify": true, "limits": true}
	)
	if !knownCommand[cmd] {
		fmt.Fprintf(stderr, "audit: unknown command %q\n\n%s", cmd, auditUsage)
		return 2
	}
	if err := fs.Parse(rest); err != nil {
		return flagExit(err)
	}
	cfg := DefaultConfig()
	if p := firstNonEmpty(*configPath, os.Getenv("TSSGATE_CONFIG")); p != "" {
		if err := cfg.applyFile(p); err != nil {
			return fail("%v", err)
		}
	}
	if err := cfg.applyEnv(os.Getenv); err != nil {
		return fail("%v", err)
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	if *storeDSN != "" {
		cfg.Store = *storeDSN
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return fail("%v", err)
	}
	defer st.Close()
	w := bufio.NewWriter(stdout)
	defer w.Flush()

	switch cmd {
	case "list":
		if fs.NArg() != 0 {
			return fail("unexpected arguments %q", fs.Args())
		}
		f := store.Filter{Type: strings.ToUpper(*typ), Action: strings.ToUpper(*action), Rule: *rule, Limit: *limit, Newest: true}
		if f.Since, err = parseWhen(*since); err != nil {
			return fail("--since: %v", err)
		}
		if f.Until, err = parseWhen(*until); err != nil {
			return fail("--until: %v", err)
		}
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
		if fs.NArg() != 1 {
			return fail("want one REQUEST_ID")
		}
		var r *store.Record
		if r, err = st.Get(ctx, fs.Arg(0)); errors.Is(err, store.ErrNotFound) {
			return fail("no decision for request_id %q", fs.Arg(0))
		}
		if err == nil {
			out, _ := json.MarshalIndent(toAudit(r, true), "", "  ")
			_, err = fmt.Fprintln(w, string(out))
		}
	case "export":
		enc := json.NewEncoder(w)
		err = st.List(ctx, store.Filter{}, func(r *store.Record) error { return enc.Encode(toAudit(r, true)) })
	case "verify":
		var rep *store.VerifyReport
		if rep, err = st.Verify(ctx); err == nil {
			if rep.Break != nil {
				w.Flush()
				return fail("chain BROKEN after %d rows: seq %d (request_id %q): %s", rep.Rows, rep.Break.Seq, rep.Break.RequestID, rep.Break.Problem)
			}
			fmt.Fprintf(w, "chain intact: %d decisions, head %s\n", rep.Rows, rep.Head)
		}
	case "limits":
		if *policyPath == "" {
			*policyPath = cfg.Policy
		}
		if *policyPath == "" {
			return fail("--policy FILE is required: the policy names the limits and their windows")
		}
		p, perr := policy.Load(*policyPath)
		if perr != nil {
			return fail("%v", perr)
		}
		windows := p.Windows()
		if len(windows) == 0 {
			fmt.Fprintf(w, "%s defines no limits\n", *policyPath)
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

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
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
