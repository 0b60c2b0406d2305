// Package postgres implements store.Store on PostgreSQL (12 or newer)
// through pgx. It is the store for several tssgate replicas sharing state.
//
// Every Commit runs in one READ COMMITTED transaction, in two round trips
// on one connection: the first pipeline begins it, sets its bounded waits,
// takes a transaction-scoped advisory lock and runs every read that needs
// it (the request_id lookup, the limit queries, the chain head); the
// second carries the inserts and COMMIT, so the lock is held for two round
// trips whatever the number of limits. A failure after that pipeline went
// out is in doubt (COMMIT may have run) and is resolved by reading the row
// back (below); a statement PostgreSQL refused is not, since it skips the
// rest of the pipeline. That lock serializes all commits
// on the same schema, from every replica: the hash chain needs a total order
// anyway, and it makes the limit check exact (no two replicas can both see
// the same last headroom), and it lets each ledger row carry the running
// total of its (limit, key) (NUMERIC and a count), computed from the key's
// newest row, so that a limit check reads two rows, never the window's
// entries. Each statement after the lock sees everything the
// previous holder committed, because PostgreSQL makes a transaction visible
// before it releases its locks. Probe takes the same lock; reads take none,
// except the read-back of an in-doubt commit (below).
//
// Freezes: an approval's first round trip also reads the active freezes
// (one more statement in the same pipeline, after the lock), so a freeze
// committed by any replica before the lock was granted turns it into a
// builtin:frozen REJECT; Freeze and Unfreeze take the commit lock too, so
// the chain orders every decision against them.
//
// Bounded waits: no write waits longer than its caller can. Commit and
// Probe take their budget from the context's deadline (DefaultDeadline when
// it has none): lock_timeout is half of it and statement_timeout a little
// more (SET LOCAL, in the first round trip), and the whole transaction gets
// a client-side deadline at 65%, so a held commit lock, a stuck statement
// or a silent network fails with an error that names the cause ("waiting
// for the commit lock timed out after ...") well inside the caller's
// deadline; the server answers it with a status 30 before the node gives
// up. Each connection also sets idle_in_transaction_session_timeout, so a
// replica frozen in the middle of a commit (holding the lock) is cut off
// within seconds, and TCP keepalives on both ends, so a vanished peer is
// noticed. Settings given in the DSN win over these defaults.
//
// In-doubt commits: when the connection fails after COMMIT was sent (as
// opposed to PostgreSQL answering an error, or the COMMIT never leaving),
// the transaction may or may not have committed. Commit then resolves it
// before returning, within 80% of its budget: on another connection it
// waits for the commit lock (so the failed transaction has ended, one way
// or the other) and reads the row back by request_id. The row as written
// is returned as committed; no row is an error (the decision is not
// recorded); and if the read-back fails too, the error wraps
// store.ErrOutcomeUnknown.
//
// The store lives in the first schema of the connection's search_path
// (usually public); the advisory lock keys are derived from that schema's
// name, so independent deployments in separate schemas of one database do
// not wait for each other. The schema must exist.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"tssgate/internal/decimal"
	"tssgate/internal/store"
	"tssgate/internal/store/internal/chain"
	"tssgate/internal/store/internal/check"
	"tssgate/internal/store/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// defaultMaxConns is the pool size unless the DSN sets pool_max_conns:
// commits queue on the advisory lock, so more connections than this would
// only wait in the database instead of in the pool.
const defaultMaxConns = 10

// DefaultDeadline is the budget Commit and Probe assume when their context
// has no deadline: the server's decision timeout.
const DefaultDeadline = 5 * time.Second

// Shares of a write's budget (the time left until its context's deadline).
// The server must answer within 90% of its decision deadline, and each of
// these ends before that, in this order.
const (
	lockShare      = 0.50 // lock_timeout: waiting for the commit lock
	statementShare = 0.55 // statement_timeout: one statement (after lock_timeout, so a lock wait reports as one)
	workShare      = 0.65 // client-side deadline of the whole transaction
	resolveShare   = 0.80 // an in-doubt COMMIT must be resolved by then
)

// Per-connection defaults, unless the DSN sets them. A transaction in
// Commit is never idle between statements for more than a round trip, so
// two seconds idle means its client is gone or frozen while it may hold the
// commit lock that every replica waits for.
var sessionDefaults = map[string]string{
	"idle_in_transaction_session_timeout": "2000", // milliseconds
	"tcp_keepalives_idle":                 "5",    // seconds
	"tcp_keepalives_interval":             "2",
	"tcp_keepalives_count":                "3",
}

// keepAlive is the client side of the TCP keepalives: a peer that vanished
// without a FIN or RST is noticed within about 11 seconds, instead of the
// kernel's two hours.
var keepAlive = net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: 2 * time.Second, Count: 3}

