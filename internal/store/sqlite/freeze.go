package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"tssgate/internal/store"
	"tssgate/internal/store/internal/check"
)

// frozenQuery reads the oldest active freeze and the number of active
// freezes, in one statement of the partial index freezes_active: the one
// statement a group commit adds when any of its members approves.
const frozenQuery = `SELECT id, reason, frozen_by, frozen_at, (SELECT COUNT(*) FROM freezes WHERE lifted_at IS NULL)
	FROM freezes WHERE lifted_at IS NULL ORDER BY frozen_at, id LIMIT 1`

// freezeState is what a group commit knows of the freezes: read at most
// once per transaction.
type freezeState struct {
	known  bool
	active int
	oldest store.Freeze
}

func (fz *freezeState) read(q txQuerier, st *statements) error {
	if fz.known {
		return nil
	}
	var at int64
	err := q.row(st.frozen).Scan(&fz.oldest.ID, &fz.oldest.Reason, &fz.oldest.By, &at, &fz.active)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		fz.active = 0
	case err != nil:
		return fmt.Errorf("reading active freezes: %w", err)
	default:
		fz.oldest.At = time.UnixMicro(at).UTC()
	}
	fz.known = true
	return nil
}

const freezeColumns = "id, reason, frozen_by, frozen_at, seq, lifted_at, lifted_by, signers, lift_seq"

func scanFreeze(sc scanner) (*store.Freeze, error) {
	var f store.Freeze
	var at int64
	var liftedAt, liftSeq sql.NullInt64
	var liftedBy, signers sql.NullString
	if err := sc.Scan(&f.ID, &f.Reason, &f.By, &at, &f.Seq, &liftedAt, &liftedBy, &signers, &liftSeq); err != nil {
		return nil, err
	}
	f.At = time.UnixMicro(at).UTC()
	if liftedAt.Valid {
		f.LiftedAt = time.UnixMicro(liftedAt.Int64).UTC()
		f.LiftedBy, f.LiftSeq = liftedBy.String, liftSeq.Int64
		if signers.String != "" {
			if err := json.Unmarshal([]byte(signers.String), &f.Signers); err != nil {
				return nil, fmt.Errorf("corrupt signers of freeze %s: %w", f.ID, err)
			}
		}
	}
	return &f, nil
}

// appendOperator appends an operator row (rec, a REJECT) to the chain in
// tx, which holds the write lock.
func (s *Store) appendOperator(ctx context.Context, tx *sql.Tx, rec store.Record) (*store.Record, error) {
	if rec.Action != store.ActionReject {
		return nil, fmt.Errorf("%w: an operator row must be a REJECT", store.ErrInvalid)
	}
	rec, err := check.Prepare(rec, nil)
	if err != nil {
		return nil, err
	}
	var head chainHead
	var fz freezeState
	stored, existed, err := commitOne(txQuerier{ctx: ctx, tx: tx}, s.st, &head, &fz, rec, nil)
	if err != nil {
		return nil, err
	}
	if existed {
		return nil, fmt.Errorf("%w: request_id %q is already recorded", store.ErrConflict, rec.RequestID)
	}
	return stored, nil
}

// Freeze implements store.Store, through the same write path as Commit
// (the commit semaphore, BEGIN IMMEDIATE), so that a group commit either
// ran wholly before the freeze or sees it.
func (s *Store) Freeze(ctx context.Context, rec store.Record, f store.Freeze) (_ *store.Freeze, _ *store.Record, err error) {
	defer wrap(&err, "freezing")
	f.At = rec.ReceivedAt
	if err := check.Freeze(f); err != nil {
		return nil, nil, err
	}
	tx, done, err := s.beginWrite(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer done()
	var exists bool
	if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM freezes WHERE id = ?)", f.ID).Scan(&exists); err != nil {
		return nil, nil, err
	}
	if exists {
		return nil, nil, fmt.Errorf("%w: freeze id %s is already used", store.ErrConflict, f.ID)
	}
	stored, err := s.appendOperator(ctx, tx, rec)
	if err != nil {
		return nil, nil, err
	}
	f.At, f.Seq = stored.ReceivedAt, stored.Seq
	f.LiftedAt, f.LiftedBy, f.Signers, f.LiftSeq = time.Time{}, "", nil, 0
	if _, err := tx.ExecContext(ctx, "INSERT INTO freezes (id, reason, frozen_by, frozen_at, seq) VALUES (?, ?, ?, ?, ?)",
		f.ID, f.Reason, f.By, f.At.UnixMicro(), f.Seq); err != nil {
		return nil, nil, fmt.Errorf("recording freeze: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, fmt.Errorf("committing: %w", err)
	}
	return &f, stored, nil
}

