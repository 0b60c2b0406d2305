package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"tssgate/internal/policy"
	"tssgate/internal/protocol"
	"tssgate/internal/replay"
)

const policyReplayUsage = `Usage: tssgate policy replay CANDIDATE.yaml [--config FILE] [--store DSN] [--since T] [--until T]
                             [--type T] [--json] [--examples N] [--fail-on loosen]

Re-decides the recorded decisions under the candidate policy and prints what
would change: counts of approve->reject and reject->approve, per rule (old ->
new), and the first N examples of each. Each recorded request is decided as
it was: the same request (rebuilt from the decision log and checked against
its recorded hash), its transaction bytes verified again as serve verifies
them (the built-in tables plus tssgate.tokens and tssgate.abis of --config),
its received time as the clock, and velocity limits simulated over the
decisions in commit order. The whole log is read from its first row, every
row checked against the hash chain (a broken chain is an error, exit 2);
--since, --until and --type choose what is reported. The history before
--since is applied as recorded: its approvals count toward the candidate's
limits and their transactions count once, its outpoint claims and freezes
stand. A --since after the current time is an error. The store is opened
read-only.

Records that are operator actions (version "operator") are skipped and
counted. Records whose reply was not an evaluation (status 10, 20, 30) are
replayed and reported apart; one the candidate would approve counts as
newly approved.

Exit status: 0 no decision would change, 1 some would (with --fail-on loosen:
only when something would newly be approved), 2 error.
`