// Store is the PostgreSQL implementation of store.Store. It is safe for
// concurrent use, and several Stores (in several processes) may share one
// database.
type Store struct {
	pool        *pgxpool.Pool
	commitLock  int64 // advisory lock key serializing Commit
	migrateLock int64 // advisory lock key serializing migrations
}

var _ store.Store = (*Store)(nil)

// Open connects to the database named by dsn (a postgres:// URL or a
// key=value connection string, as pgx accepts, including pool_max_conns),
// applies the embedded migrations and returns the Store. Errors:
// store.ErrSchemaTooNew (wrapped) when a newer tssgate migrated the schema;
// otherwise a connection or database error (an unreachable server fails
// here, not at the first Commit).
func Open(ctx context.Context, dsn string) (*Store, error) {
	return openDSN(ctx, dsn, false)
}

// OpenReadOnly connects for reading only, as the audit commands do: it
// never migrates or creates a table, every session is read-only
// (default_transaction_read_only), so Commit and Probe fail, and a schema
// that is not exactly this binary's is an error.
func OpenReadOnly(ctx context.Context, dsn string) (*Store, error) {
	return openDSN(ctx, dsn, true)
}

func openDSN(ctx context.Context, dsn string, readOnly bool) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parsing DSN: %w", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	for k, v := range sessionDefaults {
		if _, ok := cfg.ConnConfig.RuntimeParams[k]; !ok {
			cfg.ConnConfig.RuntimeParams[k] = v
		}
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = DefaultDeadline
	}
	cfg.ConnConfig.DialFunc = (&net.Dialer{KeepAliveConfig: keepAlive}).DialContext
	if readOnly {
		cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connecting: %w", err)
	}
	s, err := open(ctx, pool, readOnly)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

func open(ctx context.Context, pool *pgxpool.Pool, readOnly bool) (*Store, error) {
	var schema *string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return nil, fmt.Errorf("postgres: connecting: %w", err)
	}
	if schema == nil {
		return nil, errors.New("postgres: no schema on the search_path exists; create it or fix search_path")
	}
	s := &Store{
		pool:        pool,
		commitLock:  CommitLockKey(*schema),
		migrateLock: lockKey("tssgate.migrate", *schema),
	}
	if readOnly {
		if err := s.checkCurrent(ctx); err != nil {
			return nil, fmt.Errorf("postgres: schema %q: %w", *schema, err)
		}
		return s, nil
	}
	if err := s.migrate(ctx); err != nil {
		return nil, fmt.Errorf("postgres: migrating schema %q: %w", *schema, err)
	}
	return s, nil
}

// migrations are the embedded migrations, in order.
func migrations() ([]migrate.Migration, error) { return migrate.Load(migrationFiles, "migrations") }

// checkCurrent reads the schema version without writing anything.
func (s *Store) checkCurrent(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return fmt.Errorf("reading the schema: %w", err)
	}
	v := 0
	if exists {
		if err := s.pool.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v); err != nil {
			return fmt.Errorf("reading schema version: %w", err)
		}
	}
	return migrate.CheckCurrent(v, ms)
}

// CommitLockKey returns the advisory lock key that serializes commits (and
// write probes) of the store in schema: what an operator looks for in
// pg_locks when decisions time out waiting for the commit lock (the key's
// high and low 32 bits are pg_locks' classid and objid).
func CommitLockKey(schema string) int64 { return lockKey("tssgate.commit", schema) }

// lockKey derives a stable advisory lock key for a purpose within a schema.
func lockKey(purpose, schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(schema))
	return int64(h.Sum64())
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

// readCommitted is the isolation every write transaction runs at, whatever
// the database's default: each statement must see what commits serialized
// before it by the advisory lock. Under REPEATABLE READ or SERIALIZABLE the
// snapshot would predate the lock and the limit and chain-head reads would
// be stale.
var readCommitted = pgx.TxOptions{IsoLevel: pgx.ReadCommitted}

