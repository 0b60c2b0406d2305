// Package sqlite implements store.Store on an SQLite file, through the pure-Go
// modernc.org/sqlite driver (no cgo). It is tssgate's default store: one
// process, one file in the data directory.
//
// Durability and ordering: the database runs in WAL mode with
// synchronous=FULL, so a Commit that returned has reached the disk and
// survives a crash or power loss. Commits are serialized twice: by a
// semaphore inside the process (so waiting goroutines queue instead of
// polling SQLite's busy handler) and by BEGIN IMMEDIATE across processes
// that share the file. Reads (Get, List, Verify, LimitUsage) run on their
// own connections and see a consistent snapshot without blocking Commit.
//
// Group commit: Commits that arrive while one runs wait in a queue, and
// the next holder of the semaphore runs all of them (up to maxBatch) in one
// transaction, so they share one fsync. Within it each decision is checked
// and written in queue order, so its idempotency lookup, limit check and
// chain link see the decisions before it. Every member gets its own answer,
// and only after the COMMIT returned; if any member's write or the COMMIT
// fails, the transaction is rolled back and every member gets the error
// (the caller answers status 30), so nothing of a failed batch is recorded
// or approved. A Commit whose context ends while it still waits in the
// queue leaves it and records nothing; once a batch has taken it, it waits
// for the batch's outcome, so that the outcome is always known.
//
// No in-doubt commits: unlike a network database, a COMMIT here is a call
// into SQLite in this process on a local file, and its result is the
// outcome. Success means the commit frame is in the WAL and synced; an
// error means SQLite rolled the transaction back (SQLITE_BUSY, I/O errors,
// a full disk) or database/sql did (a context done before the commit), and
// nothing of it is visible. There is no connection that can break between
// sending COMMIT and hearing the answer, so Commit never returns
// store.ErrOutcomeUnknown.
//
// Limits: each ledger row carries the running total of its (limit, key)
// (exact decimal text and a count), so a check reads the key's newest row
// and its last row at or before the window's start, two lookups of one
// covering index, never the window's entries. The totals are exact because
// the semaphore serializes every writer and ledger times never decrease
// per key (internal/check.LedgerTime).
//
// Freezes: a group commit reads the active freezes once (one statement of
// a partial index, only when a member approves), under the write lock, so
// a freeze that committed before the batch began turns every approval in
// it (but a PING's) into a builtin:frozen REJECT. Freeze, Unfreeze and
// AddLiftSignature take the same write path as a commit.
//
// Probe takes the same semaphore and the same BEGIN IMMEDIATE write lock as
// Commit and rewrites one row of the write_probe table, so a held write
// lock, a full disk and a failing write or fsync all fail it.
//
// Assumptions: the file lives on a local file system (SQLite's locking is
// unreliable on network file systems), and only tssgate writes to it.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sqlitedriver "modernc.org/sqlite" // also registers the "sqlite" database/sql driver

	"tssgate/internal/decimal"
	"tssgate/internal/store"
	"tssgate/internal/store/internal/chain"
	"tssgate/internal/store/internal/check"
	"tssgate/internal/store/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// maxOpenConns bounds the connection pool: one writer at a time plus a few
// concurrent readers (an audit export streaming while decisions commit).
const maxOpenConns = 8

// busyTimeout is how long a statement waits for another process's lock
// before failing. Within one process the semaphore does the waiting.
const busyTimeout = 10 * time.Second

// Store is the SQLite implementation of store.Store. It is safe for
// concurrent use.
type Store struct {
	db *sql.DB
	// commitSem holds one token: whoever holds it may run a group commit
	// (or a Probe).
	commitSem chan struct{}
	// mu guards queue, the Commits waiting for the next group commit.
	mu    sync.Mutex
	queue []*pending
	// batches counts the group commits run, for tests.
	batches atomic.Int64
	// st are the hot path's statements, prepared once: modernc's driver
	// parses a statement on every unprepared query, which cost more CPU
	// per decision than the rest of the commit.
	st *statements
	// batchObserver, when set, is told each group commit's size.
	batchObserver atomic.Pointer[func(int)]
}

// statements are the queries of Get and of every Commit, prepared on the
// pool (database/sql prepares each on a connection once, on first use
// there, and keeps it).
type statements struct {
	get, head, counted, newest, before, insertDecision, insertLedger, frozen *sql.Stmt
}

