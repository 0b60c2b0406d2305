package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"tssgate/internal/store"
	"tssgate/internal/store/internal/chain"
	"tssgate/internal/store/internal/check"
)

// frozenQuery reads the oldest active freeze and the number of active
// freezes (one statement of the partial index freezes_active), queued in
// Commit's first round trip.
const frozenQuery = `SELECT id, reason, frozen_by, frozen_at, (SELECT COUNT(*) FROM freezes WHERE lifted_at IS NULL)::int
	FROM freezes WHERE lifted_at IS NULL ORDER BY frozen_at, id LIMIT 1`

const freezeColumns = "id, reason, frozen_by, frozen_at, seq, lifted_at, lifted_by, signers, lift_seq"

func scanFreeze(row pgx.Row) (*store.Freeze, error) {
	var f store.Freeze
	var liftedAt *time.Time
	var liftSeq *int64
	var liftedBy, signers *string
	if err := row.Scan(&f.ID, &f.Reason, &f.By, &f.At, &f.Seq, &liftedAt, &liftedBy, &signers, &liftSeq); err != nil {
		return nil, err
	}
	f.At = f.At.UTC()
	if liftedAt != nil {
		f.LiftedAt = liftedAt.UTC()
		if liftedBy != nil {
			f.LiftedBy = *liftedBy
		}
		if liftSeq != nil {
			f.LiftSeq = *liftSeq
		}
		if signers != nil && *signers != "" {
			if err := json.Unmarshal([]byte(*signers), &f.Signers); err != nil {
				return nil, fmt.Errorf("corrupt signers of freeze %s: %w", f.ID, err)
			}
		}
	}
	return &f, nil
}

func getFreeze(row pgx.Row, id string) (*store.Freeze, error) {
	f, err := scanFreeze(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: no freeze %q", store.ErrNotFound, id)
	}
	return f, err
}

// operatorWrite runs fn in a write transaction holding the commit lock, as
// a Commit does, and commits it. fn appends operator rows with
// appendOperator. A COMMIT whose outcome is unknown (the connection broke)
// is reported as store.ErrOutcomeUnknown: an operator re-runs the command
// after looking (tssgate freeze --list).
func (s *Store) operatorWrite(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
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
	if err := fn(work, tx); err != nil {
		return err
	}
	if err := tx.Commit(work); err != nil {
		if inDoubt(err) {
			return fmt.Errorf("%w: the connection failed during COMMIT: %w", store.ErrOutcomeUnknown, err)
		}
		return explain(work, err, "committing", b)
	}
	return nil
}

