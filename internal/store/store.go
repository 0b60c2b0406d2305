// Package store owns tssgate's durable memory: the decision log, idempotency
// by request_id, the velocity-limit ledger, the outpoint claims and the
// governance in force (the governance file adopted on first use, changed
// only by AdoptGovernance's compare-and-set, each adoption a chain row).
//
// Every decision tssgate answers is one Record. Records form a hash chain:
// each row's Hash covers its own content and the previous row's Hash, so an
// edit, insertion or deletion in the middle of the log breaks the chain and
// Store.Verify finds it (see Hash in internal/chain for the exact
// encoding; chainverify checks it row by row outside the store). The chain
// is tamper-evident, not tamper-proof: someone who can write to the database
// can rewrite the whole tail; anchoring VerifyReport.Head somewhere else (a
// ticket, a log shipper) closes that gap.
//
// The package holds the domain types, the Store interface, the sentinel
// errors, RequestHashOf, and Monitor, the readiness answer built on
// Store.Probe and Commit outcomes. It imports no database driver: the
// implementations live in the sub-packages sqlite and postgres, backend.Open
// picks one from a DSN, and storetest is the conformance suite both must
// pass; memledger is an exact in-memory ledger for `tssgate policy
// replay` that decides limits as they do, and chainverify exports the
// chain's row-by-row check for readers that stream the log themselves
// (replay). The logic both implementations
// share lives under internal/, where the compiler keeps it to the store's
// own sub-packages: chain (the hash encoding, chain verification, the one
// spelling of a time), check (validation of records and filters, the limit
// decision) and migrate (loading the embedded migrations, refusing a newer
// schema).
//
// Fail closed: every Store method returns an error whenever it cannot
// establish its answer; callers must never treat an error as "no record" or
// "within limits".
package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"tssgate/internal/decimal"
	"tssgate/internal/decision"
	"tssgate/internal/protocol"
)

// Action values a Record may carry, spelled as on the wire.
const (
	ActionApprove = string(protocol.ActionApprove)
	ActionReject  = string(protocol.ActionReject)
)

var (
	// ErrNotFound is returned (wrapped) by Get when no decision carries the
	// request_id.
	ErrNotFound = errors.New("store: not found")

	// ErrConflict is returned (wrapped, with the request_id and both hashes)
	// by Commit when the request_id is already recorded for a request with
	// different content. Nothing is written; the caller decides how to
	// answer the node.
	ErrConflict = errors.New("store: request_id already recorded with different content")

	// ErrSchemaTooNew is returned (wrapped) by the implementations' Open when
	// the database was migrated by a newer tssgate: this binary does not know
	// what the newer schema means, so it refuses to write to it.
	ErrSchemaTooNew = errors.New("store: database schema is newer than this binary")

	// ErrInvalid is returned (wrapped, with the reason) by Commit and List
	// for a Record, LimitUse or Filter the store refuses to accept: a bug in
	// the caller, never something to record anyway.
	ErrInvalid = errors.New("store: invalid input")

	// ErrOutcomeUnknown is returned (wrapped, with both causes) by Commit
	// when the connection failed after COMMIT was sent and reading the row
	// back failed too: the decision may or may not be recorded. The caller
	// must not approve (the reply is a status 30), and must say so in its
	// log, because unlike every other Commit error the row, with its limit
	// usage, may exist; Get (tssgate audit show) tells, and a retry of the
	// same request is then answered from the record by idempotency.
	ErrOutcomeUnknown = errors.New("store: commit outcome unknown")
)

