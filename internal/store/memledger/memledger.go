// Package memledger is an exact in-memory velocity-limit ledger,
// outpoint-claim memory and freeze memory: it decides a limit exactly as the stores'
// Commit does (the same check.Limit, the same window bounds at microsecond
// precision, the same ledger times, the same rule that a transaction counts
// once per limit and key), and freezes an APPROVE exactly as Commit does
// (check.Frozen, check.FrozenReason), without a database. `tssgate policy replay`
// simulates a candidate policy's limits with it over the recorded
// decisions, in order.
//
// What it keeps grows with the entries it is given; Prune forgets the ones
// no window can reach any more. A Ledger is not safe for concurrent use:
// replay is sequential by design (each decision sees the ones before it).
//
// Fail closed: a use the stores would refuse is refused (store.ErrInvalid),
// and a window that starts before what Prune forgot is an error
// (ErrPruned), never a smaller usage.
package memledger

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"tssgate/internal/store"
	"tssgate/internal/store/internal/chain"
	"tssgate/internal/store/internal/check"
)

// ErrPruned is returned (wrapped) when a window starts before entries
// Prune already forgot, so its usage cannot be known exactly.
var ErrPruned = errors.New("memledger: window starts before pruned entries")

// Ledger is the in-memory ledger. The zero value is not usable; call New.
type Ledger struct {
	series map[seriesKey]*series
	claims map[string]store.OutpointClaim
	// freezes are the active freezes, in the order they were made.
	freezes []store.Freeze
}

type seriesKey struct{ limit, key string }

// series is one (limit, key)'s entries in insertion order: ledger times
// (Unix microseconds, non-decreasing, as check.LedgerTime keeps them), the
// running total up to each entry, and each entry's transaction key.
type series struct {
	at    []int64
	total []check.Total
	tx    []string
	// counted holds the non-empty transaction keys of the kept entries.
	counted map[string]bool
	// base is the running total at the last pruned entry, prunedAt its
	// time; pruned says whether any entry was pruned.
	base     check.Total
	prunedAt int64
	pruned   bool
}

// New returns an empty Ledger.
func New() *Ledger {
	return &Ledger{series: map[seriesKey]*series{}, claims: map[string]store.OutpointClaim{}}
}

// Decide checks uses for a decision received at receivedAt whose
// transaction key is txKey, as store.Store.Commit checks an APPROVE, and
// records them when every limit fits. It returns the exceeded limit's name
// and check.Limit's reason when one does not fit, in which case nothing is
// recorded; ("", "", nil) when the uses are recorded. A use whose
// (limit, key) already counted txKey (non-empty) is skipped, as the stores
// skip it. Errors: store.ErrInvalid (wrapped) for uses the stores refuse,
// ErrPruned (wrapped).
func (l *Ledger) Decide(receivedAt time.Time, txKey string, uses []store.LimitUse) (limit, reason string, err error) {
	return l.apply(receivedAt, txKey, uses, true)
}

// Record records uses without checking any cap: for approvals that were
// given (recorded history), which count toward later windows whatever a
// candidate's caps say. Skipping and errors are as for Decide.
func (l *Ledger) Record(receivedAt time.Time, txKey string, uses []store.LimitUse) error {
	_, _, err := l.apply(receivedAt, txKey, uses, false)
	return err
}