// migrateStep applies the next pending migration, if any, in one
// transaction under the migration lock, so that replicas starting together
// apply each migration exactly once.
func (s *Store) migrateStep(ctx context.Context, ms []migrate.Migration) (done bool, err error) {
	tx, err := s.pool.BeginTx(ctx, readCommitted)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", s.migrateLock); err != nil {
		return false, fmt.Errorf("taking the migration lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER     PRIMARY KEY,
		name       TEXT        NOT NULL,
		applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
	)`); err != nil {
		return false, fmt.Errorf("creating schema_migrations: %w", err)
	}
	var v int
	if err := tx.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return false, fmt.Errorf("reading schema version: %w", err)
	}
	if err := migrate.CheckVersion(v, ms); err != nil {
		return false, err
	}
	if v == len(ms) {
		return true, tx.Commit(ctx)
	}
	m := ms[v]
	// No arguments: pgx sends the file with the simple protocol, which
	// allows several statements.
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("applying %s: %w", m.Name, err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
		return false, fmt.Errorf("recording %s: %w", m.Name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("committing %s: %w", m.Name, err)
	}
	return false, nil
}

// Close closes the connection pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

const recordColumns = `seq, request_id, version, type, node_key, received_at, request, request_hash,
	tx_key, action, status, rule, reason, shadow, policy_version, latency_micros, prev_hash, hash`

func scanRecord(row pgx.Row) (*store.Record, error) {
	var r store.Record
	if err := row.Scan(&r.Seq, &r.RequestID, &r.Version, &r.Type, &r.NodeKey, &r.ReceivedAt, &r.Request, &r.RequestHash,
		&r.TxKey, &r.Action, &r.Status, &r.Rule, &r.Reason, &r.Shadow, &r.PolicyVersion, &r.LatencyMicros,
		&r.PrevHash, &r.Hash); err != nil {
		return nil, err
	}
	r.ReceivedAt = r.ReceivedAt.UTC()
	if len(r.Shadow) == 0 {
		r.Shadow = nil
	}
	return &r, nil
}

// budget is the time a write may take: from start, left until the
// caller's deadline.
type budget struct {
	start time.Time
	left  time.Duration
}

func newBudget(ctx context.Context) (budget, error) {
	b := budget{start: time.Now(), left: DefaultDeadline}
	if d, ok := ctx.Deadline(); ok {
		b.left = time.Until(d)
	}
	if err := ctx.Err(); err != nil {
		return b, err
	}
	if b.left <= 0 {
		return b, context.DeadlineExceeded
	}
	return b, nil
}

// at is the moment share of the budget has passed.
func (b budget) at(share float64) time.Time {
	return b.start.Add(time.Duration(float64(b.left) * share))
}

// of is share of the budget, at least a millisecond (0 would turn a
// PostgreSQL timeout off).
func (b budget) of(share float64) time.Duration {
	return max(time.Duration(float64(b.left)*share).Truncate(time.Millisecond), time.Millisecond)
}

// beginWrite starts a READ COMMITTED transaction whose lock and statement
// waits are bounded by b, in the BEGIN round trip.
func (s *Store) beginWrite(ctx context.Context, b budget) (pgx.Tx, error) {
	return s.beginBounded(ctx, b.of(lockShare), b.of(statementShare))
}

// The same round trip pins generic plans for the transaction: every
// statement of a write is an index lookup whose best plan does not depend
// on its arguments, and without this PostgreSQL re-plans the limit query on
// each call once the ledger is large, which doubles its cost.
func (s *Store) beginBounded(ctx context.Context, lock, statement time.Duration) (pgx.Tx, error) {
	// Integers are milliseconds for both settings; nothing here comes
	// from outside.
	return s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, BeginQuery: fmt.Sprintf(
		"BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = %d; SET LOCAL statement_timeout = %d; SET LOCAL plan_cache_mode = force_generic_plan",
		lock.Milliseconds(), statement.Milliseconds())})
}

// SQLSTATEs the bounded waits produce.
const (
	codeLockNotAvailable = "55P03" // lock_timeout
	codeQueryCanceled    = "57014" // statement_timeout (or a cancel request)
)

func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// explain names the cause of a failed step: which bounded wait ran out, or
// that PostgreSQL did not answer in time, so that the log line says what
// happened instead of "context deadline exceeded".
func explain(ctx context.Context, err error, step string, b budget) error {
	switch code := pgCode(err); {
	case step == stepLock && (code == codeLockNotAvailable || code == codeQueryCanceled):
		return fmt.Errorf("waiting for the commit lock timed out after %s: another session holds it (a stuck replica, a long transaction or a manual pg_advisory_lock; see pg_locks): %w",
			b.of(lockShare), err)
	case code == codeLockNotAvailable:
		return fmt.Errorf("%s: waiting for a lock timed out after %s: %w", step, b.of(lockShare), err)
	case code == codeQueryCanceled:
		return fmt.Errorf("%s: statement timed out after %s: %w", step, b.of(statementShare), err)
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || pgconn.Timeout(err):
		return fmt.Errorf("%s: no answer from PostgreSQL within %s: %w", step, time.Since(b.start).Round(time.Millisecond), err)
	}
	return fmt.Errorf("%s: %w", step, err)
}

const stepLock = "taking the commit lock"

// inDoubt reports whether a failed COMMIT may nevertheless have committed.
// Only PostgreSQL's own answer is definite: an error response (the
// transaction is rolled back) or a COMMIT turned into ROLLBACK. Anything
// else (a broken connection, a deadline) is in doubt. pgconn.SafeToRetry
// is no proof that COMMIT was not sent: when the connection breaks while
// the answer is read, pgx reports "conn closed", which it marks safe to
// retry. Resolving a commit that was not in doubt costs one read-back.
func inDoubt(err error) bool {
	var pgErr *pgconn.PgError
	return !errors.As(err, &pgErr) && !errors.Is(err, pgx.ErrTxCommitRollback)
}

// Commit implements store.Store.
func (s *Store) Commit(ctx context.Context, rec store.Record, uses []store.LimitUse) (_ *store.Record, _ bool, err error) {
	defer wrap(&err, "committing decision")
	rec, err = check.Prepare(rec, uses)
	if err != nil {
		return nil, false, err
	}
	b, err := newBudget(ctx)
	if err != nil {
		return nil, false, err
	}
	work, cancel := context.WithDeadline(ctx, b.at(workShare))
	defer cancel()
	stored, existed, commitErr, err := s.commit(work, b, &rec, uses)
	if err != nil {
		return nil, false, err
	}
	if commitErr == nil {
		return stored, existed, nil
	}
	if !inDoubt(commitErr) {
		return nil, false, explain(work, commitErr, "committing", b)
	}
	return s.resolve(ctx, b, &rec, commitErr)
}

// The first statements of a Commit's pipeline: the transaction and its
// bounded waits (set_config(…, true) is SET LOCAL; a parameter keeps the
// statement text, and so its cached preparation, the same for every
// budget), and generic plans, as beginBounded sets them.
const (
	beginQuery    = "BEGIN ISOLATION LEVEL READ COMMITTED"
	settingsQuery = "SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true), set_config('plan_cache_mode', 'force_generic_plan', true)"
	commitQuery   = "COMMIT"
)

// commit runs the Commit transaction on rec (setting its Seq, PrevHash and
// Hash) in two round trips on one connection of the pool. err is any
// failure known to have left nothing committed; commitErr is a failure
// after COMMIT was sent whose outcome the caller must resolve, or
// COMMIT's own refusal.
func (s *Store) commit(ctx context.Context, b budget, rec *store.Record, uses []store.LimitUse) (_ *store.Record, existed bool, commitErr, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, nil, explain(ctx, err, "beginning", b)
	}
	defer release(ctx, conn)
	// The first round trip begins the transaction, takes the commit lock
	// and, right behind it in the same pipeline, runs every read that
	// needs it: the request_id lookup, each limit's query (limitQuery) and
	// the chain head. PostgreSQL runs a pipeline's statements in order,
	// each with a snapshot taken when it starts, so every read after the
	// lock sees what the previous holder committed. The second sends the
	// inserts and COMMIT together: the lock is held for two round trips,
	// whatever the number of limits.
	reads := &pgx.Batch{}
	reads.Queue(beginQuery)
	reads.Queue(settingsQuery, millis(b.of(lockShare)), millis(b.of(statementShare)))
	reads.Queue("SELECT pg_advisory_xact_lock($1)", s.commitLock)
	reads.Queue("SELECT "+recordColumns+" FROM decisions WHERE request_id = $1", rec.RequestID)
	// The freeze check rides in the same round trip, under the lock, so
	// a freeze committed by any replica before this lock was granted is
	// seen; only an approval that a freeze could turn asks.
	freezable := check.Frozen(rec)
	if freezable {
		reads.Queue(frozenQuery)
	}
	var checked []store.LimitUse
	if rec.Action == store.ActionApprove {
		checked = uses
	}
	for _, u := range checked {
		reads.Queue(limitQuery, limitArgs(rec, u)...)
	}
	reads.Queue("SELECT seq, hash FROM decisions ORDER BY seq DESC LIMIT 1")
	consume, existing, lastSeq, lastHash, err := s.readLocked(ctx, b, conn, reads, rec, freezable, checked)
	if err != nil {
		return nil, false, nil, err
	}
	if existing != nil {
		if existing.RequestHash != rec.RequestHash {
			return nil, false, nil, conflict(existing, rec)
		}
		return existing, true, nil, nil
	}
	rec.Seq, rec.PrevHash = lastSeq+1, lastHash
	rec.Hash = chain.Hash(rec)

	writes := &pgx.Batch{}
	writes.Queue("INSERT INTO decisions ("+recordColumns+`) VALUES
		($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		rec.Seq, rec.RequestID, rec.Version, rec.Type, rec.NodeKey, rec.ReceivedAt, rec.Request, rec.RequestHash,
		rec.TxKey, rec.Action, rec.Status, rec.Rule, rec.Reason, rec.Shadow, rec.PolicyVersion, rec.LatencyMicros,
		rec.PrevHash, rec.Hash)
	steps := []string{"inserting decision"}
	for _, e := range consume {
		cum, err := check.FormatTotal(e.Total.Amount)
		if err != nil {
			return nil, false, nil, fmt.Errorf("limit %q: %w", e.Use.Limit, err)
		}
		writes.Queue(`INSERT INTO limit_ledger (limit_name, key, tx_key, amount, at, seq, cum_amount, cum_count)
			VALUES ($1, $2, $3, CAST($4::text AS numeric), $5, $6, CAST($7::text AS numeric), $8)`,
			e.Use.Limit, e.Use.Key, rec.TxKey, e.Use.Amount.String(), e.At, rec.Seq, cum, e.Total.Count)
		steps = append(steps, fmt.Sprintf("inserting ledger entry for limit %q", e.Use.Limit))
	}
	writes.Queue(commitQuery)
	br := conn.SendBatch(ctx, writes)
	defer br.Close()
	for _, step := range steps {
		if _, err := br.Exec(); err != nil {
			if inDoubt(err) {
				// COMMIT went out in the same pipeline: it may have run.
				return nil, false, explain(ctx, err, step, b), nil
			}
			// PostgreSQL refused the statement and skips the rest of the
			// pipeline, COMMIT included.
			return nil, false, nil, explain(ctx, err, step, b)
		}
	}
	tag, err := br.Exec()
	if err != nil {
		return nil, false, err, nil
	}
	if tag.String() != "COMMIT" {
		// COMMIT of a failed transaction answers ROLLBACK, not an error.
		return nil, false, nil, fmt.Errorf("committing: PostgreSQL answered %q: the transaction was rolled back", tag.String())
	}
	// COMMIT answered: durable. A failure reading the pipeline's end only
	// costs the connection (release drops it).
	br.Close()
	stored := *rec
	return &stored, false, nil, nil
}

