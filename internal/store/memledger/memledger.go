// Package memledger is an exact in-memory velocity-limit ledger,
// outpoint-claim memory and freeze memory: it decides a limit exactly as the stores'
// Commit does (the same check.Limit, the same window bounds at microsecond
// precision, the same ledger times, the same rule that a transaction counts
// once per limit and key), and freezes an APPROVE exactly as Commit does
// (check.Frozen, check.FrozenReason), without a database. `tssgate policy replay`
// simulates a candidate policy's limits with it over the recorded
// decisions, in order.
//
// What it keeps: the ledger entries (Prune forgets the ones at or before
// a time, and a (limit, key) left without entries entirely), and, never
// forgotten, every (limit, key, transaction key) that counted, because the
// stores skip a transaction already counted under a limit and key however
// long ago it counted, and every outpoint's first claim until it is
// cleared, because the stores keep it as long. Those two grow with the
// approvals and the distinct outpoints given (tens of bytes each plus the
// keys); everything else is bounded by what the windows can reach. A
// Ledger is not safe for concurrent use: replay is sequential by design
// (each decision sees the ones before it).
//
// Fail closed: a use the stores would refuse is refused (store.ErrInvalid),
// and a window that starts before a time Prune forgot entries up to is an
// error (ErrPruned), never a smaller usage.
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
	// counted holds every (limit, key, transaction key) that counted, for
	// the life of the Ledger: Prune never forgets one (the stores'
	// once-per-transaction rule has no time bound).
	counted map[countKey]struct{}
	// prunedTo is the latest time (Unix microseconds) Prune forgot
	// entries up to; a window starting before it cannot be read exactly,
	// whichever (limit, key) it is for, since a (limit, key) whose
	// entries were all forgotten is dropped.
	prunedTo int64
	pruned   bool
	claims   map[string]store.OutpointClaim
	// freezes are the active freezes, in the order they were made.
	freezes []store.Freeze
}

type seriesKey struct{ limit, key string }

type countKey struct{ limit, key, tx string }

// series is one (limit, key)'s kept entries in insertion order: ledger
// times (Unix microseconds, non-decreasing, as check.LedgerTime keeps
// them) and the running total up to each entry.
type series struct {
	at    []int64
	total []check.Total
	// base is the running total at the last pruned entry, prunedAt its
	// time; pruned says whether any entry was pruned.
	base     check.Total
	prunedAt int64
	pruned   bool
}

// New returns an empty Ledger.
func New() *Ledger {
	return &Ledger{series: map[seriesKey]*series{}, counted: map[countKey]struct{}{}, claims: map[string]store.OutpointClaim{}}
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
		k     seriesKey
		s     *series
		at    int64
		total check.Total
	}
	var writes []pending
	for _, u := range uses {
		k := seriesKey{u.Limit, u.Key}
		if _, done := l.counted[countKey{u.Limit, u.Key, txKey}]; txKey != "" && done {
			continue
		}
		s := l.series[k]
		if s == nil {
			s = &series{}
		}
		used, err := l.window(s, at.Add(-u.Window).UnixMicro())
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
		writes = append(writes, pending{k, s, ledgerAt.UnixMicro(), check.Next(newest, u)})
	}
	for _, w := range writes {
		w.s.at = append(w.s.at, w.at)
		w.s.total = append(w.s.total, w.total)
		l.series[w.k] = w.s
		if txKey != "" {
			l.counted[countKey{w.k.limit, w.k.key, txKey}] = struct{}{}
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

// window returns the usage of s's entries after cutoff (Unix
// microseconds), as the stores read it: the newest running total minus the
// total at the last entry at or before cutoff.
func (l *Ledger) window(s *series, cutoff int64) (check.Total, error) {
	if l.pruned && cutoff < l.prunedTo {
		return check.Total{}, fmt.Errorf("%w: window starts at %s, entries up to %s were pruned",
			ErrPruned, chain.FormatTime(time.UnixMicro(cutoff)), chain.FormatTime(time.UnixMicro(l.prunedTo)))
	}
	newest, newestAt := s.newest()
	if (len(s.at) == 0 && !s.pruned) || newestAt <= cutoff {
		return check.Total{}, nil
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

// Prune forgets every entry recorded at or before t, and every (limit,
// key) left without entries. A later Decide, Record or Usage whose window
// starts before t (or before an earlier Prune's t, if later) fails with
// ErrPruned rather than count less. The transactions that counted are
// never forgotten: one seen again after a Prune is skipped, as the stores
// skip it.
func (l *Ledger) Prune(t time.Time) {
	cut := chain.NormalizeTime(t).UnixMicro()
	if !l.pruned || cut > l.prunedTo {
		l.prunedTo, l.pruned = cut, true
	}
	for k, s := range l.series {
		i := sort.Search(len(s.at), func(i int) bool { return s.at[i] > cut })
		if i == 0 {
			continue
		}
		if i == len(s.at) {
			// Nothing left that a window can reach: a window starting
			// at or after cut sees no entry of it, and one starting
			// before is refused; later entries start a fresh series, at
			// their own time (never before cut, by the same refusal).
			delete(l.series, k)
			continue
		}
		s.base, s.prunedAt, s.pruned = s.total[i-1], s.at[i-1], true
		s.at, s.total = append([]int64(nil), s.at[i:]...), append([]check.Total(nil), s.total[i:]...)
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
		used, err := l.window(s, cutoff)
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