// ActiveFreezes implements store.Store.
func (s *Store) ActiveFreezes(ctx context.Context) (_ []store.Freeze, err error) {
	defer wrap(&err, "reading active freezes")
	rows, err := s.db.QueryContext(ctx, "SELECT "+freezeColumns+" FROM freezes WHERE lifted_at IS NULL ORDER BY frozen_at, id")
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
	return getFreeze(s.db.QueryRowContext(ctx, "SELECT "+freezeColumns+" FROM freezes WHERE id = ?", id), id)
}

func getFreeze(row *sql.Row, id string) (*store.Freeze, error) {
	f, err := scanFreeze(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: no freeze %q", store.ErrNotFound, id)
	}
	return f, err
}

// AddLiftSignature implements store.Store.
func (s *Store) AddLiftSignature(ctx context.Context, id, approver, signature string) (err error) {
	defer wrap(&err, "adding a lift signature")
	if err := check.LiftSignature(approver, signature); err != nil {
		return err
	}
	tx, done, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer done()
	f, err := getFreeze(tx.QueryRowContext(ctx, "SELECT "+freezeColumns+" FROM freezes WHERE id = ?", id), id)
	if err != nil {
		return err
	}
	if !f.Active() {
		return fmt.Errorf("%w: freeze %s was lifted at %s", store.ErrLifted, id, f.LiftedAt.Format(time.RFC3339))
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO freeze_lift_signatures (freeze_id, approver, signature, at) VALUES (?, ?, ?, ?)
		ON CONFLICT (freeze_id, approver) DO UPDATE SET signature = excluded.signature, at = excluded.at`,
		id, approver, signature, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// LiftSignatures implements store.Store.
func (s *Store) LiftSignatures(ctx context.Context, id string) (_ []store.LiftSignature, err error) {
	defer wrap(&err, "reading lift signatures")
	rows, err := s.db.QueryContext(ctx, "SELECT freeze_id, approver, signature, at FROM freeze_lift_signatures WHERE freeze_id = ? ORDER BY approver", id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.LiftSignature
	for rows.Next() {
		var ls store.LiftSignature
		var at int64
		if err := rows.Scan(&ls.FreezeID, &ls.Approver, &ls.Signature, &at); err != nil {
			return nil, err
		}
		ls.At = time.UnixMicro(at).UTC()
		out = append(out, ls)
	}
	return out, rows.Err()
}

// Unfreeze implements store.Store, through the commit write path.
func (s *Store) Unfreeze(ctx context.Context, rec store.Record, id string, signers []string) (_ *store.Freeze, _ *store.Record, err error) {
	defer wrap(&err, "lifting freeze")
	signersJSON, err := check.Signers(signers)
	if err != nil {
		return nil, nil, err
	}
	tx, done, err := s.beginWrite(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer done()
	f, err := getFreeze(tx.QueryRowContext(ctx, "SELECT "+freezeColumns+" FROM freezes WHERE id = ?", id), id)
	if err != nil {
		return nil, nil, err
	}
	if !f.Active() {
		return nil, nil, fmt.Errorf("%w: freeze %s was lifted at %s by %s", store.ErrLifted, id, f.LiftedAt.Format(time.RFC3339), f.LiftedBy)
	}
	stored, err := s.appendOperator(ctx, tx, rec)
	if err != nil {
		return nil, nil, err
	}
	f.LiftedAt, f.LiftedBy, f.Signers, f.LiftSeq = stored.ReceivedAt, check.Operator(stored), signers, stored.Seq
	if _, err := tx.ExecContext(ctx, "UPDATE freezes SET lifted_at = ?, lifted_by = ?, signers = ?, lift_seq = ? WHERE id = ? AND lifted_at IS NULL",
		f.LiftedAt.UnixMicro(), f.LiftedBy, signersJSON, f.LiftSeq, id); err != nil {
		return nil, nil, fmt.Errorf("recording the lift: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, fmt.Errorf("committing: %w", err)
	}
	return f, stored, nil
}