// millis is d in whole milliseconds, as the text the timeout settings take.
func millis(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// release returns conn to the pool after a Commit. A Commit that returned
// early (a retry found, a conflict, a refused statement) leaves its
// transaction open: it is rolled back here, bounded by ctx, and a
// connection that cannot be rolled back is dropped by the pool (which
// never reuses one still in a transaction).
func release(ctx context.Context, conn *pgxpool.Conn) {
	if st := conn.Conn().PgConn().TxStatus(); st == 'T' || st == 'E' {
		conn.Exec(ctx, "ROLLBACK")
	}
	conn.Release()
}

// readLocked reads the results of the pipeline commit queued: the
// transaction's start, the lock,
// the request_id lookup (existing, nil when absent), with freezable the
// freeze check (an active freeze turns rec into a REJECT, and the limit
// results are then read and ignored), one limitQuery per
// use in checked (the ledger entries to write, or none after turning rec
// into a REJECT) and the chain head.
func (s *Store) readLocked(ctx context.Context, b budget, conn *pgxpool.Conn, reads *pgx.Batch, rec *store.Record, freezable bool, checked []store.LimitUse) (
	consume []check.Entry, existing *store.Record, lastSeq int64, lastHash string, err error) {
	br := conn.SendBatch(ctx, reads)
	defer br.Close()
	for range 2 { // BEGIN, the settings
		if _, err := br.Exec(); err != nil {
			return nil, nil, 0, "", explain(ctx, err, "beginning", b)
		}
	}
	if _, err := br.Exec(); err != nil {
		return nil, nil, 0, "", explain(ctx, err, stepLock, b)
	}
	existing, err = scanRecord(br.QueryRow())
	switch {
	case err == nil:
		return nil, existing, 0, "", nil
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, nil, 0, "", explain(ctx, err, "looking up request_id", b)
	}
	rows := &pipelined{br: br}
	frozen := false
	if freezable {
		var oldest store.Freeze
		var active int
		err := br.QueryRow().Scan(&oldest.ID, &oldest.Reason, &oldest.By, &oldest.At, &active)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return nil, nil, 0, "", explain(ctx, err, "reading active freezes", b)
		default:
			frozen = true
			rec.Action, rec.Rule, rec.Reason = store.ActionReject, store.RuleFrozen, check.FrozenReason(oldest, active)
		}
	}
	if !frozen {
		consume, err = checkLimits(ctx, rows, rec, checked)
		if err != nil {
			return nil, nil, 0, "", explain(ctx, err, "checking limits", b)
		}
	}
	for ; rows.read < len(checked); rows.read++ { // the limits after a REJECT
		if _, err := br.Exec(); err != nil {
			return nil, nil, 0, "", explain(ctx, err, "checking limits", b)
		}
	}
	err = br.QueryRow().Scan(&lastSeq, &lastHash)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, 0, "", explain(ctx, err, "reading chain head", b)
	}
	if err := br.Close(); err != nil {
		return nil, nil, 0, "", explain(ctx, err, "reading chain head", b)
	}
	return consume, nil, lastSeq, lastHash, nil
}