// prepare prepares s.st, after migrations (a statement prepared against
// an older schema would fail). A read-only store prepares the writes too:
// SQLite prepares them, and running one fails with SQLITE_READONLY, so
// Commit on such a store is an error like any other.
func (s *Store) prepare(ctx context.Context) error {
	st := &statements{}
	type query struct {
		to  **sql.Stmt
		sql string
	}
	list := []query{
		{&st.get, getQuery},
		{&st.head, headQuery},
		{&st.counted, countedQuery},
		{&st.newest, newestQuery},
		{&st.before, beforeQuery},
		{&st.insertDecision, insertDecisionQuery},
		{&st.insertLedger, insertLedgerQuery},
		{&st.frozen, frozenQuery},
	}
	for _, q := range list {
		stmt, err := s.db.PrepareContext(ctx, q.sql)
		if err != nil {
			return fmt.Errorf("preparing %q: %w", q.sql, err)
		}
		*q.to = stmt
	}
	s.st = st
	return nil
}

// SetBatchObserver makes fn receive the number of decisions of every group
// commit from now on (for a batch-size metric); nil stops it. fn runs on
// the commit path and must be quick.
func (s *Store) SetBatchObserver(fn func(n int)) {
	if fn == nil {
		s.batchObserver.Store(nil)
		return
	}
	s.batchObserver.Store(&fn)
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed, with mode 0600) the SQLite database at
// path, applies the embedded migrations, and returns the Store. The
// directory must exist. Errors: store.ErrSchemaTooNew (wrapped) when the
// file was migrated by a newer tssgate; otherwise a file or database error.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: resolving %q: %w", path, err)
	}
	// Create the file ourselves so that it is private: decisions contain
	// request contents. SQLite gives the -wal and -shm files the same mode.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %q: %w", abs, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlite: opening %q: %w", abs, err)
	}

	s, err := openDB(abs, "")
	if err != nil {
		return nil, err
	}
	db := s.db
	if err := s.setWAL(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: opening %q: %w", abs, err)
	}
	if err := s.check(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: opening %q: %w", abs, err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: migrating %q: %w", abs, err)
	}
	if err := s.prepare(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: opening %q: %w", abs, err)
	}
	return s, nil
}

// OpenReadOnly opens the existing SQLite database at path for reading only,
// as the audit commands do: it never creates the file, never migrates, and
// the connection is read-only (mode=ro), so Commit and Probe fail. A file
// that does not exist, or whose schema is not exactly this binary's, is an
// error naming the path.
func OpenReadOnly(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: resolving %q: %w", path, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %q: %w", abs, err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("sqlite: opening %q: a directory, not a SQLite file", abs)
	}
	s, err := openDB(abs, "&mode=ro")
	if err != nil {
		return nil, err
	}
	if err := s.checkCurrent(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("sqlite: opening %q: %w", abs, err)
	}
	if err := s.prepare(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("sqlite: opening %q: %w", abs, err)
	}
	return s, nil
}

// openDB opens the pool for the file at abs, with extra appended to the
// DSN's parameters, and the Store around it.
func openDB(abs, extra string) (*Store, error) {
	db, err := sql.Open("sqlite", dsn(abs)+extra)
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %q: %w", abs, err)
	}
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxOpenConns)
	return &Store{db: db, commitSem: make(chan struct{}, 1)}, nil
}

// migrations are the embedded migrations, in order.
func migrations() ([]migrate.Migration, error) { return migrate.Load(migrationFiles, "migrations") }

// checkCurrent reads the schema version without writing anything.
func (s *Store) checkCurrent(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	var tables int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").Scan(&tables); err != nil {
		return fmt.Errorf("reading the schema: %w", err)
	}
	v := 0
	if tables > 0 {
		if err := s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v); err != nil {
			return fmt.Errorf("reading schema version: %w", err)
		}
	}
	return migrate.CheckCurrent(v, ms)
}

// dsn builds the driver's connection string. The per-connection settings
// go in the DSN, which the driver applies to each new connection;
// _txlock=immediate makes every BeginTx a BEGIN IMMEDIATE, taking the write
// lock up front so two writers never deadlock on lock upgrade (only writers
// use transactions here). The journal mode is a property of the file, set
// once by setWAL.
func dsn(abs string) string {
	// SQLite URI file names are percent-decoded; escape what would
	// otherwise end the path.
	p := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(abs))
	return "file:" + p + fmt.Sprintf("?_txlock=immediate&_busy_timeout=%d&_synchronous=FULL&_foreign_keys=1",
		busyTimeout.Milliseconds())
}

// setWAL switches the file to WAL mode. SQLite answers SQLITE_BUSY at once,
// without consulting the busy timeout, when another connection is switching
// the same new file at the same moment (two processes starting together),
// so setWAL retries for up to busyTimeout.
func (s *Store) setWAL(ctx context.Context) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		var mode string
		err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("setting journal_mode: %w", err)
			}
			return nil
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func isBusy(err error) bool {
	var se *sqlitedriver.Error
	return errors.As(err, &se) && se.Code()&0xff == 5 // SQLITE_BUSY and its extended codes
}