// appendOperator appends rec, a REJECT, to the chain in tx (which holds
// the commit lock) and returns it as stored.
func appendOperator(ctx context.Context, tx pgx.Tx, rec store.Record) (*store.Record, error) {
	if rec.Action != store.ActionReject {
		return nil, fmt.Errorf("%w: an operator row must be a REJECT", store.ErrInvalid)
	}
	rec, err := check.Prepare(rec, nil)
	if err != nil {
		return nil, err
	}
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM decisions WHERE request_id = $1)", rec.RequestID).Scan(&exists); err != nil {
		return nil, fmt.Errorf("looking up request_id: %w", err)
	}
	if exists {
		return nil, fmt.Errorf("%w: request_id %q is already recorded", store.ErrConflict, rec.RequestID)
	}
	var lastSeq int64
	var lastHash string
	err = tx.QueryRow(ctx, "SELECT seq, hash FROM decisions ORDER BY seq DESC LIMIT 1").Scan(&lastSeq, &lastHash)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("reading chain head: %w", err)
	}
	rec.Seq, rec.PrevHash = lastSeq+1, lastHash
	rec.Hash = chain.Hash(&rec)
	if _, err := tx.Exec(ctx, "INSERT INTO decisions ("+recordColumns+`) VALUES
		($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		rec.Seq, rec.RequestID, rec.Version, rec.Type, rec.NodeKey, rec.ReceivedAt, rec.Request, rec.RequestHash,
		rec.TxKey, rec.Action, rec.Status, rec.Rule, rec.Reason, rec.Shadow, rec.PolicyVersion, rec.LatencyMicros,
		rec.PrevHash, rec.Hash); err != nil {
		return nil, fmt.Errorf("inserting decision: %w", err)
	}
	return &rec, nil
}

// Freeze implements store.Store, under the commit lock: every Commit on
// any replica either ran wholly before it or sees the freeze.
func (s *Store) Freeze(ctx context.Context, rec store.Record, f store.Freeze) (_ *store.Freeze, _ *store.Record, err error) {
	defer wrap(&err, "freezing")
	f.At = rec.ReceivedAt
	if err := check.Freeze(f); err != nil {
		return nil, nil, err
	}
	var stored *store.Record
	err = s.operatorWrite(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM freezes WHERE id = $1)", f.ID).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return fmt.Errorf("%w: freeze id %s is already used", store.ErrConflict, f.ID)
		}
		var err error
		if stored, err = appendOperator(ctx, tx, rec); err != nil {
			return err
		}
		f.At, f.Seq = stored.ReceivedAt, stored.Seq
		f.LiftedAt, f.LiftedBy, f.Signers, f.LiftSeq = time.Time{}, "", nil, 0
		if _, err := tx.Exec(ctx, "INSERT INTO freezes (id, reason, frozen_by, frozen_at, seq) VALUES ($1, $2, $3, $4, $5)",
			f.ID, f.Reason, f.By, f.At, f.Seq); err != nil {
			return fmt.Errorf("recording freeze: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return &f, stored, nil
}

// ActiveFreezes implements store.Store.
func (s *Store) ActiveFreezes(ctx context.Context) (_ []store.Freeze, err error) {
	defer wrap(&err, "reading active freezes")
	rows, err := s.pool.Query(ctx, "SELECT "+freezeColumns+" FROM freezes WHERE lifted_at IS NULL ORDER BY frozen_at, id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Freeze
	for rows.Next() {
		f, err := scanFreeze(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *f)
	}
	return out, rows.Err()
}

// GetFreeze implements store.Store.
func (s *Store) GetFreeze(ctx context.Context, id string) (_ *store.Freeze, err error) {
	defer wrap(&err, "reading freeze")
	return getFreeze(s.pool.QueryRow(ctx, "SELECT "+freezeColumns+" FROM freezes WHERE id = $1", id), id)
}

// AddLiftSignature implements store.Store. The freeze row is locked (FOR
// UPDATE) so that a signature never lands on a freeze being lifted.
func (s *Store) AddLiftSignature(ctx context.Context, id, approver, signature string) (err error) {
	defer wrap(&err, "adding a lift signature")
	if err := check.LiftSignature(approver, signature); err != nil {
		return err
	}
	return s.operatorWrite(ctx, func(ctx context.Context, tx pgx.Tx) error {
		f, err := getFreeze(tx.QueryRow(ctx, "SELECT "+freezeColumns+" FROM freezes WHERE id = $1 FOR UPDATE", id), id)
		if err != nil {
			return err
		}
		if !f.Active() {
			return fmt.Errorf("%w: freeze %s was lifted at %s", store.ErrLifted, id, f.LiftedAt.Format(time.RFC3339))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO freeze_lift_signatures (freeze_id, approver, signature, at) VALUES ($1, $2, $3, now())
			ON CONFLICT (freeze_id, approver) DO UPDATE SET signature = excluded.signature, at = excluded.at`,
			id, approver, signature); err != nil {
			return fmt.Errorf("recording: %w", err)
		}
		return nil
	})
}

// LiftSignatures implements store.Store.
func (s *Store) LiftSignatures(ctx context.Context, id string) (_ []store.LiftSignature, err error) {
	defer wrap(&err, "reading lift signatures")
	rows, err := s.pool.Query(ctx, `SELECT freeze_id, approver, signature, at FROM freeze_lift_signatures
		WHERE freeze_id = $1 ORDER BY approver COLLATE "C"`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.LiftSignature
	for rows.Next() {
		var ls store.LiftSignature
		if err := rows.Scan(&ls.FreezeID, &ls.Approver, &ls.Signature, &ls.At); err != nil {
			return nil, err
		}
		ls.At = ls.At.UTC()
		out = append(out, ls)
	}
	return out, rows.Err()
}

// Unfreeze implements store.Store, under the commit lock.
func (s *Store) Unfreeze(ctx context.Context, rec store.Record, id string, signers []string) (_ *store.Freeze, _ *store.Record, err error) {
	defer wrap(&err, "lifting freeze")
	signersJSON, err := check.Signers(signers)
	if err != nil {
		return nil, nil, err
	}
	var f *store.Freeze
	var stored *store.Record
	err = s.operatorWrite(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		f, err = getFreeze(tx.QueryRow(ctx, "SELECT "+freezeColumns+" FROM freezes WHERE id = $1 FOR UPDATE", id), id)
		if err != nil {
			return err
		}
		if !f.Active() {
			return fmt.Errorf("%w: freeze %s was lifted at %s by %s", store.ErrLifted, id, f.LiftedAt.Format(time.RFC3339), f.LiftedBy)
		}
		if stored, err = appendOperator(ctx, tx, rec); err != nil {
			return err
		}
		f.LiftedAt, f.LiftedBy, f.Signers, f.LiftSeq = stored.ReceivedAt, check.Operator(stored), signers, stored.Seq
		if _, err := tx.Exec(ctx, "UPDATE freezes SET lifted_at = $1, lifted_by = $2, signers = $3, lift_seq = $4 WHERE id = $5 AND lifted_at IS NULL",
			f.LiftedAt, f.LiftedBy, signersJSON, f.LiftSeq, id); err != nil {
			return fmt.Errorf("recording the lift: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return f, stored, nil
}