// pipelined is a querier over results already queued in a pipeline: each
// QueryRow returns the next result, whatever its arguments (checkLimits
// asks in the order commit queued).
type pipelined struct {
	br   pgx.BatchResults
	read int
}

func (p *pipelined) QueryRow(context.Context, string, ...any) pgx.Row {
	p.read++
	return p.br.QueryRow()
}

func conflict(existing, rec *store.Record) error {
	return fmt.Errorf("%w: request_id %q is recorded at seq %d with request_hash %s, this request has %s",
		store.ErrConflict, rec.RequestID, existing.Seq, existing.RequestHash, rec.RequestHash)
}

// resolveRetry is the pause between two read-back attempts.
const resolveRetry = 50 * time.Millisecond

// resolve settles a COMMIT whose outcome is unknown, by the time
// resolveShare of the budget has passed, even if ctx is done (the answer
// still decides what the log says). It gives the answer Commit would give
// if it ran now: rec itself (committed), another record of the same
// request (existed), ErrConflict, or not recorded; and ErrOutcomeUnknown
// when it cannot tell.
func (s *Store) resolve(ctx context.Context, b budget, rec *store.Record, commitErr error) (*store.Record, bool, error) {
	deadline := b.at(resolveShare)
	rctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	for {
		got, err := s.readBack(rctx, deadline, rec.RequestID)
		switch {
		case err == nil && got.Hash == rec.Hash:
			return got, false, nil
		case err == nil && got.RequestHash == rec.RequestHash:
			return got, true, nil
		case err == nil:
			return nil, false, conflict(got, rec)
		case errors.Is(err, pgx.ErrNoRows):
			return nil, false, fmt.Errorf("the connection failed during COMMIT and the read-back shows the decision is not recorded: %w", commitErr)
		}
		select {
		case <-time.After(resolveRetry):
		case <-rctx.Done():
			return nil, false, fmt.Errorf("%w: the connection failed during COMMIT (%w) and reading the row back failed until %s after the commit started (%w): the decision may be recorded, with its limit usage; tssgate audit show %s tells",
				store.ErrOutcomeUnknown, commitErr, time.Since(b.start).Round(time.Millisecond), err, rec.RequestID)
		}
	}
}