// Record is one decision row. Strings must be valid UTF-8 without NUL bytes
// (PostgreSQL's text type cannot hold others, and both stores must agree).
type Record struct {
	// Seq is the position in the hash chain: 1-based, gap-free, assigned by
	// Commit (any value passed in is ignored).
	Seq int64
	// RequestID is the node's request_id: the idempotency key. Required.
	RequestID string
	// Version is the protocol version, "v1" or "v2".
	Version string
	// Type is the request type name ("PING", "KEYSIGN", ...).
	Type string
	// NodeKey names the configured TSS Node key that verified the request.
	NodeKey string
	// ReceivedAt is when tssgate received the request. Commit stores it in
	// UTC truncated to the microsecond, the precision both databases keep,
	// and limit windows end at it. Its ledger entries are recorded at it,
	// or at the key's newest ledger time if that is later (ledger times
	// never go backwards per limit and key, which keeps the running totals
	// exact; an entry moved later counts longer, never shorter). Required.
	ReceivedAt time.Time
	// Request is the canonical JSON of the decoded request. Required, and
	// must be valid JSON: audit export embeds it verbatim.
	Request []byte
	// RequestHash is the lower-case hex SHA-256 of Request. Commit computes
	// it when empty and refuses a non-matching value; idempotency compares
	// it.
	RequestHash string
	// TxKey identifies the transaction for limits ("" when there is none).
	// The store treats it as opaque; the caller that decides builds it as
	// the transaction's id (v2 transaction_id, else biz_task_id; v1
	// cobo_id; an id the store could not hold is replaced by "sha256:" and
	// its hex SHA-256), a colon, and a hash of the sorted, normalized
	// msg_hash_list, so that an id reused for other bytes is another
	// transaction. Limits count each non-empty TxKey once.
	TxKey string
	// Action is ActionApprove or ActionReject.
	Action string
	// Status is the reply status (0 evaluated, 10, 20, 30). An APPROVE
	// must have status 0.
	Status int
	// Rule names the rule (or limit) that decided.
	Rule string
	// Reason explains the decision to a human.
	Reason string
	// Shadow holds the shadow-rule outcomes as a JSON array, or nil. An
	// empty slice is stored as nil.
	Shadow []byte
	// PolicyVersion identifies the policy that decided.
	PolicyVersion string
	// LatencyMicros is the evaluation latency, in microseconds.
	LatencyMicros int64
	// PrevHash is the Hash of row Seq-1, "" for the first row. Set by
	// Commit.
	PrevHash string
	// Hash is the chain hash of this record (internal/chain.Hash). Set by
	// Commit.
	Hash string
}

// LimitUse is one velocity limit an APPROVE would consume: the seam type
// decision.LimitUse, which the policy produces and Commit checks, so the
// pipeline hands it over as it is.
type LimitUse = decision.LimitUse

// Filter selects records for Store.List. The zero Filter selects every
// record in Seq order.
type Filter struct {
	// Since keeps records with ReceivedAt >= Since, when not zero.
	Since time.Time
	// Until keeps records with ReceivedAt < Until, when not zero.
	Until time.Time
	// Type, Action and Rule keep records with exactly that value, when not
	// empty.
	Type, Action, Rule string
	// Seq keeps only the record at exactly that chain position, when
	// positive (negative is invalid): how a pinned chain head is found
	// without walking the log.
	Seq int64
	// Limit stops after that many records; 0 means no limit, negative is
	// invalid.
	Limit int
	// Newest lists in descending Seq order, so that Limit keeps the most
	// recent records (what "audit list" wants by default on a big log).
	Newest bool
	// AfterSeq keeps records with Seq > AfterSeq, when not zero; negative
	// is invalid. It is served by the primary key, so that a poller which
	// remembers the last Seq it saw reads only what is new (serve reads
	// the POLICY rows every second this way).
	AfterSeq int64
}

// VerifyReport is the outcome of Store.Verify.
type VerifyReport struct {
	// Rows is the number of rows examined, including a broken one.
	Rows int64
	// Head is the Hash of the last row examined when the chain is intact
	// ("" for an empty log): record it elsewhere to detect a rewritten
	// tail later.
	Head string
	// Break is the first broken link, or nil when the chain is intact.
	Break *Break
}

// Break describes the first broken link in the hash chain.
type Break struct {
	// Seq is the sequence number stored in the offending row.
	Seq int64
	// RequestID is the offending row's request_id.
	RequestID string
	// Problem says what is wrong, for a human.
	Problem string
}

// Usage is one limit's running total for one key within its window.
type Usage struct {
	// Limit and Key identify the running total.
	Limit, Key string
	// Amount is the exact sum of amounts in the window.
	Amount decimal.Decimal
	// Count is the number of transactions in the window.
	Count int64
	// Oldest is the earliest ledger time in the window (UTC): the usage
	// starts to fall when Oldest+window passes. A ledger time is the
	// decision's ReceivedAt or, for an entry received before the key's
	// newest one, that newest entry's time.
	Oldest time.Time
}