func (l *Ledger) apply(receivedAt time.Time, txKey string, uses []store.LimitUse, enforce bool) (string, string, error) {
	if err := check.Uses(uses); err != nil {
		return "", "", err
	}
	if receivedAt.IsZero() {
		return "", "", fmt.Errorf("%w: zero received_at", store.ErrInvalid)
	}
	at := chain.NormalizeTime(receivedAt)
	type pending struct {
		s     *series
		at    int64
		total check.Total
	}
	var writes []pending
	for _, u := range uses {
		s := l.series[seriesKey{u.Limit, u.Key}]
		if s == nil {
			s = &series{counted: map[string]bool{}}
			l.series[seriesKey{u.Limit, u.Key}] = s
		}
		if txKey != "" && s.counted[txKey] {
			continue
		}
		used, err := s.window(at.Add(-u.Window).UnixMicro())
		if err != nil {
			return "", "", fmt.Errorf("limit %q: %w", u.Limit, err)
		}
		if enforce {
			if reason := check.Limit(u, used.Amount, used.Count); reason != "" {
				return u.Limit, reason, nil
			}
		}
		newest, newestAt := s.newest()
		ledgerAt := check.LedgerTime(at, time.UnixMicro(newestAt).UTC())
		if len(s.at) == 0 && !s.pruned {
			ledgerAt = at
		}
		writes = append(writes, pending{s, ledgerAt.UnixMicro(), check.Next(newest, u)})
	}
	for _, w := range writes {
		w.s.at = append(w.s.at, w.at)
		w.s.total = append(w.s.total, w.total)
		w.s.tx = append(w.s.tx, txKey)
		if txKey != "" {
			w.s.counted[txKey] = true
		}
	}
	return "", "", nil
}

// newest returns the running total and time of the series' newest entry
// (the pruned base when every entry was pruned; zero for none).
func (s *series) newest() (check.Total, int64) {
	if n := len(s.at); n > 0 {
		return s.total[n-1], s.at[n-1]
	}
	return s.base, s.prunedAt
}

// window returns the usage of the entries after cutoff (Unix
// microseconds), as the stores read it: the newest running total minus the
// total at the last entry at or before cutoff.
func (s *series) window(cutoff int64) (check.Total, error) {
	newest, newestAt := s.newest()
	if (len(s.at) == 0 && !s.pruned) || newestAt <= cutoff {
		return check.Total{}, nil
	}
	if s.pruned && cutoff < s.prunedAt {
		return check.Total{}, fmt.Errorf("%w: window starts at %s, entries up to %s were pruned",
			ErrPruned, chain.FormatTime(time.UnixMicro(cutoff)), chain.FormatTime(time.UnixMicro(s.prunedAt)))
	}
	// The first kept entry after cutoff; the one before it (or the base)
	// is the total outside the window.
	i := sort.Search(len(s.at), func(i int) bool { return s.at[i] > cutoff })
	before := s.base
	if i > 0 {
		before = s.total[i-1]
	}
	amount, count, err := check.Window(newest, before)
	return check.Total{Amount: amount, Count: count}, err
}

// Prune forgets every entry recorded at or before t. A later Decide or
// Record whose window starts before t fails with ErrPruned rather than
// count less. The transaction keys of forgotten entries are forgotten too:
// the same transaction seen again after that counts again (the stores
// would skip it; a replay that prunes says so).
func (l *Ledger) Prune(t time.Time) {
	cut := chain.NormalizeTime(t).UnixMicro()
	for k, s := range l.series {
		i := sort.Search(len(s.at), func(i int) bool { return s.at[i] > cut })
		if i == 0 {
			continue
		}
		s.base, s.prunedAt, s.pruned = s.total[i-1], s.at[i-1], true
		for _, tx := range s.tx[:i] {
			delete(s.counted, tx)
		}
		s.at, s.total, s.tx = append([]int64(nil), s.at[i:]...), append([]check.Total(nil), s.total[i:]...), append([]string(nil), s.tx[i:]...)
		if len(s.at) == 0 && len(s.counted) == 0 {
			// Nothing in any window: keep only what makes later ledger
			// times non-decreasing and the totals continuous.
			l.series[k] = &series{counted: map[string]bool{}, base: s.base, prunedAt: s.prunedAt, pruned: true}
		}
	}
}