// readBack reads request_id's row on a connection of the pool (the failed
// one is closed), after taking the commit lock in shared mode: whoever held
// it, the in-doubt transaction included, has then committed or rolled
// back, so an absent row is proof, not a race.
func (s *Store) readBack(ctx context.Context, deadline time.Time, requestID string) (*store.Record, error) {
	wait := max(time.Until(deadline)*9/10, time.Millisecond)
	tx, err := s.beginBounded(ctx, wait, wait)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock_shared($1)", s.commitLock); err != nil {
		return nil, err
	}
	return scanRecord(tx.QueryRow(ctx, "SELECT "+recordColumns+" FROM decisions WHERE request_id = $1", requestID))
}

// Probe implements store.Store: under the commit lock, as a Commit, it
// rewrites the single write_probe row and commits.
func (s *Store) Probe(ctx context.Context) (err error) {
	defer wrap(&err, "write probe")
	b, err := newBudget(ctx)
	if err != nil {
		return err
	}
	work, cancel := context.WithDeadline(ctx, b.at(workShare))
	defer cancel()
	tx, err := s.beginWrite(work, b)
	if err != nil {
		return explain(work, err, "beginning", b)
	}
	defer tx.Rollback(work)
	if _, err := tx.Exec(work, "SELECT pg_advisory_xact_lock($1)", s.commitLock); err != nil {
		return explain(work, err, stepLock, b)
	}
	if _, err := tx.Exec(work, "INSERT INTO write_probe (id, at) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET at = excluded.at"); err != nil {
		return explain(work, err, "writing", b)
	}
	if err := tx.Commit(work); err != nil {
		return explain(work, err, "committing", b)
	}
	return nil
}

// limitQuery answers, for one limit, "is this transaction already
// counted?" (never for an empty tx_key, as the partial index agrees), the
// time and running total of the key's newest ledger row, and the running
// total at its last row at or before the window's start ($4), in one round
// trip. Each part reads at most one index entry (index-only scans, which
// TestLimitQueryUsesIndexes asserts), so a check costs the same whether
// the key's window holds ten entries or a million. The totals come back as
// NUMERIC text and are read with check.ParseTotal, which, unlike
// decimal.Parse, has no 100-digit bound.
const limitQuery = `SELECT
		EXISTS (SELECT 1 FROM limit_ledger WHERE limit_name = $1 AND key = $2 AND tx_key = $3 AND tx_key <> ''),
		n.at, COALESCE(n.cum_amount, 0)::text, COALESCE(n.cum_count, 0),
		COALESCE(b.cum_amount, 0)::text, COALESCE(b.cum_count, 0)
	FROM (SELECT 1) AS one
	LEFT JOIN LATERAL (SELECT at, cum_amount, cum_count FROM limit_ledger
		WHERE limit_name = $1 AND key = $2 ORDER BY at DESC, seq DESC LIMIT 1) AS n ON true
	LEFT JOIN LATERAL (SELECT cum_amount, cum_count FROM limit_ledger
		WHERE limit_name = $1 AND key = $2 AND at <= $4 ORDER BY at DESC, seq DESC LIMIT 1) AS b ON true`

// limitArgs are limitQuery's arguments for u.
func limitArgs(rec *store.Record, u store.LimitUse) []any {
	return []any{u.Limit, u.Key, rec.TxKey, chain.NormalizeTime(rec.ReceivedAt.Add(-u.Window))}
}