// check fails unless the connection settings durability depends on took
// effect: a store that silently ran without WAL or FULL sync would lose
// acknowledged decisions.
func (s *Store) check(ctx context.Context) error {
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("reading journal_mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal_mode is %q, want wal", mode)
	}
	var sync int
	if err := s.db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return fmt.Errorf("reading synchronous: %w", err)
	}
	if sync < 2 { // 2 = FULL, 3 = EXTRA
		return fmt.Errorf("synchronous is %d, want FULL (2)", sync)
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	for {
		done, err := s.migrateStep(ctx, ms)
		if err != nil || done {
			return err
		}
	}
}

// backfills are the steps of a migration that SQL cannot do exactly, run
// in the migration's transaction right after its script.
var backfills = map[int]func(context.Context, *sql.Tx) error{
	3: backfillTotals,
}

// migrateStep applies the next pending migration, if any, in its own
// immediate transaction: a second process opening the same file at the same
// time waits, then sees the version already applied.
func (s *Store) migrateStep(ctx context.Context, ms []migrate.Migration) (done bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at TEXT    NOT NULL
	) STRICT`); err != nil {
		return false, fmt.Errorf("creating schema_migrations: %w", err)
	}
	var v int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return false, fmt.Errorf("reading schema version: %w", err)
	}
	if err := migrate.CheckVersion(v, ms); err != nil {
		return false, err
	}
	if v == len(ms) {
		return true, tx.Commit()
	}
	m := ms[v]
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("applying %s: %w", m.Name, err)
	}
	if fill := backfills[m.Version]; fill != nil {
		if err := fill(ctx, tx); err != nil {
			return false, fmt.Errorf("applying %s: %w", m.Name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.Version, m.Name, chain.FormatTime(time.Now())); err != nil {
		return false, fmt.Errorf("recording %s: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("committing %s: %w", m.Name, err)
	}
	return false, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

const recordColumns = `seq, request_id, version, type, node_key, received_at, request, request_hash,
	tx_key, action, status, rule, reason, shadow, policy_version, latency_micros, prev_hash, hash`

type scanner interface{ Scan(dest ...any) error }

func scanRecord(sc scanner) (*store.Record, error) {
	var r store.Record
	var at int64
	if err := sc.Scan(&r.Seq, &r.RequestID, &r.Version, &r.Type, &r.NodeKey, &at, &r.Request, &r.RequestHash,
		&r.TxKey, &r.Action, &r.Status, &r.Rule, &r.Reason, &r.Shadow, &r.PolicyVersion, &r.LatencyMicros,
		&r.PrevHash, &r.Hash); err != nil {
		return nil, err
	}
	r.ReceivedAt = time.UnixMicro(at).UTC()
	if len(r.Shadow) == 0 {
		r.Shadow = nil
	}
	return &r, nil
}

// maxBatch bounds a group commit: more decisions than this wait for the
// next one, so that one transaction never grows without bound.
const maxBatch = 64

// batchTimeout bounds one group commit's transaction. It does not follow
// any member's context: a decision that joined a batch waits for the
// batch's outcome, so that every Commit returns a known outcome.
const batchTimeout = busyTimeout + 5*time.Second

// pending is one Commit waiting in the group-commit queue.
type pending struct {
	ctx  context.Context
	rec  store.Record
	uses []store.LimitUse
	done chan outcome // buffered: the batch never blocks on delivery
}

// outcome is what one member of a group commit gets back.
type outcome struct {
	rec     *store.Record
	existed bool
	err     error
}

// Commit implements store.Store, as a group commit: the decision joins the
// queue, and whichever waiting Commit takes the commit semaphore runs every
// queued decision (up to maxBatch) in one transaction with one fsync. Each
// member's checks see the rows of the members before it in the batch. Each
// gets its own outcome, and only after the batch's COMMIT returned: when
// the transaction fails, every member fails with that error and nothing of
// the batch is recorded.
func (s *Store) Commit(ctx context.Context, rec store.Record, uses []store.LimitUse) (_ *store.Record, _ bool, err error) {
	defer wrap(&err, "committing decision")
	rec, err = check.Prepare(rec, uses)
	if err != nil {
		return nil, false, err
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	p := &pending{ctx: ctx, rec: rec, uses: uses, done: make(chan outcome, 1)}
	s.mu.Lock()
	s.queue = append(s.queue, p)
	s.mu.Unlock()
	for {
		select {
		case o := <-p.done:
			return o.rec, o.existed, o.err
		case s.commitSem <- struct{}{}:
			s.mu.Lock()
			n := min(len(s.queue), maxBatch)
			batch := append([]*pending(nil), s.queue[:n]...)
			s.queue = append(s.queue[:0:0], s.queue[n:]...)
			s.mu.Unlock()
			s.runBatch(batch)
			<-s.commitSem
		case <-ctx.Done():
			if s.leave(p) {
				return nil, false, ctx.Err()
			}
			// A batch has taken p: its outcome is coming.
			o := <-p.done
			return o.rec, o.existed, o.err
		}
	}
}

// leave removes p from the queue, reporting whether it was still there
// (no batch has taken it).
func (s *Store) leave(p *pending) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, q := range s.queue {
		if q == p {
			s.queue = append(s.queue[:i:i], s.queue[i+1:]...)
			return true
		}
	}
	return false
}

// runBatch commits batch in one transaction and delivers each member's
// outcome. A member whose context ended before the batch began gets its
// context's error and is left out. A member's conflict (a request_id
// recorded for other content) is that member's outcome and writes nothing;
// any other error fails the whole batch.
func (s *Store) runBatch(batch []*pending) {
	live := batch[:0:0]
	for _, p := range batch {
		if err := p.ctx.Err(); err != nil {
			p.done <- outcome{err: err}
			continue
		}
		live = append(live, p)
	}
	if len(live) == 0 {
		return
	}
	s.batches.Add(1)
	if fn := s.batchObserver.Load(); fn != nil {
		(*fn)(len(live))
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(live[0].ctx), batchTimeout)
	defer cancel()
	outs := make([]outcome, len(live))
	fail := func(err error) {
		if len(live) > 1 {
			err = fmt.Errorf("group commit of %d decisions failed, none is recorded: %w", len(live), err)
		}
		for _, p := range live {
			p.done <- outcome{err: err}
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		fail(err)
		return
	}
	defer tx.Rollback()
	// The statements run without ctx's deadline, which stays on the
	// transaction (BeginTx: where the lock is waited for, and what
	// database/sql rolls back when the deadline passes). Inside the
	// transaction nothing waits for a lock, and a statement whose context
	// can end costs a watcher goroutine in database/sql and another in the
	// driver, about 1% of a decision's CPU at six statements per decision.
	q := txQuerier{ctx: context.WithoutCancel(ctx), tx: tx}
	var head chainHead
	var fz freezeState
	for i, p := range live {
		rec, existed, err := commitOne(q, s.st, &head, &fz, p.rec, p.uses)
		if err != nil && !errors.Is(err, store.ErrConflict) {
			fail(err)
			return
		}
		outs[i] = outcome{rec: rec, existed: existed, err: err}
	}
	if err := tx.Commit(); err != nil {
		fail(err)
		return
	}
	for i, p := range live {
		p.done <- outs[i]
	}
}

// chainHead is the newest row of the chain as a group commit goes: read
// once by its first member that writes, then each member's own row, since
// the batch's transaction holds the write lock throughout.
type chainHead struct {
	known bool
	seq   int64
	hash  string
}

// commitOne runs one decision's part of a group commit in tx: the
// idempotency lookup, the freeze check (read once per group commit, by
// its first member that approves, since the batch's transaction holds the
// write lock that Freeze and Unfreeze take too), the limit check, the
// chain head and the inserts.
func commitOne(q txQuerier, st *statements, head *chainHead, fz *freezeState, rec store.Record, uses []store.LimitUse) (*store.Record, bool, error) {
	existing, err := scanRecord(q.row(st.get, rec.RequestID))
	switch {
	case err == nil:
		if existing.RequestHash != rec.RequestHash {
			return nil, false, fmt.Errorf("%w: request_id %q is recorded at seq %d with request_hash %s, this request has %s",
				store.ErrConflict, rec.RequestID, existing.Seq, existing.RequestHash, rec.RequestHash)
		}
		return existing, true, nil
	case !errors.Is(err, sql.ErrNoRows):
		return nil, false, fmt.Errorf("looking up request_id: %w", err)
	}

	if check.Frozen(&rec) {
		if err := fz.read(q, st); err != nil {
			return nil, false, err
		}
		if fz.active > 0 {
			rec.Action, rec.Rule, rec.Reason = store.ActionReject, store.RuleFrozen, check.FrozenReason(fz.oldest, fz.active)
		}
	}
	var consume []check.Entry
	if rec.Action == store.ActionApprove {
		consume, err = checkLimits(q, st, &rec, uses)
		if err != nil {
			return nil, false, err
		}
	}

	if !head.known {
		err = q.row(st.head).Scan(&head.seq, &head.hash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, false, fmt.Errorf("reading chain head: %w", err)
		}
		head.known = true
	}
	rec.Seq, rec.PrevHash = head.seq+1, head.hash
	rec.Hash = chain.Hash(&rec)

	if err := q.exec(st.insertDecision,
		rec.Seq, rec.RequestID, rec.Version, rec.Type, rec.NodeKey, rec.ReceivedAt.UnixMicro(), rec.Request, rec.RequestHash,
		rec.TxKey, rec.Action, rec.Status, rec.Rule, rec.Reason, rec.Shadow, rec.PolicyVersion, rec.LatencyMicros,
		rec.PrevHash, rec.Hash); err != nil {
		return nil, false, fmt.Errorf("inserting decision: %w", err)
	}
	for _, e := range consume {
		cum, err := check.FormatTotal(e.Total.Amount)
		if err != nil {
			return nil, false, fmt.Errorf("limit %q: %w", e.Use.Limit, err)
		}
		if err := q.exec(st.insertLedger,
			e.Use.Limit, e.Use.Key, rec.TxKey, e.Use.Amount.String(), e.At.UnixMicro(), rec.Seq, cum, e.Total.Count); err != nil {
			return nil, false, fmt.Errorf("inserting ledger entry for limit %q: %w", e.Use.Limit, err)
		}
	}
	head.seq, head.hash = rec.Seq, rec.Hash
	return &rec, false, nil
}

// beginWrite takes the commit semaphore and begins a write transaction
// (BEGIN IMMEDIATE), as a write outside the group commit (Probe, the
// outpoint claims) must: serialized with the group commits of this
// process and, through SQLite's lock, with other processes. done rolls
// back whatever was not committed and releases the semaphore.
func (s *Store) beginWrite(ctx context.Context) (_ *sql.Tx, done func(), err error) {
	select {
	case s.commitSem <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("waiting for the commit semaphore (a commit in this process is stuck or slow): %w", ctx.Err())
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		<-s.commitSem
		return nil, nil, fmt.Errorf("taking the write lock: %w", err)
	}
	return tx, func() {
		tx.Rollback()
		<-s.commitSem
	}, nil
}

// Probe implements store.Store: it upserts the single write_probe row
// through the same path as Commit (semaphore, BEGIN IMMEDIATE, a synced
// commit).
func (s *Store) Probe(ctx context.Context) (err error) {
	defer wrap(&err, "write probe")
	tx, done, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer done()
	if _, err := tx.ExecContext(ctx, "INSERT INTO write_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
		time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// The limit check's queries; each is served by one index (see the
// migrations), which TestLimitQueriesUseIndexes asserts. newestQuery and
// beforeQuery read one row each, so a check costs the same whether the
// key's window holds ten entries or a million.
const (
	getQuery            = "SELECT " + recordColumns + " FROM decisions WHERE request_id = ?"
	headQuery           = "SELECT seq, hash FROM decisions ORDER BY seq DESC LIMIT 1"
	insertDecisionQuery = "INSERT INTO decisions (" + recordColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	insertLedgerQuery   = "INSERT INTO limit_ledger (limit_name, key, tx_key, amount, at, seq, cum_amount, cum_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
	countedQuery        = "SELECT EXISTS (SELECT 1 FROM limit_ledger WHERE limit_name = ? AND key = ? AND tx_key = ? AND tx_key <> '')"
	newestQuery         = "SELECT at, cum_amount, cum_count FROM limit_ledger WHERE limit_name = ? AND key = ? ORDER BY at DESC, seq DESC LIMIT 1"
	beforeQuery         = "SELECT cum_amount, cum_count FROM limit_ledger WHERE limit_name = ? AND key = ? AND at <= ? ORDER BY at DESC, seq DESC LIMIT 1"
)

// txQuerier runs prepared statements in a transaction, or, with a nil tx
// (benchmarks of the limit check alone), on the pool.
type txQuerier struct {
	ctx context.Context
	tx  *sql.Tx
}

func (q txQuerier) stmt(s *sql.Stmt) *sql.Stmt {
	if q.tx == nil {
		return s
	}
	// The transaction's connection has s prepared after its first use
	// there; this only binds it to the transaction.
	return q.tx.StmtContext(q.ctx, s)
}

func (q txQuerier) row(s *sql.Stmt, args ...any) *sql.Row {
	return q.stmt(s).QueryRowContext(q.ctx, args...)
}

func (q txQuerier) exec(s *sql.Stmt, args ...any) error {
	_, err := q.stmt(s).ExecContext(q.ctx, args...)
	return err
}

// checkLimits applies check.Limit to each use. It returns the ledger
// entries to write, or none after turning rec into a REJECT.
func checkLimits(q txQuerier, st *statements, rec *store.Record, uses []store.LimitUse) ([]check.Entry, error) {
	var consume []check.Entry
	for _, u := range uses {
		if rec.TxKey != "" {
			var counted bool
			if err := q.row(st.counted, u.Limit, u.Key, rec.TxKey).Scan(&counted); err != nil {
				return nil, fmt.Errorf("checking limit %q: %w", u.Limit, err)
			}
			if counted {
				continue
			}
		}
		newestAt, newest, used, count, err := windowUsage(q, st, u, rec.ReceivedAt.Add(-u.Window))
		if err != nil {
			return nil, fmt.Errorf("checking limit %q: %w", u.Limit, err)
		}
		if reason := check.Limit(u, used, count); reason != "" {
			rec.Action, rec.Rule, rec.Reason = store.ActionReject, u.Limit, reason
			return nil, nil
		}
		consume = append(consume, check.Entry{Use: u, At: check.LedgerTime(rec.ReceivedAt, newestAt), Total: check.Next(newest, u)})
	}
	return consume, nil
}

// windowUsage returns the time and running total of u's newest ledger row
// (zero when the key has none), and the amount and count of u's entries
// after cutoff: the difference of the newest total and the total at the
// last row at or before cutoff (check.Window).
func windowUsage(q txQuerier, st *statements, u store.LimitUse, cutoff time.Time) (newestAt time.Time, newest check.Total, used decimal.Decimal, count int64, err error) {
	var at int64
	var text string
	err = q.row(st.newest, u.Limit, u.Key).Scan(&at, &text, &newest.Count)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, check.Total{}, decimal.Decimal{}, 0, nil
	}
	if err != nil {
		return time.Time{}, check.Total{}, decimal.Decimal{}, 0, fmt.Errorf("reading the newest ledger entry: %w", err)
	}
	if newest.Amount, err = check.ParseTotal(text); err != nil {
		return time.Time{}, check.Total{}, decimal.Decimal{}, 0, fmt.Errorf("corrupt ledger: %w", err)
	}
	newestAt = time.UnixMicro(at).UTC()
	if at <= cutoff.UnixMicro() {
		// Even the newest entry is outside the window.
		return newestAt, newest, decimal.Decimal{}, 0, nil
	}
	var before check.Total
	err = q.row(st.before, u.Limit, u.Key, cutoff.UnixMicro()).Scan(&text, &before.Count)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Every entry of the key is in the window.
	case err != nil:
		return time.Time{}, check.Total{}, decimal.Decimal{}, 0, fmt.Errorf("reading the window's start: %w", err)
	default:
		if before.Amount, err = check.ParseTotal(text); err != nil {
			return time.Time{}, check.Total{}, decimal.Decimal{}, 0, fmt.Errorf("corrupt ledger: %w", err)
		}
	}
	used, count, err = check.Window(newest, before)
	return newestAt, newest, used, count, err
}

// backfillTotals fills the running totals migration 0003 adds, for every
// existing ledger row, in (limit, key, at, seq) order: the order the limit
// check's lookups assume. The old rows' times are kept as they are, so
// their usage is exactly what the old scan summed. NOT INDEXED with ORDER
// BY makes SQLite sort every row before returning the first, so the
// updates below never disturb the walk.
func backfillTotals(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT rowid, limit_name, key, amount FROM limit_ledger NOT INDEXED
		ORDER BY limit_name, key, at, seq`)
	if err != nil {
		return fmt.Errorf("reading the ledger: %w", err)
	}
	defer rows.Close()
	update, err := tx.PrepareContext(ctx, "UPDATE limit_ledger SET cum_amount = ?, cum_count = ? WHERE rowid = ?")
	if err != nil {
		return err
	}
	defer update.Close()
	var limit, key string
	var total check.Total
	for rows.Next() {
		var rowid int64
		var l, k, text string
		if err := rows.Scan(&rowid, &l, &k, &text); err != nil {
			return fmt.Errorf("reading the ledger: %w", err)
		}
		if l != limit || k != key || total.Count == 0 {
			limit, key, total = l, k, check.Total{}
		}
		amount, err := decimal.Parse(text)
		if err != nil {
			return fmt.Errorf("corrupt ledger amount of limit %q: %w", l, err)
		}
		total = check.Total{Amount: total.Amount.Add(amount), Count: total.Count + 1}
		cum, err := check.FormatTotal(total.Amount)
		if err != nil {
			return fmt.Errorf("limit %q: %w", l, err)
		}
		if _, err := update.ExecContext(ctx, cum, total.Count, rowid); err != nil {
			return fmt.Errorf("writing a running total: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading the ledger: %w", err)
	}
	var missing int64
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM limit_ledger WHERE cum_count = 0 OR cum_amount = ''").Scan(&missing); err != nil {
		return err
	}
	if missing != 0 {
		return fmt.Errorf("%d ledger rows left without a running total", missing)
	}
	return nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, requestID string) (*store.Record, error) {
	r, err := scanRecord(s.st.get.QueryRowContext(ctx, requestID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: request_id %q", store.ErrNotFound, requestID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: getting request_id %q: %w", requestID, err)
	}
	return r, nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, f store.Filter, fn func(*store.Record) error) error {
	if err := check.Filter(f); err != nil {
		return err
	}
	var where []string
	var args []any
	if !f.Since.IsZero() {
		where, args = append(where, "received_at >= ?"), append(args, chain.CeilTime(f.Since).UnixMicro())
	}
	if !f.Until.IsZero() {
		where, args = append(where, "received_at < ?"), append(args, chain.CeilTime(f.Until).UnixMicro())
	}
	for _, c := range []struct{ col, v string }{{"type", f.Type}, {"action", f.Action}, {"rule", f.Rule}} {
		if c.v != "" {
			where, args = append(where, c.col+" = ?"), append(args, c.v)
		}
	}
	if f.AfterSeq > 0 {
		where, args = append(where, "seq > ?"), append(args, f.AfterSeq)
	}
	if f.Seq > 0 {
		where, args = append(where, "seq = ?"), append(args, f.Seq)
	}
	q := "SELECT " + recordColumns + " FROM decisions"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq"
	if f.Newest {
		q += " DESC"
	}
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	return s.each(ctx, q, args, fn)
}