// Store is the decision log and limit ledger. Implementations are safe for
// concurrent use by multiple goroutines, and, on a shared PostgreSQL, by
// multiple processes.
type Store interface {
	// Commit records one decision atomically and returns the row as stored.
	// In one transaction, serialized against every other Commit on the same
	// database (across processes too):
	//
	//  1. If rec.RequestID is already recorded: with the same RequestHash
	//     Commit returns the existing record and existed=true, writing and
	//     counting nothing; with a different one it returns ErrConflict.
	//  2. If rec.Action is APPROVE of any Type but PING and a freeze is
	//     active (Freezer), the decision becomes a REJECT under RuleFrozen
	//     naming the oldest active freeze (its id, operator, time and reason,
	//     and how many others are active) and no limit is
	//     checked or consumed. The freeze is read in the same transaction,
	//     so a freeze committed before this Commit began is always seen.
	//  3. If rec.Action is (still) APPROVE, each LimitUse is checked against the
	//     ledger (internal/check.Limit) over the entries after
	//     ReceivedAt-Window, read as the difference of two running totals
	//     (internal/check.Window), so the check costs the same however
	//     many entries the window holds; a transaction (non-empty TxKey)
	//     already in a limit's ledger skips that limit. If any limit would be exceeded
	//     the decision becomes a REJECT naming it (Rule = limit name, Reason
	//     from check.Limit) and no ledger entry is written for any limit;
	//     otherwise one ledger entry per checked limit is written. uses are
	//     ignored for a REJECT.
	//  4. The row is appended to the hash chain.
	//
	// Errors: ErrInvalid (wrapped) for a record or use the store refuses,
	// ErrConflict (wrapped), ErrOutcomeUnknown (wrapped), or a database
	// error. On any error other than ErrOutcomeUnknown nothing was recorded;
	// on every error the caller must not approve. An implementation whose
	// COMMIT can fail in doubt (the connection dropped after it was sent)
	// resolves that before returning: a row found, equal to what was
	// written, is returned as committed; a row proven absent is an error;
	// and only when that cannot be established is it ErrOutcomeUnknown.
	Commit(ctx context.Context, rec Record, uses []LimitUse) (stored *Record, existed bool, err error)

	// Get returns the record for requestID, or an error wrapping
	// ErrNotFound.
	Get(ctx context.Context, requestID string) (*Record, error)

	// List calls fn for each record matching f, in Seq order (descending
	// with f.Newest), streaming: memory use does not grow with the log. An
	// error from fn stops the walk and is returned as is. ErrInvalid
	// (wrapped) for a bad Filter.
	List(ctx context.Context, f Filter, fn func(*Record) error) error

	// Verify walks the whole chain in Seq order, streaming, and reports the
	// first broken link: a Seq gap, a PrevHash that is not the previous
	// row's Hash, a Hash that does not match the content, or a RequestHash
	// that does not match Request. A broken chain is a report, not an error;
	// the error is for failing to read.
	Verify(ctx context.Context) (*VerifyReport, error)

	// LimitUsage reports, for each limit named in windows, the usage per key
	// over ledger entries after now-window, sorted by limit then key. Keys
	// without usage in the window are omitted.
	LimitUsage(ctx context.Context, now time.Time, windows map[string]time.Duration) ([]Usage, error)

	// Probe does a real write, as a Commit would (the same locks, the same
	// file or connection), without touching the decision log: it upserts
	// one row of a probe table in a transaction and commits it. A nil error
	// means a decision could be recorded right now; a file that cannot be
	// written, a held write lock, a stopped or unreachable database or a
	// stuck commit lock each make it fail within ctx's deadline.
	// Readiness (see Monitor) is built on it.
	Probe(ctx context.Context) error

	// ClaimOutpoints is the outpoint-claim memory: for each claim, in one
	// transaction serialized against every other claim on the database
	// (across replicas too), the first amount recorded for its outpoint
	// stands. A claim for an outpoint not yet recorded is recorded; one
	// whose amount equals the recorded amount (a retry, a replacement
	// spending the coin again) passes; one with another amount is a
	// conflict. When any claim conflicts, nothing is recorded and every
	// conflict is returned; otherwise conflicts is empty and every new
	// claim is durable when ClaimOutpoints returns. ErrInvalid (wrapped)
	// for a malformed claim (see OutpointClaim); any other error means the
	// claims could not be checked, and the caller must not approve.
	ClaimOutpoints(ctx context.Context, claims []OutpointClaim) (conflicts []OutpointConflict, err error)

	// ClearOutpoint forgets the claim for outpoint and returns it, so that
	// the next claim stands. It is an operator action: the caller records
	// it in the decision log first (tssgate audit clear-outpoint does).
	// ErrNotFound (wrapped) when no claim is recorded; ErrInvalid
	// (wrapped) for a malformed outpoint.
	ClearOutpoint(ctx context.Context, outpoint string) (*OutpointClaim, error)

	// Freezer is the freeze memory; Commit enforces it (step 2 above is
	// preceded by it: while any freeze is active, an APPROVE of any Type
	// but PING is stored as a REJECT under RuleFrozen naming the freeze,
	// and no ledger entry is written).
	Freezer

	// Governance returns the governance in force: the governance file the
	// store adopted last (trust on first use, then only changes the caller
	// proved to have a quorum). ErrNotFound (wrapped) when none was ever
	// adopted.
	Governance(ctx context.Context) (*GovernanceState, error)

	// AdoptGovernance makes g the governance in force, as a compare-and-set
	// on the one in force: in one transaction, serialized against Commit
	// (across replicas too), it fails with ErrGovernanceChanged (wrapped)
	// unless the SHA256 of the governance in force is prev ("" for none),
	// then appends rec to the hash chain as Commit would (rec must be a
	// REJECT: it approves nothing; no limit is checked) and stores g with
	// the row's Seq and rec's ReceivedAt as its adoption. It returns the
	// row as stored. The store does not check signatures: the caller
	// adopts a change only after proving the quorum of the governance in
	// force. ErrInvalid (wrapped) for a bad g (empty Content, or SHA256 not
	// its hash) or rec, ErrConflict (wrapped) when rec's RequestID is
	// already recorded; on any error nothing changed (on PostgreSQL a lost
	// COMMIT answer leaves it unknown: the caller must not proceed, and
	// Governance tells).
	AdoptGovernance(ctx context.Context, prev string, g GovernanceState, rec Record) (*Record, error)

	// Close releases the database handle. The Store must not be used
	// afterwards.
	Close() error
}