// querier is what the limit check needs: the pipelined results in Commit,
// a connection in benchmarks.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// checkLimits applies check.Limit to each use. It returns the ledger
// entries to write, or none after turning rec into a REJECT.
func checkLimits(ctx context.Context, q querier, rec *store.Record, uses []store.LimitUse) ([]check.Entry, error) {
	var consume []check.Entry
	for _, u := range uses {
		var counted bool
		var newestAt *time.Time
		var newestText, beforeText string
		var newest, before check.Total
		if err := q.QueryRow(ctx, limitQuery, limitArgs(rec, u)...).Scan(
			&counted, &newestAt, &newestText, &newest.Count, &beforeText, &before.Count); err != nil {
			return nil, fmt.Errorf("checking limit %q: %w", u.Limit, err)
		}
		if counted {
			continue
		}
		var err error
		if newest.Amount, err = check.ParseTotal(newestText); err != nil {
			return nil, fmt.Errorf("checking limit %q: corrupt ledger: %w", u.Limit, err)
		}
		if before.Amount, err = check.ParseTotal(beforeText); err != nil {
			return nil, fmt.Errorf("checking limit %q: corrupt ledger: %w", u.Limit, err)
		}
		used, count, err := check.Window(newest, before)
		if err != nil {
			return nil, fmt.Errorf("checking limit %q: %w", u.Limit, err)
		}
		if reason := check.Limit(u, used, count); reason != "" {
			rec.Action, rec.Rule, rec.Reason = store.ActionReject, u.Limit, reason
			return nil, nil
		}
		at := rec.ReceivedAt
		if newestAt != nil {
			at = check.LedgerTime(rec.ReceivedAt, newestAt.UTC())
		}
		consume = append(consume, check.Entry{Use: u, At: at, Total: check.Next(newest, u)})
	}
	return consume, nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, requestID string) (*store.Record, error) {
	r, err := scanRecord(s.pool.QueryRow(ctx, "SELECT "+recordColumns+" FROM decisions WHERE request_id = $1", requestID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: request_id %q", store.ErrNotFound, requestID)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: getting request_id %q: %w", requestID, err)
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
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if !f.Since.IsZero() {
		add("received_at >= $%d", chain.CeilTime(f.Since))
	}
	if !f.Until.IsZero() {
		add("received_at < $%d", chain.CeilTime(f.Until))
	}
	if f.Type != "" {
		add("type = $%d", f.Type)
	}
	if f.Action != "" {
		add("action = $%d", f.Action)
	}
	if f.Rule != "" {
		add("rule = $%d", f.Rule)
	}
	if f.AfterSeq > 0 {
		add("seq > $%d", f.AfterSeq)
	}
	if f.Seq > 0 {
		add("seq = $%d", f.Seq)
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
		args = append(args, f.Limit)
		q += fmt.Sprintf(" LIMIT $%d", len(args))
	}
	return s.each(ctx, q, args, fn)
}

// each streams the records q selects into fn (pgx reads rows from the
// socket as they are consumed). Errors from fn come back unwrapped.
func (s *Store) each(ctx context.Context, q string, args []any, fn func(*store.Record) error) error {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("postgres: listing decisions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return fmt.Errorf("postgres: reading decision: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: listing decisions: %w", err)
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
		if err := s.limitUsage(ctx, name, chain.NormalizeTime(now.Add(-windows[name])), &out); err != nil {
			return nil, fmt.Errorf("postgres: reading usage of limit %q: %w", name, err)
		}
	}
	return out, nil
}

func (s *Store) limitUsage(ctx context.Context, limit string, cutoff time.Time, out *[]store.Usage) error {
	// ORDER BY key COLLATE "C": byte order, as Go sorts, whatever the
	// database's collation.
	rows, err := s.pool.Query(ctx, `SELECT key, SUM(amount)::text, COUNT(*), MIN(at) FROM limit_ledger
		WHERE limit_name = $1 AND at > $2 GROUP BY key ORDER BY key COLLATE "C"`, limit, cutoff)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		u := store.Usage{Limit: limit}
		var text string
		if err := rows.Scan(&u.Key, &text, &u.Count, &u.Oldest); err != nil {
			return err
		}
		if u.Amount, err = check.ParseTotal(text); err != nil {
			return fmt.Errorf("reading the sum: %w", err)
		}
		u.Oldest = u.Oldest.UTC()
		*out = append(*out, u)
	}
	return rows.Err()
}

// wrap prefixes a non-nil error with the operation, keeping it matchable
// with errors.Is.
func wrap(err *error, op string) {
	if *err != nil {
		*err = fmt.Errorf("postgres: %s: %w", op, *err)
	}
}