// runPolicyReplay is `tssgate policy replay`.
func runPolicyReplay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("policy replay")
	sf := addSettingFlags(fs, settingNames("config", "data-dir", "store")...)
	since := fs.String("since", "", "replay decisions received at or after this time (RFC 3339, or a duration ago such as 24h)")
	until := fs.String("until", "", "replay decisions received before this time (RFC 3339 or a duration ago)")
	typ := fs.String("type", "", "report only this request type: PING, KEYGEN, KEYSIGN, KEYRESHARE or KEYSHARESIGN (the others in the period are still replayed: their approvals count toward limits)")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	examples := fs.Int("examples", replay.DefaultExamples, "examples kept of each kind of change (0: none)")
	failOn := fs.String("fail-on", "change", "exit 1 on: change (any decision changes) or loosen (something would newly be approved)")
	// Flags may follow the candidate's file name.
	var files []string
	rest := args
	for {
		if code, done := parseFlags(fs, rest, policyReplayUsage, stdout, stderr); done {
			return code
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "tssgate policy replay: %s\nRun 'tssgate policy replay --help' for usage.\n", fmt.Sprintf(format, a...))
		return 2
	}
	if len(files) != 1 {
		return usageErr("want one CANDIDATE.yaml, got %d arguments", len(files))
	}
	if *failOn != "change" && *failOn != "loosen" {
		return usageErr("--fail-on: want change or loosen, got %q", *failOn)
	}
	if *examples < 0 {
		return usageErr("--examples: want 0 or more, got %d", *examples)
	}
	cfgR := replay.Config{Examples: *examples}
	if *examples == 0 {
		cfgR.Examples = -1
	}
	var err error
	if cfgR.Since, err = parseWhen(*since); err != nil {
		return usageErr("--since: %v", err)
	}
	// A --since after now selects nothing and would report "no change"
	// whatever the candidate approves: only a mistake (-720h for 720h
	// ago, a year typed wrong) gives one.
	if now := time.Now(); cfgR.Since.After(now) {
		return usageErr("--since: %s is after the current time %s: nothing would be replayed (a duration means that long ago: 720h, not -720h)",
			cfgR.Since.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if cfgR.Until, err = parseWhen(*until); err != nil {
		return usageErr("--until: %v", err)
	}
	if !cfgR.Since.IsZero() && !cfgR.Until.IsZero() && !cfgR.Since.Before(cfgR.Until) {
		return usageErr("--since must be before --until")
	}
	if *typ != "" {
		rt, err := protocol.ParseRequestType(*typ)
		if err != nil {
			return usageErr("--type: %v", err)
		}
		cfgR.Type = rt.String()
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "tssgate policy replay: %s\n", fmt.Sprintf(format, a...))
		return 2
	}
	cfg, err := loadSettings(sf, osEnvironment())
	if err != nil {
		return fail("%v", err)
	}
	if cfgR.VerifyTx, err = txVerifier(cfg.Tokens, cfg.ABIs); err != nil {
		return fail("%v", err)
	}
	if cfgR.Candidate, err = policy.Load(files[0]); err != nil {
		return fail("%v", err)
	}
	st, err := openExistingStore(ctx, cfg)
	if err != nil {
		return fail("%v", err)
	}
	defer st.Close()
	cfgR.Store = st
	start := time.Now()
	if isTerminal(stderr) {
		cfgR.Progress = func(n int64) {
			fmt.Fprintf(stderr, "\rreplayed %d decisions (%.0f/s)", n, float64(n)/time.Since(start).Seconds())
		}
	}
	rep, err := replay.Run(ctx, cfgR)
	if cfgR.Progress != nil {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if err != nil {
		return fail("%v", err)
	}
	if *asJSON {
		out, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintln(stdout, string(out))
	} else {
		writeReplayReport(stdout, rep)
	}
	if *failOn == "loosen" {
		if rep.Loosens() {
			return 1
		}
		return 0
	}
	if rep.Changed() {
		return 1
	}
	return 0
}

// isTerminal reports whether w is a character device (a terminal), where
// progress may be redrawn in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func writeReplayReport(w io.Writer, r *replay.Report) {
	span := ""
	if r.Since != nil {
		span += " since " + r.Since.UTC().Format(time.RFC3339)
	}
	if r.Until != nil {
		span += " until " + r.Until.UTC().Format(time.RFC3339)
	}
	if r.Type != "" {
		span += " type " + r.Type
	}
	fmt.Fprintf(w, "replay under policy %s (version %s)%s\n", r.PolicyName, r.Policy, span)
	fmt.Fprintf(w, "  replayed          %d\n", r.Replayed)
	fmt.Fprintf(w, "  unchanged         %d\n", r.Unchanged)
	fmt.Fprintf(w, "  approve -> reject %d\n", r.ApproveToReject)
	fmt.Fprintf(w, "  reject -> approve %d\n", r.RejectToApprove)
	fmt.Fprintf(w, "  rule changed      %d (same action, another rule)\n", r.RuleChanged)
	fmt.Fprintf(w, "  not decided       %d (the candidate could not evaluate: counted as REJECT)\n", r.NotDecided)
	fmt.Fprintf(w, "  skipped           %d (operator records)\n", r.Skipped)
	if r.Since != nil {
		fmt.Fprintf(w, "  seeded approvals  %d (recorded before --since, counted toward the candidate's limits)\n", r.Seeded)
		if r.SeedLimitErrors > 0 {
			fmt.Fprintf(w, "  seeded limit errors %d (a candidate limit could not be evaluated for a recorded approval: it counts nothing there)\n", r.SeedLimitErrors)
		}
	}
	fmt.Fprintf(w, "  unevaluated       %d replayed (recorded with status 10, 20 or 30), %d would be approved\n",
		r.Unevaluated.Replayed, r.Unevaluated.WouldApprove)
	if len(r.Transitions) > 0 {
		fmt.Fprintln(w, "\nper rule (old -> new):")
		for _, t := range r.Transitions {
			fmt.Fprintf(w, "  %6d  %s %s -> %s %s\n", t.Count, t.OldAction, t.OldRule, t.NewAction, t.NewRule)
		}
	}
	section := func(title string, total int64, exs []replay.Example) {
		if len(exs) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s (first %d of %d):\n", title, len(exs), total)
		for _, e := range exs {
			what := strings.TrimSpace(e.Token + " " + e.Amount)
			if what == "" {
				what = "-"
			}
			fmt.Fprintf(w, "  %s  %s  %s  %s  %s -> %s", e.RequestID, e.ReceivedAt.UTC().Format(time.RFC3339Nano), e.Type, what, orDash(e.OldRule), e.NewRule)
			if e.NewReason != "" {
				fmt.Fprintf(w, ": %s", e.NewReason)
			}
			fmt.Fprintln(w)
		}
	}
	section("approve -> reject", r.ApproveToReject, r.Examples.ApproveToReject)
	section("reject -> approve", r.RejectToApprove, r.Examples.RejectToApprove)
	section("unevaluated, would be approved", r.Unevaluated.WouldApprove, r.Unevaluated.Examples)
	fmt.Fprintf(w, "\n%d decisions replayed in %.2f s (%.0f decisions/s)\n", r.Replayed, r.Seconds, r.PerSecond)
}