// GovernanceState is the governance in force as the store keeps it.
type GovernanceState struct {
	// SHA256 is the lower-case hex SHA-256 of Content.
	SHA256 string
	// Content is the governance file's bytes.
	Content []byte
	// AdoptedAt is when it was adopted (the chain row's ReceivedAt).
	AdoptedAt time.Time
	// Seq is the chain row that records its adoption. Set by
	// AdoptGovernance.
	Seq int64
}

// ErrGovernanceChanged is returned (wrapped) by AdoptGovernance when the
// governance in force is not the one the caller checked the change
// against (another replica adopted one meanwhile). Nothing is written;
// the caller reads the governance in force again and decides anew.
var ErrGovernanceChanged = errors.New("store: the governance in force changed")

// OutpointClaim is the amount a verified UTXO KEYSIGN claimed for one
// spent output (selected_utxos[].value). Outpoint is "txid:vout", the txid
// 64 lower-case hex digits in display order and vout decimal without
// leading zeros; Amount is in coins, non-negative; RequestID names the
// KEYSIGN and At is when it was received (stored to the microsecond).
type OutpointClaim struct {
	Outpoint  string
	Amount    decimal.Decimal
	RequestID string
	At        time.Time
}

// ValidOutpoint checks an outpoint's one spelling: 64 lower-case hex
// digits (the txid in display order), a colon, and the output index in
// decimal below 2^32 without leading zeros. Errors wrap ErrInvalid.
func ValidOutpoint(op string) error {
	txid, vout, ok := strings.Cut(op, ":")
	if !ok || len(txid) != 64 || strings.Trim(txid, "0123456789abcdef") != "" {
		return fmt.Errorf("%w: outpoint %q is not txid:vout with a 64-digit lower-case hex txid", ErrInvalid, clip(op))
	}
	n, err := strconv.ParseUint(vout, 10, 32)
	if err != nil || strconv.FormatUint(n, 10) != vout {
		return fmt.Errorf("%w: outpoint %q: vout is not a decimal below 2^32 without leading zeros", ErrInvalid, clip(op))
	}
	return nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// OutpointConflict is a claim refused because its outpoint was first
// claimed with another amount.
type OutpointConflict struct {
	Claim OutpointClaim // the refused claim
	First OutpointClaim // the claim on record
}