// ClaimOutpoints implements store.Store. Each claim is an INSERT ... ON
// CONFLICT DO NOTHING, which waits for a concurrent transaction inserting
// the same outpoint (on any replica) to finish, and then a read of the row
// that stands; the primary key, not a lock, serializes claims. Any
// conflict rolls every insert of the call back.
func (s *Store) ClaimOutpoints(ctx context.Context, claims []store.OutpointClaim) (_ []store.OutpointConflict, err error) {
	defer wrap(&err, "claiming outpoints")
	claims, err = check.Claims(claims)
	if err != nil || len(claims) == 0 {
		return nil, err
	}
	b, err := newBudget(ctx)
	if err != nil {
		return nil, err
	}
	work, cancel := context.WithDeadline(ctx, b.at(workShare))
	defer cancel()
	tx, err := s.beginWrite(work, b)
	if err != nil {
		return nil, explain(work, err, "beginning", b)
	}
	defer tx.Rollback(work)
	var conflicts []store.OutpointConflict
	for _, c := range claims {
		if _, err := tx.Exec(work, "INSERT INTO outpoint_claims (outpoint, amount, request_id, at) VALUES ($1, $2::numeric, $3, $4) ON CONFLICT (outpoint) DO NOTHING",
			c.Outpoint, c.Amount.String(), c.RequestID, c.At); err != nil {
			return nil, explain(work, err, "recording "+c.Outpoint, b)
		}
		first, err := scanPGClaim(tx.QueryRow(work, "SELECT outpoint, amount::text, request_id, at FROM outpoint_claims WHERE outpoint = $1", c.Outpoint))
		if err != nil {
			return nil, explain(work, err, "reading "+c.Outpoint, b)
		}
		if first.Amount.Cmp(c.Amount) != 0 {
			conflicts = append(conflicts, store.OutpointConflict{Claim: c, First: *first})
		}
	}
	if len(conflicts) > 0 {
		return conflicts, nil
	}
	if err := tx.Commit(work); err != nil {
		return nil, explain(work, err, "committing", b)
	}
	return nil, nil
}

// ClearOutpoint implements store.Store.
func (s *Store) ClearOutpoint(ctx context.Context, outpoint string) (_ *store.OutpointClaim, err error) {
	defer wrap(&err, "clearing outpoint")
	if err := check.Outpoint(outpoint); err != nil {
		return nil, err
	}
	c, err := scanPGClaim(s.pool.QueryRow(ctx, "DELETE FROM outpoint_claims WHERE outpoint = $1 RETURNING outpoint, amount::text, request_id, at", outpoint))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: no claim for outpoint %s", store.ErrNotFound, outpoint)
	}
	return c, err
}

func scanPGClaim(row pgx.Row) (*store.OutpointClaim, error) {
	var (
		c      store.OutpointClaim
		amount string
	)
	if err := row.Scan(&c.Outpoint, &amount, &c.RequestID, &c.At); err != nil {
		return nil, err
	}
	d, err := decimal.Parse(amount)
	if err != nil {
		return nil, fmt.Errorf("corrupt outpoint claim %s: amount %q: %w", c.Outpoint, amount, err)
	}
	c.Amount, c.At = d, c.At.UTC()
	return &c, nil
}

// Governance implements store.Store.
func (s *Store) Governance(ctx context.Context) (*store.GovernanceState, error) {
	var g store.GovernanceState
	err := s.pool.QueryRow(ctx, "SELECT sha256, content, adopted_at, seq FROM governance WHERE id = 1").Scan(&g.SHA256, &g.Content, &g.AdoptedAt, &g.Seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: no governance adopted", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: reading the governance in force: %w", err)
	}
	g.AdoptedAt = g.AdoptedAt.UTC()
	return &g, nil
}

// AdoptGovernance implements store.Store under the commit lock, as a
// Commit: the check of the governance in force, the chain row and the new
// governance are one transaction (operatorWrite, appendOperator, as
// Freeze and Unfreeze), serialized with every replica's commits. A COMMIT
// whose answer is lost is store.ErrOutcomeUnknown (the caller stops;
// Governance then tells whether it took effect).
func (s *Store) AdoptGovernance(ctx context.Context, prev string, g store.GovernanceState, rec store.Record) (_ *store.Record, err error) {
	defer wrap(&err, "adopting governance")
	if err := check.Governance(g); err != nil {
		return nil, err
	}
	var stored *store.Record
	err = s.operatorWrite(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var cur string
		switch err := tx.QueryRow(ctx, "SELECT sha256 FROM governance WHERE id = 1").Scan(&cur); {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return fmt.Errorf("reading the governance in force: %w", err)
		}
		if cur != prev {
			return fmt.Errorf("%w: in force %q, expected %q", store.ErrGovernanceChanged, cur, prev)
		}
		var err error
		if stored, err = appendOperator(ctx, tx, rec); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO governance (id, sha256, content, adopted_at, seq) VALUES (1, $1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET sha256 = excluded.sha256, content = excluded.content, adopted_at = excluded.adopted_at, seq = excluded.seq`,
			g.SHA256, g.Content, stored.ReceivedAt, stored.Seq); err != nil {
			return fmt.Errorf("writing the governance: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return stored, nil
}