// each streams the records q selects into fn. Errors from fn come back
// unwrapped, so that callers can recognise their own.
func (s *Store) each(ctx context.Context, q string, args []any, fn func(*store.Record) error) error {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("sqlite: listing decisions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return fmt.Errorf("sqlite: reading decision: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: listing decisions: %w", err)
	}
	return nil
}

// Verify implements store.Store.
func (s *Store) Verify(ctx context.Context) (*store.VerifyReport, error) {
	return chain.Verify(func(fn func(*store.Record) error) error {
		return s.each(ctx, "SELECT "+recordColumns+" FROM decisions ORDER BY seq", nil, fn)
	})
}

// LimitUsage implements store.Store.
func (s *Store) LimitUsage(ctx context.Context, now time.Time, windows map[string]time.Duration) ([]store.Usage, error) {
	names := make([]string, 0, len(windows))
	for name := range windows {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []store.Usage
	for _, name := range names {
		cutoff := now.Add(-windows[name]).UnixMicro()
		if err := s.limitUsage(ctx, name, cutoff, &out); err != nil {
			return nil, fmt.Errorf("sqlite: reading usage of limit %q: %w", name, err)
		}
	}
	return out, nil
}

func (s *Store) limitUsage(ctx context.Context, limit string, cutoff int64, out *[]store.Usage) error {
	rows, err := s.db.QueryContext(ctx,
		"SELECT key, amount, at FROM limit_ledger WHERE limit_name = ? AND at > ? ORDER BY key", limit, cutoff)
	if err != nil {
		return err
	}
	defer rows.Close()
	var cur *store.Usage
	for rows.Next() {
		var key, text string
		var at int64
		if err := rows.Scan(&key, &text, &at); err != nil {
			return err
		}
		d, err := decimal.Parse(text)
		if err != nil {
			return fmt.Errorf("corrupt ledger amount: %w", err)
		}
		t := time.UnixMicro(at).UTC()
		if cur == nil || cur.Key != key {
			*out = append(*out, store.Usage{Limit: limit, Key: key, Oldest: t})
			cur = &(*out)[len(*out)-1]
		}
		cur.Amount = cur.Amount.Add(d)
		cur.Count++
		if t.Before(cur.Oldest) {
			cur.Oldest = t
		}
	}
	return rows.Err()
}

// wrap prefixes a non-nil error with the operation, keeping it matchable
// with errors.Is.
func wrap(err *error, op string) {
	if *err != nil {
		*err = fmt.Errorf("sqlite: %s: %w", op, *err)
	}
}

// Backup writes a consistent copy of the database to path, which must not
// exist, with SQLite's VACUUM INTO: one read transaction sees one commit
// point of the WAL, so every decision committed before it began is in the
// copy and none half-written, while a serving process keeps committing.
// It works on a read-only Store too. The file is created with mode 0600
// first (VACUUM INTO fills an empty file), so the copy is never readable
// by others even for a moment. On failure the partial file is removed.
func (s *Store) Backup(ctx context.Context, path string) (err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("sqlite: backup to %q: %w", path, err)
	}
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	f.Close()
	defer func() {
		if err != nil {
			os.Remove(abs)
		}
	}()
	if _, err := s.db.ExecContext(ctx, "VACUUM INTO ?", abs); err != nil {
		return fmt.Errorf("sqlite: backup to %q: %w", abs, err)
	}
	return nil
}