// Usage reports each limit's usage per key over the entries after
// now-window, as store.Store.LimitUsage does, sorted by limit then key;
// keys without usage in the window are omitted.
func (l *Ledger) Usage(now time.Time, windows map[string]time.Duration) ([]store.Usage, error) {
	var out []store.Usage
	for k, s := range l.series {
		w, ok := windows[k.limit]
		if !ok {
			continue
		}
		cutoff := chain.NormalizeTime(now).Add(-w).UnixMicro()
		used, err := s.window(cutoff)
		if err != nil {
			return nil, fmt.Errorf("limit %q: %w", k.limit, err)
		}
		if used.Count == 0 {
			continue
		}
		i := sort.Search(len(s.at), func(i int) bool { return s.at[i] > cutoff })
		out = append(out, store.Usage{Limit: k.limit, Key: k.key, Amount: used.Amount, Count: used.Count, Oldest: time.UnixMicro(s.at[i]).UTC()})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Limit != out[j].Limit {
			return out[i].Limit < out[j].Limit
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

// ClaimOutpoints is store.Store.ClaimOutpoints in memory: the first amount
// claimed for an outpoint stands, an equal amount passes, another amount
// conflicts, and when any claim conflicts nothing is recorded. Errors:
// store.ErrInvalid (wrapped) for a malformed claim.
func (l *Ledger) ClaimOutpoints(claims []store.OutpointClaim) ([]store.OutpointConflict, error) {
	claims, err := check.Claims(claims)
	if err != nil {
		return nil, err
	}
	var conflicts []store.OutpointConflict
	var fresh []store.OutpointClaim
	for _, c := range claims {
		first, ok := l.claims[c.Outpoint]
		switch {
		case !ok:
			fresh = append(fresh, c)
		case first.Amount.Cmp(c.Amount) != 0:
			conflicts = append(conflicts, store.OutpointConflict{Claim: c, First: first})
		}
	}
	if len(conflicts) > 0 {
		return conflicts, nil
	}
	for _, c := range fresh {
		l.claims[c.Outpoint] = c
	}
	return nil, nil
}

// ClearOutpoint forgets the claim for outpoint, as
// store.Store.ClearOutpoint does: store.ErrNotFound (wrapped) when there
// is none, store.ErrInvalid (wrapped) for a malformed outpoint.
func (l *Ledger) ClearOutpoint(outpoint string) (*store.OutpointClaim, error) {
	if err := check.Outpoint(outpoint); err != nil {
		return nil, err
	}
	c, ok := l.claims[outpoint]
	if !ok {
		return nil, fmt.Errorf("%w: no claim for outpoint %s", store.ErrNotFound, outpoint)
	}
	delete(l.claims, outpoint)
	return &c, nil
}

// Freeze makes f active: from now on Frozen turns approvals into
// REJECTs, as Commit does while a freeze is recorded. Freezing an id that
// is already active changes nothing.
func (l *Ledger) Freeze(f store.Freeze) {
	for _, a := range l.freezes {
		if a.ID == f.ID {
			return
		}
	}
	l.freezes = append(l.freezes, f)
}

// Unfreeze lifts the active freeze id, if there is one.
func (l *Ledger) Unfreeze(id string) {
	for i, a := range l.freezes {
		if a.ID == id {
			l.freezes = append(l.freezes[:i], l.freezes[i+1:]...)
			return
		}
	}
}

// ActiveFreezes returns the active freezes, oldest first, as
// store.Store.ActiveFreezes does.
func (l *Ledger) ActiveFreezes() []store.Freeze {
	return append([]store.Freeze(nil), l.freezes...)
}

// Frozen applies the active freezes to rec as Commit does, and reports
// whether it did: an APPROVE of any type but PING becomes a REJECT under
// store.RuleFrozen naming the oldest active freeze (it then consumes no
// limit).
func (l *Ledger) Frozen(rec *store.Record) bool {
	if len(l.freezes) == 0 || !check.Frozen(rec) {
		return false
	}
	rec.Action, rec.Rule, rec.Reason = store.ActionReject, store.RuleFrozen, check.FrozenReason(l.freezes[0], len(l.freezes))
	return true
}
