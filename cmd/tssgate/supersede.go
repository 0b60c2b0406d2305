package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"tssgate/internal/policy"
	"tssgate/internal/protocol"
	"tssgate/internal/store"
)

// Rules of the rejections supersedeGuard makes.
const (
	// ruleSuperseded: this replica's policy serial is below the highest
	// serial a governed POLICY row of the decision log records.
	ruleSuperseded = "builtin:policy-superseded"
	// ruleUngoverned: the store has a governance in force and this
	// replica runs without one.
	ruleUngoverned = "builtin:governance-in-force"
	// ruleStoreUnknown: the store could not be read for longer than
	// supersedeStale, so whether the policy was superseded is unknown.
	ruleStoreUnknown = "builtin:policy-state-unknown"
)

// supersedeStale is how long the guard keeps deciding on the last state
// it read when the store cannot be read: long enough to ride out a
// failover, short enough that a replica cut off from the log does not go
// on approving under a policy the quorum may have replaced meanwhile.
const supersedeStale = 10 * time.Second

// supersedeEvery is the longest interval between two reads of the store's
// state; serve polls at the policy poll interval when that is shorter.
const supersedeEvery = time.Second

// supersedeGuard wraps the policy Holder of one replica so that what the
// quorum put in force on any replica binds this one. The serial check of
// policyGate only stops a replica from loading an older policy; it does
// not stop one from keeping it. The guard reads the decision store every
// interval (run) and, while
//
//   - a governance is in force in the store and this replica runs
//     without governance (started before it was adopted), or
//   - this replica is governed and its policy's serial is below the
//     highest serial of the governed POLICY rows (another replica put a
//     newer policy in force), or
//   - the store could not be read for longer than supersedeStale,
//
// every key task is REJECTed with a rule of its own and the reason, and
// /readyz is 503 with the same reason; PING still approves. The serial is
// compared with the policy serving at decision time, so loading a policy
// at least as high clears the state at once.
type supersedeGuard struct {
	holder   *policy.Holder
	st       store.Store
	governed bool
	now      func() time.Time

	mu      sync.Mutex
	govSHA  string    // the governance in force at the last good read, "" none
	max     uint64    // the highest governed serial at the last good read
	maxSeq  int64     // the decision that recorded max
	scanned int64     // the highest POLICY row seq read so far
	readAt  time.Time // the last good read; zero before the first
	readErr error     // the last read's error; nil when it succeeded
}

// newSupersedeGuard returns the guard of holder, reading the store once.
// Until a read succeeds the guard knows no state to keep, so it rejects
// from the start.
func newSupersedeGuard(ctx context.Context, holder *policy.Holder, st store.Store, governed bool) *supersedeGuard {
	g := &supersedeGuard{holder: holder, st: st, governed: governed, now: time.Now}
	g.refresh(ctx)
	return g
}

// refresh reads the governance in force and the highest governed serial,
// reading only the POLICY rows committed since the last read (the chain
// commits rows one at a time in seq order, so none appears below a seq
// already read): a poll every second stays cheap on a large log.
func (g *supersedeGuard) refresh(ctx context.Context) {
	qctx, cancel := context.WithTimeout(ctx, governTimeout)
	defer cancel()
	govSHA := ""
	cur, err := g.st.Governance(qctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
		err = nil
	case err == nil:
		govSHA = cur.SHA256
	}
	g.mu.Lock()
	max, maxSeq, scanned := g.max, g.maxSeq, g.scanned
	g.mu.Unlock()
	if err == nil {
		err = g.st.List(qctx, store.Filter{Type: "POLICY", Rule: rulePolicy, AfterSeq: scanned}, func(rec *store.Record) error {
			var l policyLoad
			if err := json.Unmarshal(rec.Request, &l); err != nil {
				return fmt.Errorf("POLICY row %d (%s) does not parse: %w", rec.Seq, rec.RequestID, err)
			}
			if l.GovernanceSHA256 != "" && l.Serial > max {
				max, maxSeq = l.Serial, rec.Seq
			}
			scanned = max64(scanned, rec.Seq)
			return nil
		})
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		g.readErr = fmt.Errorf("reading the governance in force and the policy loads: %w", err)
		return
	}
	g.govSHA, g.max, g.maxSeq, g.scanned, g.readAt, g.readErr = govSHA, max, maxSeq, scanned, g.now(), nil
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// problem returns the rule and the reason the guard rejects for now, or
// "", nil when the policy serving may decide.
func (g *supersedeGuard) problem() (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.readErr != nil && g.readAt.IsZero() {
		return ruleStoreUnknown, fmt.Errorf("the decision store has not been read since start, so whether this server's policy was superseded is unknown: %v", g.readErr)
	}
	if g.readErr != nil && g.now().Sub(g.readAt) > supersedeStale {
		return ruleStoreUnknown, fmt.Errorf("the decision store could not be read for %s, so whether this server's policy was superseded is unknown: %v", g.now().Sub(g.readAt).Round(time.Second), g.readErr)
	}
	if g.govSHA != "" && !g.governed {
		return ruleUngoverned, fmt.Errorf("the decision store has a governance in force (sha256 %s) and this server runs without governance: its unsigned policy no longer decides; restart it with tssgate.governance set to that file and a signed policy", g.govSHA)
	}
	if cur := g.holder.Current(); g.governed && cur.Serial() < g.max {
		return ruleSuperseded, fmt.Errorf("policy serial %d was superseded by serial %d, put in force at decision %d (on this or another server): deploy that policy and its signatures here", cur.Serial(), g.max, g.maxSeq)
	}
	return "", nil
}

// ready is the guard's /readyz check.
func (g *supersedeGuard) ready() error {
	_, err := g.problem()
	return err
}

// Decide implements policy.Decider: the holder's decision, unless the
// guard rejects every key task for now.
func (g *supersedeGuard) Decide(ctx context.Context, req *protocol.Request) (policy.Decision, error) {
	if req.Type != protocol.TypePing {
		if rule, err := g.problem(); err != nil {
			return policy.Decision{Action: protocol.ActionReject, Rule: rule, Reason: err.Error(), PolicyVersion: g.holder.Current().Version()}, nil
		}
	}
	return g.holder.Decide(ctx, req)
}

// run refreshes every interval until ctx is done, logging each change of
// state (at error level when the guard starts rejecting).
func (g *supersedeGuard) run(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		g.refresh(ctx)
		if ctx.Err() != nil {
			return
		}
		rule, err := g.problem()
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		switch {
		case msg == last:
		case err != nil:
			log.Error("rejecting every key task: the policy serving here is not the one in force", slog.String("rule", rule), slog.Any("reason", err))
		default:
			log.Info("the policy serving here is in force again; deciding under it", slog.String("policy_version", g.holder.Current().Version()))
		}
		last = msg
	}
}