// ClaimOutpoints implements store.Store, through the same write path as
// Probe (the commit semaphore, BEGIN IMMEDIATE, a synced commit), so that
// claims are serialized against each other and against Commit.
func (s *Store) ClaimOutpoints(ctx context.Context, claims []store.OutpointClaim) (_ []store.OutpointConflict, err error) {
	defer wrap(&err, "claiming outpoints")
	claims, err = check.Claims(claims)
	if err != nil || len(claims) == 0 {
		return nil, err
	}
	tx, done, err := s.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	var conflicts []store.OutpointConflict
	var fresh []store.OutpointClaim
	for _, c := range claims {
		first, err := scanClaim(tx.QueryRowContext(ctx, "SELECT outpoint, amount, request_id, at FROM outpoint_claims WHERE outpoint = ?", c.Outpoint))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			fresh = append(fresh, c)
		case err != nil:
			return nil, err
		case first.Amount.Cmp(c.Amount) != 0:
			conflicts = append(conflicts, store.OutpointConflict{Claim: c, First: *first})
		}
	}
	if len(conflicts) > 0 {
		return conflicts, nil
	}
	for _, c := range fresh {
		if _, err := tx.ExecContext(ctx, "INSERT INTO outpoint_claims (outpoint, amount, request_id, at) VALUES (?, ?, ?, ?)",
			c.Outpoint, c.Amount.String(), c.RequestID, c.At.UnixMicro()); err != nil {
			return nil, fmt.Errorf("recording %s: %w", c.Outpoint, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("committing: %w", err)
	}
	return nil, nil
}

// ClearOutpoint implements store.Store.
func (s *Store) ClearOutpoint(ctx context.Context, outpoint string) (_ *store.OutpointClaim, err error) {
	defer wrap(&err, "clearing outpoint")
	if err := check.Outpoint(outpoint); err != nil {
		return nil, err
	}
	tx, done, err := s.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	c, err := scanClaim(tx.QueryRowContext(ctx, "SELECT outpoint, amount, request_id, at FROM outpoint_claims WHERE outpoint = ?", outpoint))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: no claim for outpoint %s", store.ErrNotFound, outpoint)
	}
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM outpoint_claims WHERE outpoint = ?", outpoint); err != nil {
		return nil, fmt.Errorf("deleting: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("committing: %w", err)
	}
	return c, nil
}

func scanClaim(row *sql.Row) (*store.OutpointClaim, error) {
	var (
		c      store.OutpointClaim
		amount string
		at     int64
	)
	if err := row.Scan(&c.Outpoint, &amount, &c.RequestID, &at); err != nil {
		return nil, err
	}
	d, err := decimal.Parse(amount)
	if err != nil {
		return nil, fmt.Errorf("corrupt outpoint claim %s: amount %q: %w", c.Outpoint, amount, err)
	}
	c.Amount, c.At = d, time.UnixMicro(at).UTC()
	return &c, nil
}

// Governance implements store.Store.
func (s *Store) Governance(ctx context.Context) (*store.GovernanceState, error) {
	var g store.GovernanceState
	var at int64
	err := s.db.QueryRowContext(ctx, "SELECT sha256, content, adopted_at, seq FROM governance WHERE id = 1").Scan(&g.SHA256, &g.Content, &at, &g.Seq)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: no governance adopted", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: reading the governance in force: %w", err)
	}
	g.AdoptedAt = time.UnixMicro(at).UTC()
	return &g, nil
}

// AdoptGovernance implements store.Store, through the same write path as
// Probe (the commit semaphore, BEGIN IMMEDIATE), so that the check of the
// governance in force, the chain row and the new governance are one
// transaction serialized with every Commit.
func (s *Store) AdoptGovernance(ctx context.Context, prev string, g store.GovernanceState, rec store.Record) (_ *store.Record, err error) {
	defer wrap(&err, "adopting governance")
	if err := check.Governance(g); err != nil {
		return nil, err
	}
	tx, done, err := s.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	var cur string
	switch err := tx.QueryRowContext(ctx, "SELECT sha256 FROM governance WHERE id = 1").Scan(&cur); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("reading the governance in force: %w", err)
	}
	if cur != prev {
		return nil, fmt.Errorf("%w: in force %q, expected %q", store.ErrGovernanceChanged, cur, prev)
	}
	stored, err := s.appendOperator(ctx, tx, rec)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO governance (id, sha256, content, adopted_at, seq) VALUES (1, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET sha256 = excluded.sha256, content = excluded.content, adopted_at = excluded.adopted_at, seq = excluded.seq`,
		g.SHA256, g.Content, stored.ReceivedAt.UnixMicro(), stored.Seq); err != nil {
		return nil, fmt.Errorf("writing the governance: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("committing: %w", err)
	}
	return stored, nil
}
